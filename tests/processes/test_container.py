"""The container files, checked without building anything (no container engine is needed):
the image's start command exits non-zero on a bad configuration, and the image, compose
file and .dockerignore agree with each other."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from devstack import free_port
from settings import PROJECT_DIR

DOCKERFILE = (PROJECT_DIR / "Dockerfile").read_text()


def image_command() -> list[str]:
    found = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert found, "the Dockerfile has a CMD in exec form"
    command: list[str] = json.loads(found.group(1))
    return command


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    return loaded


def test_the_start_command_exits_non_zero_on_a_bad_configuration(tmp_path: Path) -> None:
    # The image's environment (ENV lines) without JWT_SECRET_KEY; `python` is this interpreter.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(Path(sys.executable))
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "BOOKAPI_ENV": "production",
        "PORT": str(free_port()),
    }
    result = subprocess.run(
        image_command(), cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.count("SECRET_KEY is not set") == 1, result.stderr


def test_compose_services_restart_and_check_health_like_the_image() -> None:
    services = compose()["services"]
    assert all(service.get("restart") == "unless-stopped" for service in services.values())
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    image_check = DOCKERFILE.split("HEALTHCHECK", 1)[1].split("\nCMD [", 1)[0]
    for check in (api_check, image_check):
        assert "/healthz" in check and "PORT" in check, check
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "HOSTNAME" not in worker_check and "gethostname" in worker_check
    assert {"beat", "flower"} <= set(services)


def test_the_build_context_leaves_out_local_and_development_files() -> None:
    ignored = set((PROJECT_DIR / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "tests", "devstack"} <= ignored
    assert "FROM ${PYTHON_IMAGE}" in DOCKERFILE and "@sha256:" in DOCKERFILE


def test_the_ha_profile_adds_a_replica_and_three_sentinels_with_a_quorum_of_two() -> None:
    services = compose()["services"]
    ha = {name for name, service in services.items() if "ha" in service.get("profiles", [])}
    assert ha == {"redis-replica", "sentinel1", "sentinel2", "sentinel3"}
    assert services["redis-replica"]["command"][-3:] == ["--replicaof", "redis", "6379"]
    for name in ("sentinel1", "sentinel2", "sentinel3"):
        script = services[name]["command"][-1]
        assert "'sentinel monitor mymaster redis 6379 2'" in script
        assert script.index("resolve-hostnames") < script.index("sentinel monitor"), script
    environment = services["api"]["environment"]
    assert "REDIS_SENTINELS" in environment and "REDIS_SENTINEL_MASTER" in environment
