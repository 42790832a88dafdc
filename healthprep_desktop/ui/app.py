"""Application start-up: QApplication on a qasync loop, theme, logging, the store, the window.

``run_app(args)`` is what ``healthprep-desktop`` (no subcommand, or ``gui``) calls. A hidden
screenshot mode (``args.screenshot`` or ``HEALTHPREP_SCREENSHOT=PATH``) saves the main window
as a PNG once the day is shown and quits: it proves a real window renders (e.g. under Xvfb).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from healthprep_desktop import APP_AUTHOR, APP_NAME, __version__, paths
from healthprep_desktop.logging_setup import configure_logging, shutdown_logging
from healthprep_desktop.settings import LOG_LEVEL, Settings
from healthprep_desktop.ui import tasks, theme
from healthprep_desktop.ui.first_run import FirstRunDialog, NextStep
from healthprep_desktop.ui.gc_guard import MainThreadCollector
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.pin_dialog import ask_for_pin_if_missing, needs_pin
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.unlock import StoreOpenError, ask_with_dialog, open_store
from healthprep_desktop.workers.gc_tuning import tune_garbage_collector

log = logging.getLogger(__name__)

SCREENSHOT_ENV = "HEALTHPREP_SCREENSHOT"
SCREENSHOT_TIMEOUT_MS = 20_000


def create_application() -> QApplication:
    """The QApplication (created once), high-DPI aware and themed after the OS."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Fractional scale factors (125 %, 150 %) render crisply instead of rounding.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_AUTHOR)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("healthprep-desktop")
    # The loop ends when the main window closes (run_app), not when Qt sees no window: a modal
    # passphrase prompt before the window exists must not end the application.
    app.setQuitOnLastWindowClosed(False)
    icon = paths.resources_dir() / "icons" / "healthprep.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    theme.apply(app)
    return app


def run_app(args: argparse.Namespace) -> int:
    log_path = configure_logging()
    log.info("starting %s %s", APP_NAME, __version__)
    app = create_application()
    launch_url = getattr(args, "launch_url", None)
    if launch_url:
        from healthprep_desktop.ui.ehr_launch import forward_launch

        if forward_launch(launch_url):  # a copy is running: it takes the EHR launch
            log.info("EHR launch handed to the running copy")
            shutdown_logging()
            return 0
    # The batch layer's settings (rare full passes, start-up objects frozen), then collection
    # moved to this thread (ui.gc_guard) with those thresholds.
    tune_garbage_collector()
    collector = MainThreadCollector(app)
    loop = qasync.QEventLoop(app)
    tasks.configure_loop(loop)
    asyncio.set_event_loop(loop)
    try:
        return _run(app, loop, args, log_path)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
        collector.stop()
        shutdown_logging()


def _run(
    app: QApplication, loop: qasync.QEventLoop, args: argparse.Namespace, log_path: Path
) -> int:
    try:
        store = open_store(ask_with_dialog())
    except StoreOpenError as exc:
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1
    if store is None:
        return 1  # the user cancelled the passphrase prompt
    try:
        settings = Settings(store)
        logging.getLogger().setLevel(settings.get(LOG_LEVEL))
        session = AppSession(store, settings=settings)
        window = MainWindow(session)
        window.show()
        from healthprep_desktop.ui.ehr_launch import install as install_ehr_launch

        # healthprep://launch?... from argv, a second start or macOS's open-URL event.
        _ehr_launch = install_ehr_launch(session, window, getattr(args, "launch_url", None))
        screenshot = getattr(args, "screenshot", None) or os.environ.get(SCREENSHOT_ENV)
        if not session.tenants():
            QTimer.singleShot(0, lambda: first_run(window))
        elif needs_pin(store) and not screenshot:
            # A store from before unlock PINs: the idle lock needs one to ask for.
            QTimer.singleShot(0, lambda: ask_for_pin_if_missing(store, window))
        if screenshot:
            _schedule_screenshot(window, Path(screenshot))
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        with _quiet_loop_errors(loop):
            loop.run_until_complete(closed.wait())
            loop.run_until_complete(window.shutdown())
        log.info("closed; log file %s", log_path)
        return 0
    finally:
        store.close()


def first_run(window: MainWindow) -> None:
    dialog = FirstRunDialog(window.session, window)
    if dialog.exec() != FirstRunDialog.DialogCode.Accepted:
        return
    window.refresh_clinics()
    if dialog.choice is NextStep.DEMO:
        window.start_demo()
    else:
        window.refresh_connection_status()
        window.reload_day()
        if dialog.choice is NextStep.CONNECT:
            window.open_connections()


def _schedule_screenshot(window: MainWindow, path: Path) -> None:
    taken = False

    def grab() -> None:
        nonlocal taken
        if taken:
            return
        taken = True
        # The whole screen where a real window system draws it (dialogs included), else the
        # window's own rendering (offscreen).
        screen = window.screen()
        real = QGuiApplication.platformName() not in ("offscreen", "minimal")
        pixmap = screen.grabWindow(0) if screen is not None and real else window.grab()
        if pixmap.isNull():
            pixmap = window.grab()
        pixmap.save(str(path), "PNG")
        log.info("screenshot saved")
        window.close()

    window.day_loaded.connect(lambda: QTimer.singleShot(500, grab))
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, grab)


class _quiet_loop_errors:
    """Log (type only) exceptions no task handled, instead of printing them with their text."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __enter__(self) -> None:
        def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            exc = context.get("exception")
            log.error(
                "unhandled error in the event loop: %s",
                type(exc).__name__ if exc else context.get("message"),
            )

        self.loop.set_exception_handler(handler)

    def __exit__(self, *exc: object) -> None:
        self.loop.set_exception_handler(None)
