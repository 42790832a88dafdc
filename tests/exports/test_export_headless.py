"""The export package is core code: it runs headless (the CLI, the Panel view's worker thread)
and must never pull in Qt, directly or through what it imports."""

from __future__ import annotations

import subprocess
import sys


def test_exports_import_no_qt() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import healthprep_desktop.exports as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "import healthprep_desktop.workers.export_cli\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'qasync', 'shiboken6'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
