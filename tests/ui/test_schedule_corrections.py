"""Issue 15 item 6 from the schedule: the row menu marks one of the patient's screenings done
elsewhere / declined / postponed, re-screens exactly that patient at once (from the chart on
this computer) and refreshes an open viewer; a patient whose chart was never fetched gets one
sentence, not an error, and the actions say why they are off for a patient without a sheet.

Real encrypted store, real engine and rendered sheets, real Qt offscreen, no network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, EntryKind, TenantScope
from healthprep_desktop.ui.correction_dialogs import EntryDialog
from healthprep_desktop.ui.day_rows import DayRow
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.schedule_corrections import (
    NEVER_FETCHED,
    NO_CHART,
    NO_SHEET,
    ScreeningPicker,
    screening_choices,
)
from healthprep_desktop.ui.schedule_model import PATIENT
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_details import ScreeningRef, result_items
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from tests.ui.conftest import DAY, NOTE, run, sample_record, save_sheet

FRIDAY_BEFORE = date(2026, 11, 20)
CHARTED = ("p1", "p2")  # charts fetched on this computer
NEVER = "p3"  # a sheet, but the chart is not here (e.g. prepared on another computer)


def _store_chart(scope: TenantScope, connection_id: int, patient_id: str) -> None:
    """The chart as the batch keeps it: the record and the documents' extracted text."""
    reference = f"DocumentReference/{patient_id}-d1"
    scope.records.put(
        connection_id,
        patient_id,
        fetched_at="2026-11-22T12:00:00+00:00",
        etags={},
        record={
            "patient": sample_record(patient_id).patient,
            "resources": [],
            "documents": [
                {
                    "reference": reference,
                    "content_hash": f"hash-{patient_id}",
                    "title": "Colonoscopy report",
                    "date": "2021-03-04",
                    "content_type": "text/plain",
                }
            ],
        },
        record_hash="h",
    )
    scope.text_cache.put(f"hash-{patient_id}", f"Clinic letter.\n{NOTE}\nSigned.", "plain")


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    scope = session.scope
    connection = scope.connections.add("EHR", "generic", "https://ehr.example.org/fhir", config={})
    for pid in CHARTED:
        _store_chart(scope, connection.id, pid)
    for pid in (*CHARTED, NEVER):
        save_sheet(scope, pid)
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() == 3)
    yield w
    w.close()
    run(qtbot, w.shutdown())


def _select(window: MainWindow, patient_id: str) -> DayRow:
    for r in range(window.proxy.rowCount()):
        index = window.proxy.index(r, PATIENT)
        if index.data() == f"Patient/{patient_id}":
            window.table.setCurrentIndex(index)
            row = window.schedule_view.selected_row()
            assert row is not None
            return row
    raise AssertionError(f"{patient_id} is not on the schedule")


def _menu_actions(window: MainWindow) -> dict[str, Any]:
    menu = window.schedule_view.context_menu()
    return {a.objectName(): a for a in menu.actions() if a.objectName()}


def _colorectal(scope: TenantScope, patient_id: str) -> ScreeningRef:
    sheet = scope.sheets.latest(patient_id, DAY)
    assert sheet is not None
    reference = f"DocumentReference/{patient_id}-d1"
    item = next(
        i
        for i in result_items(sheet.info.results)
        if any(e.get("reference") == reference for e in i.get("evidence") or [])
    )
    return ScreeningRef(str(item["screening_id"]), str(item["name"]))


def _open_viewer(qtbot: QtBot, window: MainWindow, patient_id: str) -> SheetViewer:
    _select(window, patient_id)
    window.open_selected()
    qtbot.waitUntil(lambda: bool(window.sheets.viewers_for(patient_id)))
    viewer = window.sheets.viewers_for(patient_id)[0]
    qtbot.waitUntil(lambda: not viewer.image.pixmap().isNull())
    return viewer


