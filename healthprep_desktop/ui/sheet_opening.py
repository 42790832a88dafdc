"""Sheets from the schedule: open the selected patient's sheet (marked when stale), print it,
print the whole day, copy the MRN, and refresh an open viewer when its patient is re-screened."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from healthprep_desktop.ui import day_rows, tasks
from healthprep_desktop.ui.day_rows import DayRow
from healthprep_desktop.ui.schedule_view import ScheduleView
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from healthprep_desktop.ui.window_host import WindowHost


class SheetsHost(WindowHost, Protocol):
    """What opening sheets uses of the window (``MainWindow`` has it): the schedule's rows,
    where a viewer's corrections go, and the tracking of open child windows."""

    @property
    def schedule_view(self) -> ScheduleView: ...

    def correction_made(self, patient_id: str, *, viewer_rescreens: bool = False) -> None: ...

    def viewer_rescreened(self, patient_id: str) -> None: ...

    def track(self, window: QWidget) -> None: ...

    def child_windows(self) -> list[QWidget]: ...


class SheetOpener(QObject):
    def __init__(self, window: SheetsHost) -> None:
        super().__init__(window.window())
        self.window = window

    def open_selected(self, *, then_print: bool = False) -> None:
        w = self.window
        row = w.schedule_view.selected_row()
        if row is None:
            return
        if row.sheet_id is None and row.sheet != day_rows.READY:
            w.statusBar().showMessage(
                f"No sheet yet for this patient{': ' + row.reason if row.reason else ''}.", 8000
            )
            return
        self.open_sheet(
            row.sheet_id,
            row.patient_text,
            patient_id=row.patient_id,
            row=row,
            then_print=then_print,
        )

    def open_sheet(
        self,
        sheet_id: int | None,
        title: str = "",
        *,
        patient_id: str | None = None,
        row: DayRow | None = None,
        then_print: bool = False,
    ) -> None:
        """A stored sheet by id, or (just prepared, id not yet loaded) the patient's latest."""
        w = self.window
        scope = w.session.scope
        day = w.clinic_day

        def load() -> Any:
            if sheet_id is not None:
                return scope.sheets.get(sheet_id)
            return scope.sheets.latest(patient_id or "", day)

        tasks.start(
            asyncio.to_thread(load),
            on_done=lambda sheet: self._show(scope, sheet, title, row, then_print),
            on_error=lambda exc: w.statusBar().showMessage(describe_error(exc)),
            name="open-sheet",
            owner=self,
        )

    def _show(
        self, scope: Any, sheet: Any, title: str, row: DayRow | None, then_print: bool
    ) -> None:
        w = self.window
        if sheet is None or w.locked:
            return
        heading = f"{title or sheet.info.patient_id} · {sheet.info.clinic_day:%a %d %b %Y}"
        if row is not None and row.stale:
            heading = f"STALE (from an earlier run) · {heading}"
        viewer = SheetViewer.for_sheet(
            w.session.store, scope, sheet, title=heading, ehr_user=w.session.ehr_user()
        )
        rescreens = bool(getattr(viewer, "rescreen_after_corrections", False))
        viewer.corrected.connect(lambda pid: w.correction_made(pid, viewer_rescreens=rescreens))
        viewer.rescreened.connect(lambda pid, _sheet_id: w.viewer_rescreened(pid))
        w.track(viewer)
        viewer.show()
        if then_print:
            viewer.print_with_dialog()

    def viewers_for(self, patient_id: str) -> list[SheetViewer]:
        return [
            c
            for c in self.window.child_windows()
            if isinstance(c, SheetViewer) and getattr(c, "patient_id", None) == patient_id
        ]

    def refresh_viewers(self, patient_id: str) -> None:
        """The patient was re-prepared: an open viewer shows the new sheet in place."""
        viewers = self.viewers_for(patient_id)
        if not viewers:
            return
        scope, day = self.window.session.scope, self.window.clinic_day

        def shown(sheet: Any) -> None:
            for viewer in viewers:
                if sheet is not None and shiboken6.isValid(viewer):
                    viewer.load_sheet(sheet)

        tasks.start(
            asyncio.to_thread(scope.sheets.latest, patient_id, day),
            on_done=shown,
            name="refresh-viewers",
            owner=self,
        )

    def copy_mrn(self) -> None:
        row = self.window.schedule_view.selected_row()
        if row is None:
            return
        if not row.mrn:
            self.window.statusBar().showMessage("No MRN known for this patient yet.", 6000)
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(row.mrn)
        self.window.statusBar().showMessage("MRN copied.", 4000)

    def print_day(self) -> None:
        """Every sheet of the day, in table order, in the day print dialog (``ui.day_print``:
        all, one provider's or chosen patients, huddle list, duplex)."""
        from healthprep_desktop.ui.day_print import print_day

        w = self.window
        ids = [r.sheet_id for r in w.schedule_view.visible_rows() if r.sheet_id is not None]
        if not ids:
            w.statusBar().showMessage("No sheets to print for this day yet.", 8000)
            return
        dialog = print_day(
            w.window(), w.session.scope, ids, w.clinic_day, ehr_user=w.session.ehr_user()
        )
        w.track(dialog)
