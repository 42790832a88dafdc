"""Preparing against the embedded sandbox when things go wrong: the EHR goes away mid-batch
(pause, say so, retry with backoff, resume by itself, no failed patient), real failures offered
as "Retry failed (n)", and one patient re-prepared after a correction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.errors import ConnectionRefused, ServerError, ServerTimeout
from healthprep_desktop.store import AuditFilter
from healthprep_desktop.ui.batch_runner import is_outage
from healthprep_desktop.ui.connection_state import LinkState
from healthprep_desktop.ui.day_rows import FAILED, READY
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.batch_support import failure_reason
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.events import JobPhase
from tests.ui.conftest import DAY, run

pytestmark = pytest.mark.slow
DAY_SIZE = 24


def test_the_runner_knows_the_pipelines_outage_words() -> None:
    assert is_outage(failure_reason(ConnectionRefused("ehr.example refused the connection")))
    assert is_outage(failure_reason(ServerTimeout("no answer")))
    assert is_outage(failure_reason(ServerError(503, "GET", "Patient/x")))
    assert not is_outage("the EHR has no such patient (404)") and not is_outage(None)


@pytest.fixture
def demo_window(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> Iterator[MainWindow]:
    window = MainWindow(session, today=DAY.replace(day=DAY.day - 3), settings=window_settings)
    qtbot.addWidget(window)
    window.demo.clinic = DemoClinic(
        patients=60, clinic_day=DAY, schedule_size=DAY_SIZE, client_concurrency=4
    )
    window.show()
    with qtbot.waitSignal(window.demo_ready, timeout=60_000) as ready:
        window.start_demo()
    assert isinstance(ready.args[0], int), ready.args[0]
    qtbot.waitUntil(lambda: window.model.rowCount() == DAY_SIZE, timeout=30_000)
    window.runner.backoff = (0.3, 0.6)  # the probe's backoff, shortened for the test
    yield window
    window.close()
    run(qtbot, window.shutdown(), timeout=30_000)


def _finished_at_least(window: MainWindow, n: int) -> bool:
    last = window.batch_panel.last
    return last is not None and last.finished >= n


def test_network_loss_pauses_and_resumes_without_a_failed_patient(
    qtbot: QtBot, demo_window: MainWindow
) -> None:
    window = demo_window
    # The schedule's rows tell patients apart before anything is prepared (bulk Patient reads).
    # (a synthetic chart may lack an MRN or a sex, as real ones do).
    known = [r for r in window.model.rows() if r.birth_date and r.sex and r.mrn and r.visit_type]
    assert len(known) >= DAY_SIZE - 3
    server = window.demo.clinic.server
    outages: list[object] = []
    window.runner.outage_changed.connect(outages.append)
    window.prepare_action.trigger()
    qtbot.waitUntil(lambda: _finished_at_least(window, 2), timeout=60_000)
    run(qtbot, asyncio.to_thread(server.stop), timeout=30_000)  # the EHR goes away
    qtbot.waitUntil(lambda: window.runner.outage is not None, timeout=60_000)
    assert window.batch_panel.last is not None
    qtbot.waitUntil(lambda: window.batch_panel.last.phase is JobPhase.PAUSED, timeout=10_000)  # type: ignore[union-attr]
    assert "cannot be reached" in window.batch_panel.label.text()
    assert window.connection.view.state is LinkState.UNREACHABLE
    assert "Unreachable" in window.connection_label.text()
    assert window.banner.isVisible() and "resumes by itself" in window.banner.label.text()
    assert not any(r.sheet == FAILED for r in window.model.rows())
    with qtbot.waitSignal(window.batch_finished, timeout=120_000) as finished:
        run(qtbot, asyncio.to_thread(server.start), timeout=30_000)  # and comes back
    summary = finished.args[0]
    assert not isinstance(summary, BaseException), summary
    assert outages and outages[0] is not None and outages[-1] is None  # paused, then resumed
    assert summary.phase is JobPhase.FINISHED and summary.failed == 0
    assert summary.done + summary.skipped == summary.total == DAY_SIZE
    qtbot.waitUntil(lambda: all(r.sheet == READY for r in window.model.rows()), timeout=20_000)
    assert window.connection.view.state is not LinkState.UNREACHABLE
    assert not window.batch_panel.retry_button.isVisible()


def test_failed_patients_are_offered_again_and_one_patient_is_re_prepared(
    qtbot: QtBot, demo_window: MainWindow
) -> None:
    window = demo_window
    server = window.demo.clinic.server
    window.prepare_action.trigger()
    qtbot.waitUntil(lambda: _finished_at_least(window, 1), timeout=60_000)
    # The EHR answers "no such patient" for a while: real failures, not an outage. Listen for
    # the end before the faults start: on a slow machine the job can fail its remaining
    # patients and finish before the (coalesced) panel shows two failures.
    with qtbot.waitSignal(window.batch_finished, timeout=120_000) as finished:
        server.set_faults(error_rate=1.0, error_statuses=(404,))
        qtbot.waitUntil(lambda: (window.batch_panel.last or _Zero).failed >= 2, timeout=60_000)
        server.set_faults(error_rate=0.0)
    first = finished.args[0]
    assert not isinstance(first, BaseException), first
    assert first.failed >= 2 and window.runner.outage_failed == set()
    assert window.batch_panel.retry_button.isVisible()
    assert window.batch_panel.retry_button.text() == f"Re&try failed ({first.failed})"
    assert window.main_actions.retry_failed.isEnabled()
    qtbot.waitUntil(
        lambda: sum(r.sheet == FAILED for r in window.model.rows()) == first.failed,
        timeout=20_000,
    )
    with qtbot.waitSignal(window.batch_finished, timeout=120_000) as again:
        window.batch_panel.retry_button.click()
    second = again.args[0]
    assert not isinstance(second, BaseException), second
    assert second.failed == 0 and second.job_id == first.job_id  # the same job, resumed
    qtbot.waitUntil(lambda: all(r.sheet == READY for r in window.model.rows()), timeout=20_000)

    # A correction re-screens exactly that one patient, at once.
    patient = window.model.rows()[0].patient_id
    with (
        qtbot.waitSignal(window.patient_rescreened, timeout=60_000) as rescreened,
        qtbot.waitSignal(window.batch_finished, timeout=60_000) as one,
    ):
        window.correction_made(patient)
    assert rescreened.args == [patient]
    assert one.args[0].total == 1 and one.args[0].done == 1


class _Zero:
    failed = 0


def test_prepare_signs_in_first_when_signed_out(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    window = demo_window
    stored = session.default_connection()
    assert stored is not None
    live = session.live_connection(stored.id)
    assert live is not None
    live.logout()
    window.refresh_connection_status()
    # One state: the indicator, the banner and Prepare all agree that sign-in is needed.
    assert window.connection.view.state is LinkState.SIGNED_OUT
    assert "Connected" not in window.connection_label.text() and window.banner.isVisible()
    connects = len(session.scope.audit_entries(AuditFilter(actions=frozenset({"connect"}))))
    with qtbot.waitSignal(window.batch_finished, timeout=120_000) as finished:
        window.prepare_action.trigger()
    summary = finished.args[0]
    assert not isinstance(summary, BaseException), summary
    assert summary.failed == 0 and summary.done + summary.skipped == DAY_SIZE
    after = len(session.scope.audit_entries(AuditFilter(actions=frozenset({"connect"}))))
    assert after == connects + 1  # signed in once, through the sign-in path, then prepared
    assert window.connection.view.state is LinkState.CONNECTED and not window.banner.isVisible()


def test_one_click_re_consent_signs_in_asking_to_post(
    qtbot: QtBot, demo_window: MainWindow, session: AppSession
) -> None:
    WRITE_SCOPE = "user/DocumentReference.write"  # what a user sign-in asks for to post
    window = demo_window
    stored = session.default_connection()
    assert stored is not None
    config = dict(stored.config)
    config["scopes"] = [s for s in config.get("scopes") or [] if s != WRITE_SCOPE]
    session.scope.connections.update(stored.id, config=config)  # signed in without it
    window.connection.consent_needed = "Sheets were kept but not posted: sign in to grant it."
    window.refresh_connection_status()
    assert window.banner.isVisible()
    assert window.reconnect_button().text() == "Sign &in with permission to post"
    with qtbot.waitSignal(window.connection.signed_in, timeout=60_000):
        window.reconnect_button().click()
    again = session.scope.connections.get(stored.id)
    assert again is not None and WRITE_SCOPE in again.config["scopes"]
    assert window.connection.consent_needed is None and not window.banner.isVisible()


def test_f5_reads_the_schedule_again_and_shows_added_and_cancelled_visits(
    qtbot: QtBot, demo_window: MainWindow
) -> None:
    import copy

    window = demo_window
    store = window.demo.clinic.server.org().store
    booked = [a.json() for a in store.all_of("Appointment")]
    today = [a for a in booked if str(a.get("start", "")).startswith(DAY.isoformat())]
    shown = {r.patient_id for r in window.model.rows()}
    gone = next(a for a in today if _patient_of(a) in shown)
    cancelled = {**gone, "status": "cancelled"}
    store.put(cancelled)
    newcomer = next(p for p in store.patient_ids() if p not in shown)
    add_on = copy.deepcopy(today[0])
    add_on["id"] = "add-on-visit"
    for participant in add_on["participant"]:
        if str(participant["actor"].get("reference", "")).startswith("Patient/"):
            participant["actor"] = {"reference": f"Patient/{newcomer}", "display": "Add On"}
    store.put(add_on)
    with qtbot.waitSignal(window.day_loaded, timeout=30_000):
        qtbot.keyClick(window.table, Qt.Key.Key_F5)
    marks = {r.patient_id: r.visit_change for r in window.model.rows()}
    assert marks[newcomer] == "added" and marks[_patient_of(gone)] == "cancelled"
    assert window.model.rowCount() == DAY_SIZE + 1  # the cancelled visit stays, struck out
    assert "1 added, 1 cancelled" in window.statusBar().currentMessage()


def _patient_of(appointment: dict[str, object]) -> str:
    for participant in appointment.get("participant") or []:  # type: ignore[attr-defined]
        reference = str(participant["actor"].get("reference", ""))
        if reference.startswith("Patient/"):
            return reference.split("/", 1)[1]
    return ""


def test_prepare_checks_first_and_says_which_scopes_are_missing(
    qtbot: QtBot, demo_window: MainWindow
) -> None:
    window = demo_window
    stored = window.connection.stored()
    assert stored is not None
    live = run(qtbot, window.session.open(stored.id), timeout=30_000)
    granted = live.tokens.tokens
    assert granted is not None
    # A sign-in that granted the schedule but not the chart (common with hand-made grants).
    narrow = "openid fhirUser user/Patient.read user/Appointment.read user/Encounter.read"
    live.tokens.accept_login(replace(granted, scope=narrow))
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.prepare_action.trigger()
    shown = " ".join(messages)
    assert "did not grant read access" in shown and "Observation" in shown, shown
    assert window.runner.last_job_id is None  # nothing stored, no patient failed
    assert not any(r.sheet == FAILED for r in window.model.rows())
