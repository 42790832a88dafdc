"""sources/ is core: it never imports Qt (tests/test_architecture.py covers the older packages)."""

from __future__ import annotations

import subprocess
import sys


def test_sources_package_loads_without_qt() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import healthprep_desktop.sources as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "import healthprep_desktop.sandbox.clinic.shared_patients\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'qasync', 'shiboken6'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
