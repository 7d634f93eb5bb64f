"""Schemathesis against the live app: every phase (examples, coverage, fuzzing, stateful),
a fixed seed, the checks the OpenAPI contract promises, and zero failures allowed.

The app runs as in production (`python -m bookapi.serve`) with a real Celery worker, so
the stateful phase follows links from a created book to its reads and writes and from an
import or export to its job. The few rules no JSON Schema can state are taught in
tests/fuzz_hooks.py; the one exclusion is listed, with its reason, in
tests/schemathesis.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

from settings import PROJECT_DIR, TestingConfig
from tests.helpers import worker_environment
from tests.served import served_api, sign_up

SEED = "20261126"
FUZZER_PASSWORD = "the fuzzer's own password"
CONFIG = PROJECT_DIR / "tests" / "schemathesis.toml"  # the checks, and the one exclusion
# Keeps .ci/run within its time; raise both for a deeper run (BOOKAPI_FUZZ_SECONDS).
MAX_EXAMPLES = "25"
MAX_SECONDS = os.environ.get("BOOKAPI_FUZZ_SECONDS", "150")


async def test_schemathesis_finds_nothing(settings: TestingConfig, tmp_path: Path) -> None:
    # Fuzzing registers, fails logins and asks for resets by the thousand: no rate limit
    # gets in the way.
    env = worker_environment(
        settings,
        REGISTRATIONS_PER_HOUR="1000000",
        LOGIN_FAILURES_PER_MINUTE="1000000",
        RESET_REQUESTS_PER_EMAIL_PER_HOUR="1000000",
        RESET_REQUESTS_PER_ADDRESS_PER_HOUR="1000000",
    )
    async with served_api(env, tmp_path, "--workers", "2", worker="fuzz") as base:
        # Not the password of the documented examples: the example password change must be
        # refused (403), or it would end every token the hooks sign for this account.
        token = sign_up(base, "fuzzer@example.com", FUZZER_PASSWORD)["access_token"]
        user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                f"{base}/openapi.json",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--seed",
                SEED,
                "--max-examples",
                MAX_EXAMPLES,
                "--max-time",
                MAX_SECONDS,
                "--generation-database",
                "none",
                "--no-color",
            ],
            cwd=PROJECT_DIR,
            env={
                **env,
                "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
                "PYTHONPATH": str(PROJECT_DIR),
                "FUZZ_USER_ID": user_id,
                "FUZZ_JWT_SECRET_KEY": settings.JWT_SECRET_KEY,
            },
            capture_output=True,
            text=True,
            timeout=int(MAX_SECONDS) + 300,
        )
    report = result.stdout[-12000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert "Stateful" in result.stdout and "Fuzzing" in result.stdout, report
    api_log = (tmp_path / "api.log").read_text(errors="replace")
    assert "Traceback" not in api_log, api_log[-5000:]
