"""Entry script of the frozen app (PyInstaller runs it after packaging/hooks/rthook_healthprep.py).

One script serves both Windows executables: ``healthprep-desktop-gui.exe`` (no console, the Start
Menu shortcut) opens the window; ``healthprep-desktop[.exe]`` is the full command line, which
also opens the window when given no subcommand.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def run() -> int:
    # A process-pool child of a frozen app is this same executable with multiprocessing's own
    # arguments; freeze_support() runs the child's work and exits before argparse sees them.
    multiprocessing.freeze_support()
    if sys.argv[1:2] == ["--bundle-check"]:
        # Hidden: proves the bundle's native pieces load (see packaging/bundle_check.py).
        import bundle_check

        return bundle_check.main(sys.argv[2:])
    from healthprep_desktop.cli import gui_main, main

    if Path(sys.executable).stem.lower().endswith("-gui"):
        return gui_main()
    return main()


if __name__ == "__main__":
    sys.exit(run())
