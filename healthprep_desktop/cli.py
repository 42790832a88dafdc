"""The ``healthprep-desktop`` command: the GUI by default, subcommands for headless work.

Each package that offers a subcommand has a ``cli`` module with ``register(subparsers)``; the
handler it sets as ``func`` returns the process exit code. Modules are imported lazily so that
``healthprep-desktop audit verify`` never pays for Qt, and the GUI never pays for the sandbox.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from healthprep_desktop import __version__

# Order is the order shown in --help.
SUBCOMMAND_MODULES = (
    "healthprep_desktop.workers.cli",  # batch
    "healthprep_desktop.workers.panel_cli",  # panel (whole-panel screening)
    "healthprep_desktop.sandbox.cli",  # sandbox
    "healthprep_desktop.store.cli",  # audit verify / audit export
    "healthprep_desktop.workers.entries_cli",  # entries list / add / remove
    "healthprep_desktop.workers.connection_cli",  # connection list / add / key / test
    "healthprep_desktop.workers.launch_cli",  # launch healthprep://launch?... (EHR launch)
    "healthprep_desktop.selftest",  # self-test
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthprep-desktop",
        description="Pre-visit preparation for clinics. With no subcommand, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop application (the default)")
    gui.add_argument("--launch-url", help=argparse.SUPPRESS)  # healthprep://launch?... (EHR)
    gui.set_defaults(func=_run_gui)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Tolerate only the module (or its package) being absent, e.g. a trimmed build;
            # never a missing third-party dependency inside it.
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(sub)
    return parser


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_gui(args: argparse.Namespace) -> int:
    if not has_display():
        print(
            "No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.\n"
            "Headless work is available: 'healthprep-desktop batch --demo --out DIR' prepares a "
            "demo clinic day; 'healthprep-desktop --help' lists every command.",
            file=sys.stderr,
        )
        return 2
    from healthprep_desktop.ui.app import run_app

    code: int = run_app(args)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from healthprep_desktop.workers.env_secrets import capture_secrets

    # Secrets given in the environment leave os.environ before any child process can start.
    capture_secrets()
    parser = build_parser()
    args = parser.parse_args(_route_launch_url(list(sys.argv[1:] if argv is None else argv)))
    func = getattr(args, "func", None)
    if func is None:
        return _run_gui(args)
    result: int = func(args)
    return result


def _route_launch_url(argv: list[str]) -> list[str]:
    """The OS starts us with a bare healthprep://launch?... address (an EHR launch): the window
    takes it, or the headless ``launch`` command where there is no display. The address holds
    a one-time launch handle, so it leaves sys.argv (child processes receive a copy of it)."""
    if len(argv) != 1 or not argv[0].lower().startswith("healthprep:"):
        return argv
    url = argv[0]
    from healthprep_desktop.workers.launch_cli import scrub_argv

    scrub_argv(url)
    return ["gui", "--launch-url", url] if has_display() else ["launch", url]


def gui_main() -> int:
    extra = sys.argv[1:]
    if len(extra) == 1 and extra[0].lower().startswith("healthprep:"):
        return main(extra)  # the OS opened a healthprep:// address (an EHR launch)
    return main(["gui"])
