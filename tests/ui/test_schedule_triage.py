"""The schedule triages (demographics, visit type, separate action counts, prepared-at and
stale marks, posting outcome, provider and status filters, context menu, re-read marks), and
one connection state behind indicator and banner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.ui import day_rows
from healthprep_desktop.ui.connection_state import LinkState, connection_view
from healthprep_desktop.ui.day_rows import ScheduledPatient, rows_for_day
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.schedule_model import (
    AGE_SEX,
    BIRTH,
    MRN,
    PREPARED,
    REASON,
    SUMMARY,
    VISIT,
    ScheduleFilter,
)
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import DAY, run, sample_record

FRIDAY_BEFORE = date(2026, 11, 20)
PATIENT = {
    **sample_record("p1").patient,
    "identifier": [
        {"system": "urn:ssn", "value": "999-00-1111"},
        {"type": {"coding": [{"code": "MR"}]}, "system": "urn:mrn", "value": "MRN-0042"},
    ],
}


def _store_day(session: AppSession) -> None:
    scope = session.scope
    connection = scope.connections.add("EHR", "generic", "https://ehr.example/fhir")
    job = scope.jobs.create(
        DAY, connection_id=connection.id, params={"visits": {}}, patient_ids=["p1", "p2"]
    )
    scope.records.put(connection.id, "p1", fetched_at="2026-11-20T12:00:00+00:00", etags={},
                      record={"patient": PATIENT, "resources": []}, record_hash="x")  # fmt: skip
    summary = {"overdue": 1, "due": 2, "due_soon": 1, "not_at_goal": 0, "follow_up_needed": 1}
    mark = {"state": "not_posted", "reason": "the EHR refused to file the sheet (403)"}
    scope.sheets.save("p1", DAY, b"%PDF-1.4", {"format": 1, "summary": summary, "writeback": mark})
    scope.sheets.save("p2", DAY, b"%PDF-1.4", {"format": 1, "summary": {"due_soon": 2}})
    scope.jobs.finish_patient(job.id, "p1", StoredState.DONE)
    scope.jobs.finish_patient(job.id, "p2", StoredState.FAILED, reason="the EHR refused (403)")


def test_rows_carry_what_a_coordinator_triages_by(session: AppSession) -> None:
    _store_day(session)
    schedule = [
        ScheduledPatient("p1", "2026-11-23T09:00:00", "Rosa Alvarez", "Dr Roe", "Annual"),
        ScheduledPatient("p2", "2026-11-23T09:30:00", "Rosa Alvarez", "Dr Kay", "Follow-up"),
    ]
    rows = {r.patient_id: r for r in rows_for_day(session.scope, DAY, schedule)}
    one, two = rows["p1"], rows["p2"]
    # Two patients with one name are told apart: birth date, sex, MRN, visit type.
    assert (one.birth_date, one.sex, one.mrn, one.visit_type) == (
        "1960-04-02", "female", "MRN-0042", "Annual",
    )  # fmt: skip
    assert one.age_sex_text(DAY) == "66 F"
    assert one.counts is not None and (one.counts.overdue, one.counts.due) == (1, 2)
    assert one.summary_text == "1 Overdue · 2 Due · 1 Follow-up · 1 Due soon"
    assert one.prepared_at and one.stale is None
    assert one.posted == "Not posted: the EHR refused to file the sheet (403)"
    # The last run failed for p2: its older sheet and counts are marked stale.
    assert two.sheet == "Failed" and two.stale and two.summary_text.endswith("(old)")


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    _store_day(session)
    session.scope.connections.update(1, enabled=False)  # offline: no schedule read
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() == 2)
    yield w
    w.close()
    run(qtbot, w.shutdown())


def test_columns_colours_filters_and_context_menu(qtbot: QtBot, window: MainWindow) -> None:
    proxy = window.proxy
    first = next(r for r in range(proxy.rowCount()) if proxy.index(r, MRN).data() == "MRN-0042")
    assert proxy.index(first, AGE_SEX).data() == "66 F"
    assert proxy.index(first, BIRTH).data() == "1960-04-02"
    assert proxy.index(first, PREPARED).data()
    assert "Not posted" in proxy.index(first, REASON).data()
    # Colour only where action is needed: p1 has Overdue; p2's counts are stale (no colour).
    assert proxy.index(first, SUMMARY).data(Qt.ItemDataRole.ForegroundRole) is not None
    other = 1 - first
    assert proxy.index(other, SUMMARY).data(Qt.ItemDataRole.ForegroundRole) is None
    assert proxy.index(other, PREPARED).data().endswith("stale")
    assert proxy.index(first, VISIT).data() == ""  # offline: no schedule, no visit type
    totals = window.schedule_view.total_labels
    assert totals["overdue"].text() == "Overdue: 1" and "color" in totals["overdue"].styleSheet()
    assert totals["not_at_goal"].text() == "Not at goal: 0"
    assert totals["not_at_goal"].styleSheet() == ""
    assert window.schedule_view.table.verticalHeader().defaultSectionSize() < 30  # compact
    window.schedule_view.mode_combo.setCurrentText(ScheduleFilter.OVERDUE_ONLY)
    assert proxy.rowCount() == 1
    window.schedule_view.mode_combo.setCurrentText(ScheduleFilter.STALE_ONLY)
    assert proxy.rowCount() == 1 and proxy.index(0, MRN).data() == ""
    window.schedule_view.mode_combo.setCurrentText(ScheduleFilter.ALL)
    # The context menu: open, print, re-prepare, copy MRN; then the row's corrections.
    window.table.setCurrentIndex(proxy.index(first, MRN))
    menu = window.schedule_view.context_menu()
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts[:4] == ["Open sheet", "Print this sheet…", "Re-prepare this patient", "Copy MRN"]
    assert texts[4].startswith("Mark a screening…") and texts[5].startswith("Re-screen now")
    menu.close()
    window.main_actions.copy_mrn.trigger()
    assert QGuiApplication.clipboard().text() == "MRN-0042"


def test_provider_filter_lists_the_days_providers(window: MainWindow) -> None:
    rows = [replace(r, provider="Dr Roe" if r.patient_id == "p1" else "Dr Kay")
            for r in window.model.rows()]  # fmt: skip
    window.model.set_rows(rows)
    view = window.schedule_view
    view.refresh_providers()
    names = [view.provider_combo.itemText(i) for i in range(view.provider_combo.count())]
    assert names == ["All providers", "Dr Kay", "Dr Roe"]
    view.provider_combo.setCurrentText("Dr Roe")
    assert window.proxy.rowCount() == 1


def test_a_reread_marks_added_and_cancelled_visits(window: MainWindow) -> None:
    loader = window.loader
    key = (window.session.scope.id, DAY)
    before = [ScheduledPatient("p1", "2026-11-23T09:00:00", "A", "Dr Roe"),
              ScheduledPatient("p9", "2026-11-23T11:00:00", "Gone Soon", "Dr Roe")]  # fmt: skip
    after = [before[0], ScheduledPatient("p3", "2026-11-23T12:00:00", "Add On", "Dr Roe")]
    loader._note_changes(key, before, after, {"p9"})
    rows = loader._with_cancelled(rows_for_day(window.session.scope, DAY, after), key, before)
    marks = {r.patient_id: r.visit_change for r in rows}
    assert marks["p3"] == day_rows.ADDED_VISIT and marks["p9"] == day_rows.CANCELLED_VISIT
    assert marks["p1"] == ""


def test_one_connection_state_never_contradicts_itself() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    lapsed = ConnectionStatus(is_connected=True, token_expiry=now - timedelta(minutes=1))
    view = connection_view(lapsed, name="EHR", can_refresh=False, now=now)
    assert view.state is LinkState.SIGNED_OUT and view.needs_sign_in
    assert "Connected" not in view.indicator and view.banner is not None
    renewing = connection_view(lapsed, name="EHR", can_refresh=True, now=now)
    assert renewing.state is LinkState.CONNECTED and renewing.banner is None
    soon = ConnectionStatus(is_connected=True, token_expiry=now + timedelta(minutes=3))
    expiring = connection_view(soon, can_refresh=False, now=now)
    assert expiring.state is LinkState.EXPIRING and expiring.banner is not None
    assert expiring.banner[0] == "warning" and expiring.indicator.startswith("Connected until")
    away = connection_view(soon, outage="network error", now=now)
    assert away.state is LinkState.UNREACHABLE and "Unreachable" in away.indicator


def test_switching_clinic_leaves_nothing_of_the_last_one(qtbot: QtBot, window: MainWindow) -> None:
    window.batch_panel.started()
    window.batch_panel.offer_retry(3)
    window.statusBar().showMessage("Prepared 3 sheets")
    window.banner.show_message("error", "old message")
    first = window.session.tenant_id
    assert first is not None
    window.session.create_tenant("Second Clinic")
    window.session.select_tenant(first)
    window.refresh_clinics()
    index = window.clinic_combo.findText("Second Clinic")
    window.clinic_combo.setCurrentIndex(index)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert not window.batch_panel.isVisible() and window.statusBar().currentMessage() == ""
    assert not window.banner.isVisible()
    assert window.connection.view.state is LinkState.NONE


def test_a_refused_post_keeps_the_sheet_and_offers_re_consent(
    qtbot: QtBot, window: MainWindow
) -> None:
    from healthprep_desktop.workers.batch_support import BatchSummary
    from healthprep_desktop.workers.events import JobPhase
    from healthprep_desktop.workers.writeback_step import NO_SCOPE_REASON

    window.session.scope.connections.update(1, enabled=True)
    window.connection.forget()
    summary = BatchSummary(job_id=1, clinic_day=DAY, total=1, done=1, phase=JobPhase.FINISHED)
    summary.not_posted["p1"] = NO_SCOPE_REASON
    window.connection.consent_needed = None
    window.batch._done(summary)  # what the window does when such a run ends
    assert window.connection.consent_needed and "permission" in window.connection.consent_needed
    # The sheet is kept: the row still opens it, and says why it was not posted.
    qtbot.waitUntil(lambda: (window.model.row_for("p1") or _NoRow).sheet_id is not None)
    row = window.model.row_for("p1")
    assert row is not None and row.posted and row.posted.startswith("Not posted")
    # Posting is per connection and off until switched on.
    assert not window.main_actions.post_to_chart.isChecked()


class _NoRow:
    sheet_id = None
