"""`python -m bookapi.serve`: the production entry point refuses a bad configuration before
any server starts, and otherwise serves the app."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from bookapi.devstack import free_port
from settings import PROJECT_DIR, TestingConfig
from tests.helpers import wait_until, worker_environment


def test_a_bad_configuration_exits_non_zero_with_the_reason() -> None:
    env = {"PATH": "/usr/bin:/bin", "BOOKAPI_ENV": "production", "JWT_SECRET_KEY": "x" * 40}
    result = subprocess.run(
        [sys.executable, "-m", "bookapi.serve", "--port", str(free_port())],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert result.stderr.count("SECRET_KEY") == 1, "said once, not once per worker"


async def test_it_serves_the_app_until_sigterm(settings: TestingConfig, tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bookapi.serve", "--port", str(port), "--workers", "2"],
            cwd=PROJECT_DIR,
            env=worker_environment(settings),
            stdout=log,
            stderr=log,
        )
    try:

        async def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        await wait_until(ready, 60, "bookapi.serve to answer /readyz", every=0.2)
    finally:
        process.terminate()
        assert process.wait(30) == 0, (tmp_path / "serve.log").read_text()[-2000:]
