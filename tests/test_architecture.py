"""The core never imports Qt: store, fhir, screening, sources and sandbox must run headless."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "healthprep_desktop"
CORE = ("store", "fhir", "screening", "sources", "sandbox", "panel", "exports")
QT_ROOTS = {"PySide6", "qasync", "shiboken6"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", CORE)
def test_core_package_has_no_qt_import(package: str) -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / package).rglob("*.py"))
        if _imported_roots(path) & QT_ROOTS
    ]
    assert offenders == [], f"{package}/ imports Qt: {offenders}"


def test_core_import_does_not_load_qt() -> None:
    # Catches indirect imports (core -> ui -> PySide6) that the static scan cannot see.
    code = (
        "import importlib, pkgutil, sys\n"
        "import healthprep_desktop\n"
        f"for pkg in {CORE!r}:\n"
        "    mod = importlib.import_module('healthprep_desktop.' + pkg)\n"
        "    for info in pkgutil.walk_packages(mod.__path__, mod.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "qt = {'PySide6', 'qasync', 'shiboken6'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in qt)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
