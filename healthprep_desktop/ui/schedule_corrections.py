"""Corrections from the schedule's row menu: mark one of the patient's screenings "Done
elsewhere", "Declined" or "Postpone until" (as the sheet viewer does), then re-screen that one
patient at once and refresh an open viewer of the patient.

The screenings to choose from are the patient's last sheet's results. The re-screen uses the
chart already on this computer (``workers.rescreen_stored``), so it works offline; a patient
whose chart was never fetched here is re-prepared from the EHR when connected, and otherwise
gets one sentence saying the next Prepare does it (never an error dialog).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.store import EntryKind, Store
from healthprep_desktop.store.repos.screening_entries import ScreeningEntry
from healthprep_desktop.ui import corrections, day_rows, tasks
from healthprep_desktop.ui.connection_state import ConnectionController, LinkState
from healthprep_desktop.ui.correction_dialogs import EntryDialog
from healthprep_desktop.ui.day_rows import DayRow
from healthprep_desktop.ui.schedule_model import ScheduleModel
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.sheet_details import ScreeningRef, result_items
from healthprep_desktop.ui.sheet_opening import SheetOpener
from healthprep_desktop.ui.window_host import WindowHost
from healthprep_desktop.workers.rescreen_stored import NoStoredChart, rescreen_from_store

NO_SHEET = "Mark a screening… (prepare this patient first: no sheet yet)"
NO_CHART = "Re-screen now (prepare this patient first: chart never fetched here)"
NEVER_FETCHED = (
    "This patient's chart was never fetched on this computer, so the sheet is re-screened "
    "at the next Prepare, once the EHR is connected."
)


@dataclass(frozen=True, slots=True)
class Choice:
    """One screening of the patient's last sheet, as the picker lists it."""

    ref: ScreeningRef
    status: str
    existing: ScreeningEntry | None


def screening_choices(store: Store, tenant_id: str, row: DayRow, day: date) -> list[Choice]:
    """The screenings of the patient's shown (else latest) sheet, with any mark already made.
    Blocking: the window calls it in a thread."""
    scope = store.tenant(tenant_id)
    sheet = scope.sheets.get(row.sheet_id) if row.sheet_id is not None else None
    if sheet is None:
        sheet = scope.sheets.latest(row.patient_id, day)
    if sheet is None:
        return []
    entries = {e.screening_id: e for e in scope.entries.all(patient_id=row.patient_id)}
    choices: list[Choice] = []
    for item in result_items(sheet.info.results):
        screening_id = str(item.get("screening_id") or "")
        if not screening_id:
            continue
        name = str(item.get("name") or screening_id)
        choices.append(
            Choice(
                ScreeningRef(screening_id, name),
                str(item.get("status") or ""),
                entries.get(screening_id),
            )
        )
    return choices


class ScreeningPicker(QDialog):
    """Which of the patient's screenings to mark (the sheet's order; marked ones say so)."""

    def __init__(self, patient: str, choices: list[Choice], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Mark a screening · {patient}")
        layout = QVBoxLayout(self)
        label = QLabel("&Screening to mark done elsewhere, declined or postponed:")
        self.list = QListWidget()
        self.list.setObjectName("screeningChoices")
        label.setBuddy(self.list)
        for choice in choices:
            text = choice.ref.name + (f" · {choice.status}" if choice.status else "")
            if choice.existing is not None:
                text += (
                    f" · marked {corrections.ENTRY_LABELS.get(choice.existing.kind, '')}".rstrip()
                )
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, choice)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(label)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def chosen(self) -> Choice | None:
        item: QListWidgetItem | None = self.list.currentItem()  # None with an empty list
        choice = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return choice if isinstance(choice, Choice) else None


class CorrectionsHost(WindowHost, Protocol):
    """What corrections from the schedule use of the window (``MainWindow`` has it): the rows
    to mark, open viewers to refresh, and, without a stored chart, the connection's state and
    a re-prepare from the EHR."""

    @property
    def model(self) -> ScheduleModel: ...

    @property
    def sheets(self) -> SheetOpener: ...

    @property
    def connection(self) -> ConnectionController: ...

    def viewer_rescreened(self, patient_id: str) -> None: ...

    def reprepare_patient(self, patient_id: str) -> None: ...


