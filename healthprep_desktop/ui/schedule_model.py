"""The day's schedule as a Qt table model, and the proxy that sorts and filters it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import theme
from healthprep_desktop.ui.day_rows import (
    ACTION_STATUSES,
    FAILED,
    NOT_PREPARED,
    READY,
    DayRow,
    state_text,
)
from healthprep_desktop.workers.events import PatientEvent, PatientState

COLUMNS = ("Time", "Patient", "Provider", "Screenings", "Sheet", "Reason")
TIME, PATIENT, PROVIDER, SUMMARY, SHEET, REASON = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class ScheduleModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DayRow] = []
        self._position: dict[str, int] = {}

    # Loading ----------------------------------------------------------------------------

    def set_rows(self, rows: list[DayRow]) -> None:
        self.beginResetModel()
        self._rows = sorted(rows, key=self._key, reverse=self._descending)
        self._position = {r.patient_id: i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def row_at(self, position: int) -> DayRow:
        return self._rows[position]

    # Sorting happens here, in Python's list sort, not in the proxy: the proxy would call
    # data() twice per comparison (about 9,000 calls for a 500-patient day, tens of ms).
    # Rows keep their place while a batch updates them; a header click sorts again.
    _sort_column = TIME
    _descending = False

    def _key(self, row: DayRow) -> Any:
        return _sort_key(row, self._sort_column)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = column if 0 <= column < len(COLUMNS) else TIME
        self._descending = order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[i.row()].patient_id if i.isValid() else None for i in persistent]
        self._rows.sort(key=self._key, reverse=self._descending)
        self._position = {r.patient_id: i for i, r in enumerate(self._rows)}
        moved = [
            self.index(self._position[pid], old.column()) if pid is not None else QModelIndex()
            for pid, old in zip(ids, persistent, strict=True)
        ]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def rows(self) -> list[DayRow]:
        return list(self._rows)

    def row_for(self, patient_id: str) -> DayRow | None:
        position = self._position.get(patient_id)
        return None if position is None else self._rows[position]

    def apply_event(self, event: PatientEvent) -> None:
        """A batch event: update (or append) the patient's row."""
        position = self._position.get(event.patient_id)
        if position is None:
            position = len(self._rows)
            self.beginInsertRows(QModelIndex(), position, position)
            self._rows.append(DayRow(event.patient_id))
            self._position[event.patient_id] = position
            self.endInsertRows()
        row = self._rows[position]
        changes: dict[str, Any] = {"sheet": state_text(event.state.value)}
        changes["reason"] = event.reason if event.state is PatientState.FAILED else None
        if event.summary is not None:
            changes["due"] = sum(int(event.summary.get(s.value, 0)) for s in ACTION_STATUSES)
            changes["due_soon"] = int(event.summary.get("due_soon", 0))
        # Only the columns that change: a change in the sort column makes the proxy re-sort
        # the whole day, hundreds of times a minute during a batch.
        first = SUMMARY if event.summary is not None else SHEET
        self.update_row(replace(row, **changes), first_column=first, last_column=REASON)

    def update_row(
        self, row: DayRow, *, first_column: int = 0, last_column: int = len(COLUMNS) - 1
    ) -> None:
        position = self._position[row.patient_id]
        self._rows[position] = row
        self.dataChanged.emit(self.index(position, first_column), self.index(position, last_column))

    # Qt model interface -----------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == SORT_ROLE:
            return _sort_key(row, column)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.reason and column in (SHEET, REASON):
                return f"Failed: {row.reason}"
            if column == SUMMARY and row.due is not None:
                return (
                    "Screenings Due, Overdue or Not at goal, and Due Soon, on this patient's sheet"
                )
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == SHEET and row.sheet == FAILED:
                return theme.status_color(Status.DUE)
            if column == SUMMARY and row.due:
                return theme.status_color(Status.DUE)
            if column == SHEET and row.sheet == READY:
                return theme.status_color(Status.COMPLETE)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return _display(row, column) or "empty"
        return None


def _display(row: DayRow, column: int) -> str:
    if column == TIME:
        return row.time_text
    if column == PATIENT:
        return row.patient_text
    if column == PROVIDER:
        return row.provider
    if column == SUMMARY:
        return row.summary_text
    if column == SHEET:
        return row.sheet
    return row.reason or ""


def _sort_key(row: DayRow, column: int) -> Any:
    if column == TIME:
        return row.start or "~"
    if column == SUMMARY:
        # Most due first when sorted descending; unknown below zero.
        return -1 if row.due is None else row.due * 1000 + (row.due_soon or 0)
    return _display(row, column).casefold()


class ScheduleFilter(QSortFilterProxyModel):
    """Text filter over patient, provider and reason; plus a sheet-state filter."""

    ALL, FAILED_ONLY, DUE_ONLY, NOT_READY = (
        "All patients",
        "Failed",
        "With Due screenings",
        "Not ready",
    )
    MODES = (ALL, NOT_READY, FAILED_ONLY, DUE_ONLY)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)
        self._text = ""
        self._mode = self.ALL

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().casefold()))

    def set_mode(self, mode: str) -> None:
        self._refilter(lambda: setattr(self, "_mode", mode))

    def _refilter(self, change: Callable[[], None]) -> None:
        # Qt 6.9 replaced invalidateRowsFilter() (now deprecated) with begin/endFilterChange.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - Qt before 6.9
            change()
            self.invalidateRowsFilter()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Delegated to the source model (see ScheduleModel.sort)."""
        model = self.sourceModel()
        if isinstance(model, ScheduleModel):
            model.sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._mode == self.ALL and not self._text:
            return True  # the common case, called for every row a batch event touches
        model = self.sourceModel()
        assert isinstance(model, ScheduleModel)
        row = model.row_at(source_row)
        if self._mode == self.FAILED_ONLY and row.sheet != FAILED:
            return False
        if self._mode == self.DUE_ONLY and not row.due:
            return False
        if self._mode == self.NOT_READY and row.sheet == READY:
            return False
        if not self._text:
            return True
        haystack = " ".join(
            (row.patient_text, row.provider, row.patient_id, row.reason or "", row.time_text)
        ).casefold()
        return self._text in haystack


__all__ = ["COLUMNS", "NOT_PREPARED", "ScheduleFilter", "ScheduleModel"]
