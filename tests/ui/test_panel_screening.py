""" "Screen whole panel" from the Panel view, against the embedded demo sandbox: the panel
package's real run, results in the real store, the view reloaded with them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.panel_screening import SCREEN_TEXT, PanelOutcome, outcome_of
from healthprep_desktop.ui.panel_view import PanelView
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.demo import DemoClinic
from tests.ui.conftest import DAY, run

PANEL = 24


@pytest.fixture
def demo_window(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> Iterator[MainWindow]:
    window = MainWindow(session, today=DAY.replace(day=DAY.day - 3), settings=window_settings)
    qtbot.addWidget(window)
    window.demo.clinic = DemoClinic(patients=PANEL, clinic_day=DAY, schedule_size=4)
    with qtbot.waitSignal(window.demo_ready, timeout=30_000) as ready:
        window.start_demo()
    assert isinstance(ready.args[0], int), ready.args[0]
    yield window
    window.close()
    run(qtbot, window.shutdown(), timeout=30_000)


@pytest.mark.slow
def test_screen_the_whole_panel_from_the_view(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    demo_window.main_actions.panel.trigger()
    view = next(c for c in demo_window.child_windows() if isinstance(c, PanelView))
    qtbot.waitUntil(lambda: view.overview is not None)
    assert view.overview is not None and view.overview.patients == 0
    with qtbot.waitSignal(view.screened, timeout=120_000) as done:
        qtbot.mouseClick(view.screen_button, Qt.MouseButton.LeftButton)
        assert view.screen_button.text() != SCREEN_TEXT  # it is now the stop button
    outcome = done.args[0]
    assert isinstance(outcome, PanelOutcome)
    assert outcome.state == "complete", outcome.sentence
    assert outcome.failed == 0 and outcome.screened == outcome.patients > 0
    assert view.statusBar().currentMessage() == outcome.sentence
    stored = session.scope.panel.count(view.overview.connection_id)
    assert stored == outcome.patients
    # The view reads the new results: every screened patient is counted.
    qtbot.waitUntil(lambda: view.overview is not None and view.overview.patients == stored)
    assert view.overview.status_counts and view.status_chart.bars() is not None
    assert view.screen_button.text() == SCREEN_TEXT and view.screen_button.isEnabled()
    actions = [e.action for e in session.scope.audit_entries()]
    assert AuditAction.SCREEN in actions or AuditAction.FETCH in actions


def test_run_sentences_name_counts_and_what_to_do() -> None:
    base = {"screened": 5, "unchanged": 2, "failed": 1, "patients": 8}
    done = outcome_of({**base, "state": "complete", "path": "bulk"})
    assert (
        done.sentence
        == "Panel screened (Bulk Data): 5 screened, 2 unchanged, 1 failed of 8 patients."
    )
    stopped = outcome_of({**base, "state": "stopped", "path": "per-patient"})
    assert stopped.state == "stopped" and "again to continue" in stopped.sentence
    failed = outcome_of({**base, "state": "failed"})
    assert failed.sentence.startswith("The panel run did not finish")