class ScheduleCorrections(QObject):
    rescreened = Signal(str)  # patient id: re-screened after a correction from the schedule
    message = Signal(str)  # what the status bar said (tests read it)

    def __init__(self, window: CorrectionsHost) -> None:
        super().__init__(window.window())
        self.window = window
        self._task: asyncio.Task[Any] | None = None

    # The row menu --------------------------------------------------------------------------

    def add_to_menu(self, menu: QMenu, row: DayRow) -> list[QAction]:
        """ "Mark a screening…" and "Re-screen now" for the row; each disabled, and saying
        why, when the patient has no sheet (the chart was never fetched here)."""
        menu.addSeparator()
        has_sheet = row.sheet_id is not None or row.sheet == day_rows.READY
        unlocked = not self.window.locked
        mark = menu.addAction(
            "Mark a &screening… (done elsewhere, declined, postpone)" if has_sheet else NO_SHEET
        )
        mark.setObjectName("markScreeningFromSchedule")
        mark.setEnabled(has_sheet and unlocked)
        mark.triggered.connect(lambda: self.ask(row))
        again = menu.addAction(
            "Re-screen &now (from the chart on this computer)" if has_sheet else NO_CHART
        )
        again.setObjectName("rescreenFromSchedule")
        again.setEnabled(has_sheet and unlocked)
        again.triggered.connect(lambda: self.rescreen(row.patient_id))
        return [mark, again]

    def ask(self, row: DayRow) -> None:
        """Load the patient's screenings (thread), then the picker and the mark dialog."""
        w = self.window
        store, tenant_id, day = w.session.store, w.session.scope.id, w.clinic_day
        tasks.start(
            asyncio.to_thread(screening_choices, store, tenant_id, row, day),
            on_done=lambda choices: self._pick(row, choices),
            on_error=lambda exc: self._say(f"Could not read the sheet: {describe_error(exc)}"),
            name="schedule-screenings",
            owner=self,
        )

    def _pick(self, row: DayRow, choices: list[Choice]) -> None:
        if not choices:
            self._say("This patient's sheet lists no screenings to mark.")
            return
        picker = ScreeningPicker(row.patient_text, choices, self.window.window())
        picker.setObjectName("screeningPicker")
        if picker.exec() != QDialog.DialogCode.Accepted or (choice := picker.chosen()) is None:
            return
        dialog = EntryDialog(choice.ref.name, choice.existing, parent=self.window.window())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        kind, on_date, until_date, note = dialog.values()
        self.mark(
            row.patient_id, choice.ref, kind, on_date=on_date, until_date=until_date, note=note
        )

    # Recording and re-screening ------------------------------------------------------------

    def mark(
        self,
        patient_id: str,
        screening: ScreeningRef,
        kind: EntryKind,
        *,
        on_date: date | None = None,
        until_date: date | None = None,
        note: str = "",
    ) -> bool:
        """Record the mark (audited, as from the viewer), then re-screen the patient."""
        w = self.window
        try:
            corrections.set_entry(
                w.session.store,
                w.session.scope,
                patient_id,
                screening.screening_id,
                kind,
                on_date=on_date,
                until_date=until_date,
                note=note,
                ehr_user=w.session.ehr_user(),
            )
        except ValueError as exc:
            self._say(f"Not marked: {exc}")
            return False
        label = corrections.ENTRY_LABELS.get(kind, str(kind)).lower()
        self._say(f"{screening.name}: {label}. Re-screening this patient…")
        self.rescreen(patient_id, marked=True)
        return True

    def rescreen(self, patient_id: str, *, marked: bool = False) -> None:
        """This one patient, from the chart on this computer; the row and any open viewer
        follow. Without a stored chart: from the EHR when connected, else one sentence."""
        w = self.window
        row = w.model.row_for(patient_id)
        if row is not None:
            w.model.update_row(replace(row, sheet=day_rows.RESCREEN))
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the store keeps every mark; the last re-screen wins
        store, tenant_id, day = w.session.store, w.session.scope.id, w.clinic_day
        user = w.session.ehr_user()
        self._task = tasks.start(
            asyncio.to_thread(
                rescreen_from_store, store, tenant_id, patient_id, day, ehr_user=user
            ),
            on_done=lambda _done: self._rescreened(patient_id),
            on_error=lambda exc: self._not_rescreened(patient_id, exc, marked),
            name="schedule-rescreen",
            owner=self,
        )

    def _rescreened(self, patient_id: str) -> None:
        w = self.window
        w.sheets.refresh_viewers(patient_id)
        w.viewer_rescreened(patient_id)  # the row's counts and "prepared at" follow
        self._say("Re-screened: the sheet shows the mark.")
        self.rescreened.emit(patient_id)

    def _not_rescreened(self, patient_id: str, exc: BaseException, marked: bool) -> None:
        w = self.window
        done = "Marked. " if marked else ""
        if isinstance(exc, NoStoredChart):
            live = w.connection.view.state in (LinkState.CONNECTED, LinkState.EXPIRING)
            if live:
                self._say(f"{done}Fetching this patient's chart from the EHR to re-screen…")
                w.reprepare_patient(patient_id)
            else:
                self._say(done + NEVER_FETCHED)
            return
        self._say(f"{done}Not re-screened yet: {describe_error(exc)}")

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15_000)
        self.message.emit(text)
