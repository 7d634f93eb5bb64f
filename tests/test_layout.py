"""The folder shows the process: the worker never loads the web layer, blueprints stand alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "bookapi"


def test_the_worker_process_never_loads_quart_or_the_http_layer() -> None:
    script = (
        "import json, sys, worker; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('quart', 'quart_schema', 'hypercorn', 'werkzeug') "
        "or m.startswith(('bookapi.api', 'bookapi.blueprints', 'bookapi.auth')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={"BOOKAPI_ENV": "testing", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


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


def test_no_blueprint_imports_another() -> None:
    blueprints = {p.stem for p in (PACKAGE / "blueprints").glob("*.py") if p.stem != "__init__"}
    for path in (PACKAGE / "blueprints").glob("*.py"):
        others = {f"bookapi.blueprints.{name}" for name in blueprints - {path.stem}}
        assert not imported_modules(path) & others, path.name


def test_the_package_stays_grouped() -> None:
    assert len(list(PACKAGE.glob("*.py"))) <= 12
    for init in PACKAGE.glob("*/__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and "\n" not in docstring, f"{init}: one line on what lives there"
