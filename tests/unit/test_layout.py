"""The folder shows the process: the worker never loads the web layer, the API process
never loads worker modules, shared code imports neither, and routes stand alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "bookapi"
SHARED = ("domain", "storage", "observability")
MAX_FUNCTION_LINES = 50


def modules_loaded_by(script: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules under `prefixes` that a fresh interpreter has loaded after `script`."""
    probe = (
        f"{script}; import json, sys; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_DIR,
        env={"BOOKAPI_ENV": "testing", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_the_worker_process_never_loads_quart_or_the_web_layer() -> None:
    web = ("quart", "quart_schema", "hypercorn", "werkzeug", "bookapi.web")
    assert modules_loaded_by("import worker", web) == []


def test_the_api_process_never_loads_worker_or_cli_modules() -> None:
    loaded = modules_loaded_by("import bookapi.asgi", ("bookapi.worker", "bookapi.cli", "devstack"))
    assert loaded == []


def imported_modules(path: Path) -> set[str]:
    """The modules `path` imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(PROJECT_DIR).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def package_modules(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (PACKAGE / folder).rglob("*.py")]


@pytest.mark.parametrize("folder", SHARED)
def test_shared_code_imports_neither_process(folder: str) -> None:
    for path in package_modules(folder):
        process_code = {
            name
            for name in imported_modules(path)
            if name.startswith(("bookapi.web", "bookapi.worker", "bookapi.cli", "quart"))
        }
        assert not process_code, f"{path.relative_to(PROJECT_DIR)} imports {process_code}"


def test_no_route_module_imports_another() -> None:
    routes = {p.stem for p in (PACKAGE / "web" / "routes").glob("*.py") if p.stem != "__init__"}
    for path in (PACKAGE / "web" / "routes").glob("*.py"):
        others = {f"bookapi.web.routes.{name}" for name in routes - {path.stem}}
        assert not imported_modules(path) & others, path.name


def test_the_package_stays_grouped_with_unique_module_names() -> None:
    assert {p.stem for p in PACKAGE.glob("*.py")} <= {"__init__", "asgi", "serve"}
    for init in PACKAGE.glob("*/**/__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and "\n" not in docstring, f"{init}: one line on what lives there"
    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__",))
    assert [name for name, count in names.items() if count > 1] == []


def test_no_function_in_the_package_is_over_fifty_lines() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PROJECT_DIR)}:{node.name} ({length})")
    assert long == []
