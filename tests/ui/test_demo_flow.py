"""The real windows against the embedded sandbox: demo clinic, sign-in, a whole day prepared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, AuditFilter
from healthprep_desktop.ui.day_rows import READY
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.schedule_model import PATIENT
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.events import JobPhase
from tests.ui.conftest import DAY, run

pytestmark = pytest.mark.slow
DAY_SIZE = 50  # the acceptance's 50-patient day


@pytest.fixture
def patients() -> int:
    return 120


@pytest.fixture
def demo_window(
    qtbot: QtBot, session: AppSession, window_settings: QSettings, patients: int
) -> Iterator[MainWindow]:
    window = MainWindow(session, today=DAY.replace(day=DAY.day - 3), settings=window_settings)
    qtbot.addWidget(window)
    window.demo.clinic = DemoClinic(patients=patients, clinic_day=DAY, schedule_size=DAY_SIZE)
    window.show()
    with qtbot.waitSignal(window.demo_ready, timeout=30_000) as ready:
        window.start_demo()
    assert isinstance(ready.args[0], int), ready.args[0]
    yield window
    window.close()
    run(qtbot, window.shutdown(), timeout=30_000)


def test_demo_clinic_signs_in_and_prepares_the_day(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    window = demo_window
    assert window.clinic_day == DAY
    assert window.connection_label.text().startswith("Demo clinic (sandbox): Connected until")
    qtbot.waitUntil(lambda: window.model.rowCount() == DAY_SIZE, timeout=20_000)
    scheduled = window.model.rowCount()
    assert all(r.patient and r.time_text for r in window.model.rows())  # names from the schedule
    assert AuditAction.CONNECT in [e.action for e in session.scope.audit_entries(AuditFilter())]

    with qtbot.waitSignal(window.batch_finished, timeout=110_000) as finished:
        qtbot.keyClick(window.table, "r", qtbot_modifier())
        qtbot.waitUntil(lambda: window.batch_panel.isVisible(), timeout=5000)
        assert not window.prepare_action.isEnabled()
    summary = finished.args[0]
    assert not isinstance(summary, BaseException), summary
    assert summary.phase is JobPhase.FINISHED and summary.total == scheduled
    assert summary.done + summary.skipped + summary.failed == scheduled
    last = window.batch_panel.last
    assert last is not None and last.finished == scheduled
    assert window.batch_panel.bar.value() == scheduled
    assert "Finished" in window.batch_panel.label.text()
    qtbot.waitUntil(
        lambda: sum(r.sheet == READY for r in window.model.rows()) == summary.done, timeout=10_000
    )
    assert len(session.scope.sheets.all(clinic_day=DAY)) == summary.done
    assert all(r.due is not None for r in window.model.rows() if r.sheet == READY)
    assert window.prepare_action.isEnabled()

    # Open one of the sheets just prepared.
    window.table.setCurrentIndex(window.proxy.index(0, PATIENT))
    window.open_selected()
    qtbot.waitUntil(lambda: any(isinstance(c, SheetViewer) for c in window.child_windows()))
    viewer = next(c for c in window.child_windows() if isinstance(c, SheetViewer))
    qtbot.waitUntil(lambda: not viewer.image.pixmap().isNull())
    assert viewer.details.tree.topLevelItemCount() > 5


def qtbot_modifier() -> Qt.KeyboardModifier:
    return Qt.KeyboardModifier.ControlModifier


def _start_and_wait_for_one(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.model.rowCount() > 10, timeout=20_000)
    window.prepare_action.trigger()
    qtbot.waitUntil(
        lambda: window.batch_panel.last is not None and window.batch_panel.last.finished >= 1,
        timeout=30_000,
    )


@pytest.mark.parametrize("patients", [60])
def test_pause_then_reconnect_after_the_sign_in_is_revoked(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    window = demo_window
    _start_and_wait_for_one(qtbot, window)
    window.batch_panel.pause_button.click()
    qtbot.waitUntil(lambda: window.batch_panel.last.phase is JobPhase.PAUSED)  # type: ignore[union-attr]
    assert window.batch_panel.pause_button.text() == "&Resume"
    server = window.demo.clinic.server
    server.revoke_refresh_tokens()
    server.revoke_access_tokens()
    with qtbot.waitSignal(window.runner.reconnect_needed, timeout=30_000):
        window.batch_panel.pause_button.click()  # resume: the EHR now refuses the old sign-in
    assert window.banner.isVisible() and "sign in again" in window.banner.label.text().lower()
    with qtbot.waitSignal(window.batch_finished, timeout=60_000) as finished:
        qtbot.mouseClick(window.reconnect_button(), Qt.MouseButton.LeftButton)
    summary = finished.args[0]
    assert not isinstance(summary, BaseException), summary
    assert summary.phase is JobPhase.FINISHED and summary.failed == 0
    assert summary.done + summary.skipped == summary.total
    assert not window.banner.isVisible()
    assert AuditAction.REFRESH_FAILURE in [e.action for e in session.scope.audit_entries()]


@pytest.mark.parametrize("patients", [60])
def test_cancel_keeps_finished_sheets(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    window = demo_window
    _start_and_wait_for_one(qtbot, window)
    # Esc (or Cancel) asks first; "Keep going" is the default, so a stray Enter keeps the batch.
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: getattr(window.batch, "confirm_box", None) is not None)
    box = window.batch.confirm_box
    qtbot.waitUntil(box.isVisible)
    assert window.runner.running and box.defaultButton().text() == "&Keep going"
    with qtbot.waitSignal(window.batch_finished, timeout=30_000) as finished:
        box.button(QMessageBox.StandardButton.Yes).click()
    summary = finished.args[0]
    assert summary.phase is JobPhase.CANCELLED and summary.done < summary.total
    assert "Cancelled" in window.batch_panel.label.text()
    assert len(session.scope.sheets.all(clinic_day=DAY)) == summary.done
    qtbot.waitUntil(
        lambda: sum(r.sheet == READY for r in window.model.rows()) == summary.done,
        timeout=10_000,
    )
