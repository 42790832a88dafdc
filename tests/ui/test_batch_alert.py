"""Issue 15 item 2: the taskbar flashes (QApplication.alert on the main window) when a batch
needs the user: paused for sign-in, paused because the EHR cannot be reached, or ended.

The runner's signals are the real ones the batch emits (tests/ui/test_batch_outage.py drives
them from a real outage against the sandbox); QApplication.alert is recorded because the
offscreen platform has no taskbar to look at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.events import JobPhase, JobProgress
from tests.ui.conftest import run


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[QWidget]:
    seen: list[QWidget] = []
    monkeypatch.setattr(QApplication, "alert", staticmethod(lambda w, _ms=0: seen.append(w)))
    return seen


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    w = MainWindow(session, settings=window_settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    run(qtbot, w.shutdown())


def test_paused_for_sign_in_flashes_the_taskbar(window: MainWindow, alerts: list[QWidget]) -> None:
    window.runner.reconnect_needed.emit()
    assert alerts == [window]


def test_paused_for_the_network_flashes_once_and_not_on_resume(
    window: MainWindow, alerts: list[QWidget]
) -> None:
    window.runner.outage_changed.emit("network error talking to the EHR (refused)")
    assert alerts == [window]
    assert "cannot be reached" in window.batch_panel.label.text()
    window.runner.outage_changed.emit(None)  # back: resumes by itself, nothing to ask
    assert alerts == [window]


def test_nothing_flashes_while_a_batch_just_runs(window: MainWindow, alerts: list[QWidget]) -> None:
    progress = JobProgress("1", JobPhase.PATIENTS, 3, 1, 0, 0, 2, 30.0, 4.0)
    window.runner.progress.emit(progress)
    assert alerts == []
    assert window.batch_panel.last == progress  # a new phase is shown at once
