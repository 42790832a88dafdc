"""Fit: the main window fits 1366x768 and 2x scaling of 1920x1080 (960x540 logical), its main
actions never move into the toolbar's overflow, and saved geometry that does not fit is
ignored."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from healthprep_desktop.ui import window_fit
from healthprep_desktop.ui.main_actions import show_shortcuts
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import run

FRIDAY_BEFORE = date(2026, 11, 20)


@pytest.mark.parametrize("area", window_fit.SMALL_SCREENS, ids=["1366x768", "2x-1920x1080"])
def test_fits_and_keeps_main_actions_on_the_toolbar(
    qtbot: QtBot, session: AppSession, window_settings: QSettings, area: QRect
) -> None:
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)
    usable = area.size() - window_fit.FRAME_ALLOWANCE
    w.resize(usable)
    w.show()
    qtbot.waitExposed(w)
    assert window_fit.overflow(w, area) == []
    shortcuts = show_shortcuts(w)  # the window's own dialog (Help ▸ Keyboard shortcuts)
    assert window_fit.overflow(shortcuts, area) == []
    shortcuts.close()
    bar = w.findChild(QToolBar, "mainToolbar")
    assert bar is not None
    for action in (w.main_actions.prepare, w.main_actions.print_day, w.main_actions.reload):
        button = bar.widgetForAction(action)
        assert button is not None and button.isVisible(), action.text()
        # Inside the bar's own area: not hidden behind the extension (») button.
        assert bar.rect().contains(button.geometry()), action.text()
    w.close()
    run(qtbot, w.shutdown())


def test_saved_geometry_off_the_screen_is_ignored(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    first = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(first)
    first.setGeometry(4000, 3000, 2400, 1500)  # a big monitor the laptop no longer has
    first.close()
    run(qtbot, first.shutdown())
    second = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(second)
    area = window_fit.available_area(second)
    assert area.contains(QRect(second.pos(), second.size()))
    second.close()
    run(qtbot, second.shutdown())
