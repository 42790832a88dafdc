"""Keyboard: no ambiguous shortcut or mnemonic in any window under the default, GTK and macOS
key bindings; the Help shortcut list; Esc asks before cancelling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from healthprep_desktop.ui import shortcut_audit
from healthprep_desktop.ui.main_actions import show_shortcuts
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.shortcut_audit import ambiguities, keys_under, mnemonic
from tests.ui.conftest import run, save_sheet

FRIDAY_BEFORE = date(2026, 11, 20)


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    save_sheet(session.scope, "p1")
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)  # not shown: showing starts the CPU workers (seconds to stop again)
    qtbot.waitUntil(lambda: w.model.rowCount() == 1)
    yield w
    w.close()
    run(qtbot, w.shutdown())


def test_the_audit_sees_a_gtk_only_clash(qtbot: QtBot) -> None:
    """The check itself can fail: Refresh beside Ctrl+R clashes under GTK and macOS only."""
    host = QMainWindow()
    qtbot.addWidget(host)
    reload = QAction("Reload", host)
    reload.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Refresh))
    prepare = QAction("Prepare", host)
    prepare.setShortcut(QKeySequence("Ctrl+R"))
    host.addAction(reload)
    host.addAction(prepare)
    assert keys_under(reload, "gtk") == ["Ctrl+R", "F5"]
    themes = {c.theme for c in shortcut_audit.shortcut_clashes(host)}
    assert themes == {"gtk", "macos"}
    first, second = QPushButton("&Reconnect", host), QPushButton("&Resume", host)
    assert first and second and mnemonic("R&&D &x") == "x"
    assert any("Alt+R" in line for line in ambiguities(host))


def _dialogs(window: MainWindow, session: AppSession) -> dict[str, Callable[[], QWidget]]:
    """Every other window of the app, built the way the main window builds it."""
    from healthprep_desktop.ui.about import AboutDialog
    from healthprep_desktop.ui.audit_viewer import AuditViewer
    from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
    from healthprep_desktop.ui.first_run import FirstRunDialog
    from healthprep_desktop.ui.library_dialog import LibraryDialog
    from healthprep_desktop.ui.sheet_viewer import SheetViewer

    def viewer() -> QWidget:
        sheet = session.scope.sheets.latest("p1", window.clinic_day)
        assert sheet is not None
        return SheetViewer.for_sheet(session.store, session.scope, sheet, title="p1")

    return {
        "sheet viewer": viewer,
        "audit viewer": lambda: AuditViewer(session, window),
        "connections": lambda: ConnectionsDialog(session, window),
        "library": lambda: LibraryDialog(session, window),
        "about": lambda: AboutDialog(window),
        "first run": lambda: FirstRunDialog(session, window),
        "day print": lambda: _day_print(window, session),
        "shortcut list": lambda: show_shortcuts(window),
    }


def _day_print(window: MainWindow, session: AppSession) -> QWidget:
    from healthprep_desktop.ui.day_print import print_day

    sheet = session.scope.sheets.latest("p1", window.clinic_day)
    assert sheet is not None
    return print_day(window, session.scope, [sheet.info.id], window.clinic_day)


def test_no_ambiguous_shortcut_or_mnemonic_in_any_window(
    qtbot: QtBot, window: MainWindow, session: AppSession
) -> None:
    problems = ambiguities(window, "main window")
    for name, build in _dialogs(window, session).items():
        widget = build()
        qtbot.addWidget(widget)
        problems += ambiguities(widget, name)
        widget.close()
    assert problems == []


def test_every_main_action_under_each_theme_is_unique(window: MainWindow) -> None:
    # Belt and braces on the window that had the GTK clash: Reload is F5 alone everywhere.
    for theme in shortcut_audit.THEMES:
        assert keys_under(window.main_actions.reload, theme) == ["F5"]
        assert keys_under(window.main_actions.prepare, theme) == ["Ctrl+R"]
    assert "(Ctrl+R)" in window.main_actions.prepare.toolTip()


def test_help_lists_the_shortcuts(qtbot: QtBot, window: MainWindow) -> None:
    window.main_actions.shortcuts.trigger()
    dialog = next(d for d in window.findChildren(QDialog) if d.objectName() == "shortcutList")
    qtbot.waitUntil(dialog.isVisible)
    from PySide6.QtWidgets import QTableWidget

    table = dialog.findChild(QTableWidget, "shortcutTable")
    assert table is not None
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Prepare sheets"] == "Ctrl+R" and rows["Reload day"] == "F5"
    assert rows["Cancel preparing"] == "Esc"
    dialog.close()


def test_esc_cancel_needs_a_running_batch_and_asks(qtbot: QtBot, window: MainWindow) -> None:
    # No batch: Esc belongs to nothing in the main window.
    assert not window.main_actions.cancel_batch.isEnabled()
    window.confirm_cancel()
    assert QApplication.activeModalWidget() is None
