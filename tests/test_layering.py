"""The house rule: app/ runs headless, so it never imports Qt, qasync, pyqtgraph or ui/.

Two checks: a static one over the source of every module under app/ (catches imports in
functions and branches that never run in a test), and a dynamic one that imports every module
under app/ in a fresh interpreter and looks at sys.modules (catches Qt pulled in through a
third-party dependency).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

# Top-level names that must never be imported from app/.
FORBIDDEN = frozenset({"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2", "qasync", "pyqtgraph", "ui"})

# The one sanctioned seam: the `chargebench` entry point starts the window by loading ui.main by
# name, inside the `gui` command only. Importing app.cli still loads no Qt, which
# test_importing_all_of_app_loads_no_gui_packages checks.
ALLOWED = frozenset({("app/cli.py", "ui.main")})

_DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def forbidden_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """(line, imported name) for every import of a FORBIDDEN package in `source`.

    Covers `import x`, `from x import y`, and `importlib.import_module("x")` /
    `__import__("x")` with a literal name. Relative imports stay inside app/ and are fine.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _top(a.name) in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _top(node.module) in FORBIDDEN:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if (
                name in _DYNAMIC_IMPORTERS
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and _top(arg.value) in FORBIDDEN
            ):
                found.append((node.lineno, arg.value))
    return found


def app_sources() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if ".venv" not in p.parts)


def test_app_sources_import_no_gui_packages() -> None:
    sources = app_sources()
    assert sources, f"no Python files under {APP}"
    violations = [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for path in sources
        for line, name in forbidden_imports(path.read_text(encoding="utf-8"), str(path))
        if (path.relative_to(ROOT).as_posix(), name) not in ALLOWED
    ]
    assert not violations, "app/ must run headless:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    "source",
    [
        "import PySide6",
        "import PySide6.QtCore as QtCore",
        "from PySide6.QtWidgets import QApplication",
        "import os, qasync",
        "from pyqtgraph import PlotWidget",
        "import ui.bridge",
        "from ui import bridge",
        "from shiboken6 import isValid",
        "def f():\n    if True:\n        import pyqtgraph",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from PySide6.QtCore import QObject",
        "import importlib\nimportlib.import_module('PySide6.QtGui')",
        "__import__('qasync')",
    ],
)
def test_checker_flags_gui_imports(source: str) -> None:
    assert forbidden_imports(source), f"not flagged:\n{source}"


@pytest.mark.parametrize(
    "source",
    [
        "import os\nimport asyncio",
        "from . import ui",
        "from .ui import thing",
        "from app import ui_model",
        "import uix",
        "import uuid",
        "from app.protocol import frames",
        "x = 'import PySide6'",
        "importlib.import_module(name)",
    ],
)
def test_checker_passes_headless_imports(source: str) -> None:
    assert forbidden_imports(source) == []


def test_checker_reports_line_and_name() -> None:
    source = textwrap.dedent(
        """\
        import json

        from PySide6.QtCore import QObject
        """
    )
    assert forbidden_imports(source) == [(3, "PySide6.QtCore")]


_IMPORT_ALL = textwrap.dedent(
    """\
    import importlib, json, pkgutil, sys, traceback

    package = importlib.import_module(sys.argv[1])
    forbidden = set(sys.argv[2].split(","))
    errors = []
    names = [package.__name__]

    def onerror(name):
        errors.append(f"{name}: {traceback.format_exc(limit=3)}")

    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=onerror):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            errors.append(f"{name}: {traceback.format_exc(limit=3)}")
    loaded = sorted(m for m in sys.modules if m.split(".", 1)[0] in forbidden)
    print(json.dumps({"modules": names, "errors": errors, "forbidden": loaded}))
    """
)


def import_all(package: str, path: Path) -> dict[str, list[str]]:
    """Import `package` and all its submodules in a fresh interpreter with `path` first on
    sys.path; return the module names, import errors and forbidden modules left in sys.modules."""
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, package, ",".join(sorted(FORBIDDEN))],
        cwd=path,
        env={**_clean_env(), "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"importing {package} crashed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_importing_all_of_app_loads_no_gui_packages() -> None:
    result = import_all("app", ROOT)
    assert not result["errors"], "modules under app/ failed to import:\n" + "\n".join(result["errors"])
    assert len(result["modules"]) > 1, result
    assert result["forbidden"] == [], f"importing app/ loaded {result['forbidden']}"


def test_import_check_catches_gui_import(tmp_path: Path) -> None:
    pkg = tmp_path / "fakeapp"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    # Hidden one level down, the way a real slip would be.
    (pkg / "sub" / "view.py").write_text("import PySide6.QtCore\n")
    result = import_all("fakeapp", tmp_path)
    assert "fakeapp.sub.view" in result["modules"]
    assert "PySide6.QtCore" in result["forbidden"]