def test_a_correction_from_the_schedule_rescreens_exactly_one_patient(
    qtbot: QtBot, window: MainWindow, session: AppSession
) -> None:
    scope = session.scope
    viewer = _open_viewer(qtbot, window, "p1")
    shown_before = viewer.sheet_id
    row = _select(window, "p1")
    actions = _menu_actions(window)
    assert actions["markScreeningFromSchedule"].isEnabled()
    # The screenings offered are the patient's last sheet's.
    choices = screening_choices(session.store, scope.id, row, DAY)
    colorectal = _colorectal(scope, "p1")
    assert colorectal.screening_id in {c.ref.screening_id for c in choices}
    before = {p: len(scope.sheets.all(patient_id=p)) for p in (*CHARTED, NEVER)}
    screened_before = [e for e in scope.audit_entries() if e.action == AuditAction.SCREEN]

    with qtbot.waitSignal(window.corrections.rescreened, timeout=30_000) as done:
        assert window.corrections.mark(
            "p1", colorectal, EntryKind.DONE_ELSEWHERE, on_date=date(2025, 5, 1), note="St Mary's"
        )
    assert done.args == ["p1"]
    after = {p: len(scope.sheets.all(patient_id=p)) for p in (*CHARTED, NEVER)}
    assert after == {**before, "p1": before["p1"] + 1}
    screened = [e for e in scope.audit_entries() if e.action == AuditAction.SCREEN]
    assert [e.patient_id for e in screened[len(screened_before) :]] == ["p1"]
    marks = [e for e in scope.entries.all(patient_id="p1")]
    assert [(m.screening_id, m.kind) for m in marks] == [
        (colorectal.screening_id, EntryKind.DONE_ELSEWHERE)
    ]
    # The open viewer shows the new sheet.
    latest = scope.sheets.latest("p1", DAY)
    assert latest is not None and latest.info.id != shown_before
    qtbot.waitUntil(lambda: viewer.sheet_id == latest.info.id, timeout=10_000)


def test_the_picker_and_the_mark_dialog_from_the_row_menu(
    qtbot: QtBot, window: MainWindow, session: AppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The menu's action loads the screenings, asks which and how, then re-screens."""
    picked: list[str] = []

    def pick(dialog: QDialog) -> int:
        if isinstance(dialog, ScreeningPicker):
            picked.append(dialog.list.currentItem().text())
            return int(QDialog.DialogCode.Accepted)
        assert isinstance(dialog, EntryDialog)
        dialog.radios[EntryKind.DECLINED].setChecked(True)
        return int(QDialog.DialogCode.Accepted)

    monkeypatch.setattr(QDialog, "exec", pick)  # modal dialogs would block the test
    _select(window, "p2")
    with qtbot.waitSignal(window.corrections.rescreened, timeout=30_000):
        _menu_actions(window)["markScreeningFromSchedule"].trigger()
    assert picked
    marks = session.scope.entries.all(patient_id="p2")
    assert [m.kind for m in marks] == [EntryKind.DECLINED]


def test_offline_rescreen_without_a_stored_chart_says_so_in_one_sentence(
    qtbot: QtBot, window: MainWindow, session: AppSession
) -> None:
    scope = session.scope
    before = len(scope.sheets.all(patient_id=NEVER))
    said: list[str] = []
    window.corrections.message.connect(said.append)
    _select(window, NEVER)
    _menu_actions(window)["rescreenFromSchedule"].trigger()
    qtbot.waitUntil(lambda: bool(said), timeout=20_000)
    assert said == [NEVER_FETCHED]  # one sentence, no error text, no traceback
    assert window.statusBar().currentMessage() == NEVER_FETCHED
    assert NEVER_FETCHED.count(".") == 1
    assert len(scope.sheets.all(patient_id=NEVER)) == before  # nothing re-screened


def test_a_patient_without_a_sheet_has_the_actions_off_and_explained(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.model.set_rows([*window.model.rows(), DayRow("p9", "2026-11-23T11:00:00", "New One")])
    row = next(
        r
        for r in range(window.proxy.rowCount())
        if window.proxy.index(r, PATIENT).data() == "New One"
    )
    window.table.setCurrentIndex(window.proxy.index(row, PATIENT))
    actions = _menu_actions(window)
    assert not actions["markScreeningFromSchedule"].isEnabled()
    assert actions["markScreeningFromSchedule"].text() == NO_SHEET
    assert not actions["rescreenFromSchedule"].isEnabled()
    assert actions["rescreenFromSchedule"].text() == NO_CHART
