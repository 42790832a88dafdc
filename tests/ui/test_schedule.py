"""The day's rows from real store data, and the table model's sorting, filtering and events."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.ui import day_rows
from healthprep_desktop.ui.day_rows import READY, ScheduledPatient, rows_for_day
from healthprep_desktop.ui.schedule_model import (
    PATIENT,
    SHEET,
    SUMMARY,
    TIME,
    ScheduleFilter,
    ScheduleModel,
)
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.events import PatientEvent, PatientState
from tests.ui.conftest import DAY, sample_record, save_sheet


def test_next_clinic_day_skips_the_weekend() -> None:
    assert day_rows.next_clinic_day(date(2026, 11, 19)) == date(2026, 11, 20)  # Thu -> Fri
    assert day_rows.next_clinic_day(date(2026, 11, 20)) == date(2026, 11, 23)  # Fri -> Mon
    assert day_rows.next_clinic_day(date(2026, 11, 21)) == date(2026, 11, 23)  # Sat -> Mon


def test_rows_merge_job_states_sheets_and_stored_charts(session: AppSession) -> None:
    scope = session.scope
    connection = scope.connections.add("EHR", "generic", "https://ehr.example/fhir")
    job = scope.jobs.create(
        DAY,
        connection_id=connection.id,
        params={"visits": {"p1": {"start": "2026-11-23T09:30:00-05:00"}}},
        patient_ids=["p1", "p2", "p3"],
    )
    scope.jobs.finish_patient(job.id, "p1", StoredState.DONE)
    scope.jobs.finish_patient(job.id, "p2", StoredState.FAILED, reason="the EHR refused (403)")
    scope.records.put(
        connection.id,
        "p1",
        fetched_at="2026-11-20T12:00:00+00:00",
        etags={},
        record={"patient": sample_record("p1").patient, "resources": []},
        record_hash="x",
    )
    sheet_id = save_sheet(scope, "p1")
    rows = {r.patient_id: r for r in rows_for_day(scope, DAY)}
    assert rows["p1"].sheet == READY and rows["p1"].sheet_id == sheet_id
    assert rows["p1"].patient == "Rosa Alvarez" and rows["p1"].time_text == "09:30"
    assert rows["p1"].due is not None and rows["p1"].due > 0
    assert rows["p2"].sheet == "Failed" and rows["p2"].reason == "the EHR refused (403)"
    assert rows["p3"].sheet == "Waiting" and rows["p3"].sheet_id is None
    # A live schedule's names and times win; other days stay out.
    schedule = [ScheduledPatient("p3", "2026-11-23T08:00:00", "Lee Chen", "Dr Who")]
    rows = rows_for_day(scope, DAY, schedule)
    assert rows[0].patient_id == "p3" and rows[0].provider == "Dr Who"
    assert rows_for_day(scope, date(2026, 11, 24)) == []


def test_appointment_displays_become_names_without_extra_reads() -> None:
    appointments = [
        {
            "status": "booked",
            "start": "2026-11-23T10:00:00",
            "participant": [
                {"actor": {"reference": "Patient/a", "display": "Ann Lee"}},
                {"actor": {"reference": "http://x/fhir/Practitioner/9", "display": "Dr Roe"}},
            ],
        },
        {"status": "cancelled", "participant": [{"actor": {"reference": "Patient/b"}}]},
    ]
    assert day_rows.scheduled_from_appointments(appointments) == [
        ScheduledPatient("a", "2026-11-23T10:00:00", "Ann Lee", "Dr Roe")
    ]


def _rows() -> list[day_rows.DayRow]:
    return [
        day_rows.DayRow("a", "2026-11-23T10:00:00", "Ann Lee", "Dr Roe", 3, 1, READY, None, 1),
        day_rows.DayRow("b", "2026-11-23T08:30:00", "Bo Park", "Dr Kay", 0, 2, READY, None, 2),
        day_rows.DayRow("c", "2026-11-23T09:00:00", "Cy Ng", "Dr Roe", None, None, "Failed", "403"),
    ]


def test_sorting_and_filtering(qtbot: QtBot) -> None:
    model = ScheduleModel()
    proxy = ScheduleFilter()
    proxy.setSourceModel(model)
    model.set_rows(_rows())

    def column(col: int) -> list[str]:
        return [proxy.index(r, col).data() for r in range(proxy.rowCount())]

    proxy.sort(TIME, Qt.SortOrder.AscendingOrder)
    assert column(PATIENT) == ["Bo Park", "Cy Ng", "Ann Lee"]
    proxy.sort(SUMMARY, Qt.SortOrder.DescendingOrder)
    assert column(PATIENT)[0] == "Ann Lee" and column(SUMMARY)[0] == "3 Due · 1 Due soon"
    proxy.set_text("dr roe")
    assert sorted(column(PATIENT)) == ["Ann Lee", "Cy Ng"]
    proxy.set_text("")
    proxy.set_mode(ScheduleFilter.FAILED_ONLY)
    assert column(PATIENT) == ["Cy Ng"]
    assert proxy.index(0, SHEET).data(Qt.ItemDataRole.ToolTipRole) == "Failed: 403"
    proxy.set_mode(ScheduleFilter.DUE_ONLY)
    assert column(PATIENT) == ["Ann Lee"]


def test_batch_events_update_rows_live(qtbot: QtBot) -> None:
    model = ScheduleModel()
    model.set_rows(_rows())
    with qtbot.waitSignal(model.dataChanged):
        model.apply_event(PatientEvent("1", "c", PatientState.FETCHING))
    assert model.row_for("c").sheet == "Fetching chart"  # type: ignore[union-attr]
    model.apply_event(
        PatientEvent("1", "c", PatientState.DONE, summary={"due": 1, "overdue": 1, "due_soon": 4})
    )
    row = model.row_for("c")
    assert row is not None and row.sheet == READY and (row.due, row.due_soon) == (2, 4)
    assert row.reason is None
    with qtbot.waitSignal(model.rowsInserted):
        model.apply_event(PatientEvent("1", "new", PatientState.FAILED, reason="timeout"))
    assert model.rowCount() == 4 and model.row_for("new").reason == "timeout"  # type: ignore[union-attr]
