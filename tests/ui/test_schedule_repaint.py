"""Issue 15 item 1 (the window never stalls): a batch's row updates reach the view coalesced,
and re-reading the day that is already shown does not reset the model (a reset repaints every
row of a 500-patient day, the longest stall bench/ui.py --sample-stalls found at a batch's
start). Real Qt model and proxy, offscreen."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.day_rows import READY, DayRow, state_text
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.schedule_model import PATIENT, SHEET, ScheduleFilter, ScheduleModel
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.events import PatientEvent, PatientState
from tests.ui.conftest import run


def _rows(n: int = 6) -> list[DayRow]:
    return [DayRow(f"p{i}", f"2026-11-23T08:{i:02d}:00", f"Patient {i}") for i in range(n)]


def _model() -> tuple[ScheduleModel, ScheduleFilter, list[str]]:
    model = ScheduleModel()
    proxy = ScheduleFilter()
    proxy.setSourceModel(model)
    model.set_rows(_rows())
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.dataChanged.connect(lambda a, b, _r=(): seen.append(f"rows {a.row()}-{b.row()}"))
    return model, proxy, seen


def test_reading_the_shown_day_again_changes_only_rows_that_differ(qtbot: QtBot) -> None:
    model, proxy, seen = _model()
    model.set_rows(_rows())
    assert seen == []  # nothing changed: no reset, no repaint
    changed = _rows()
    changed[2] = replace(changed[2], sheet=READY, sheet_id=7)
    changed[3] = replace(changed[3], patient="Patient Three")
    model.set_rows(changed)
    assert seen == ["rows 2-3"]
    assert proxy.index(3, PATIENT).data() == "Patient Three"
    assert proxy.index(2, SHEET).data() == READY
    seen.clear()
    model.set_rows(_rows(7))  # another patient: the rows are not the same, so a reset
    assert seen == ["reset"] and model.rowCount() == 7


def test_batch_events_are_announced_once_per_flush(qtbot: QtBot) -> None:
    model, proxy, seen = _model()
    for state in (PatientState.FETCHING, PatientState.SCREENING, PatientState.DONE):
        model.apply_event(PatientEvent("1", "p1", state), notify=False)
    model.apply_event(PatientEvent("1", "p2", PatientState.FETCHING), notify=False)
    model.apply_event(PatientEvent("1", "p4", PatientState.FETCHING), notify=False)
    # The data is current at once (tests and the window read rows), the view not yet.
    assert model.row_for("p1").sheet == READY  # type: ignore[union-attr]
    assert seen == [] and model.pending == 3
    model.flush()
    assert seen == ["rows 1-2", "rows 4-4"] and model.pending == 0
    assert proxy.index(1, SHEET).data() == READY


def test_the_window_announces_a_batchs_rows_on_its_timer(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    """BatchController: the runner's events update the rows at once; the view hears of them
    in one dataChanged per run of rows when the flush timer fires."""
    window = MainWindow(session, settings=window_settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not any(t.get_name() == "load-day" for t in tasks.running()))
    window.model.set_rows(_rows())
    seen: list[int] = []
    window.model.dataChanged.connect(lambda a, _b, _r=(): seen.append(a.row()))
    for state in (PatientState.FETCHING, PatientState.SCREENING, PatientState.STORING):
        window.runner.patient_changed.emit(PatientEvent("1", "p3", state))
    assert window.model.row_for("p3").sheet == state_text("storing")  # type: ignore[union-attr]
    assert seen == []
    qtbot.waitUntil(lambda: seen == [3], timeout=2000)
    window.close()
    run(qtbot, window.shutdown())
