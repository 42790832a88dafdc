"""The day's schedule as a Qt table model, and the proxy that sorts and filters it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import theme
from healthprep_desktop.ui.day_rows import (
    ADDED_VISIT,
    CANCELLED_VISIT,
    FAILED,
    NOT_PREPARED,
    READY,
    DayRow,
    ScreeningCounts,
    state_text,
)
from healthprep_desktop.workers.events import PatientEvent, PatientState

COLUMNS = (
    "Time",
    "Patient",
    "Age/Sex",
    "Born",
    "MRN",
    "Visit type",
    "Provider",
    "Screenings",
    "Sheet",
    "Prepared at",
    "Note",
)
TIME, PATIENT, AGE_SEX, BIRTH, MRN, VISIT, PROVIDER, SUMMARY, SHEET, PREPARED, REASON = range(
    len(COLUMNS)
)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole.value)
_UNUSED_ROLES = frozenset(
    int(r.value)
    for r in (
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.CheckStateRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.SizeHintRole,
        Qt.ItemDataRole.StatusTipRole,
        Qt.ItemDataRole.WhatsThisRole,
    )
)


class ScheduleModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None, *, today: date | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DayRow] = []
        self._position: dict[str, int] = {}
        self._today = today or date.today()  # ages are shown as of this day (the clinic day)
        # Display texts per row position, made on first paint: a paint asks data() about
        # seven roles of every visible cell, and recomputing ages and times each time made
        # a full repaint of a 500-patient day cost tens of milliseconds.
        self._texts: dict[int, tuple[str, ...]] = {}
        self._dirty: set[int] = set()  # rows changed but not yet announced (see flush)

    @property
    def today(self) -> date:
        return self._today

    @today.setter
    def today(self, day: date) -> None:
        if day != self._today:
            self._today = day
            self._texts.clear()  # ages depend on it

    # Loading ----------------------------------------------------------------------------

    def set_rows(self, rows: list[DayRow]) -> None:
        ordered = sorted(rows, key=self._key, reverse=self._descending)
        if [r.patient_id for r in ordered] == [r.patient_id for r in self._rows]:
            # The same patients in the same order (Prepare re-reads the day it shows; a batch
            # ends with a reload): only the rows that differ change. A model reset would
            # repaint the whole table, the longest stall of a batch's start.
            for position, (old, new) in enumerate(zip(self._rows, ordered, strict=True)):
                if old != new:
                    self._rows[position] = new
                    self._texts.pop(position, None)
                    self._dirty.add(position)
            self.flush()
            return
        self.beginResetModel()
        self._rows = ordered
        self._position = {r.patient_id: i for i, r in enumerate(self._rows)}
        self._texts.clear()
        self._dirty.clear()
        self.endResetModel()

    def row_at(self, position: int) -> DayRow:
        return self._rows[position]

    # Sorting happens here, in Python's list sort, not in the proxy: the proxy would call
    # data() twice per comparison (about 9,000 calls for a 500-patient day, tens of ms).
    # Rows keep their place while a batch updates them; a header click sorts again.
    _sort_column = TIME
    _descending = False

    def _key(self, row: DayRow) -> Any:
        return _sort_key(row, self._sort_column, self.today)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = column if 0 <= column < len(COLUMNS) else TIME
        self._descending = order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[i.row()].patient_id if i.isValid() else None for i in persistent]
        self._rows.sort(key=self._key, reverse=self._descending)
        self._position = {r.patient_id: i for i, r in enumerate(self._rows)}
        self._texts.clear()
        self._dirty.clear()  # layoutChanged repaints every row
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

    def apply_event(self, event: PatientEvent, *, notify: bool = True) -> None:
        """A batch event: update (or append) the patient's row. ``notify=False`` keeps the
        change unannounced until ``flush()`` (a batch sends several events per patient; the
        view repaints once per flush instead of once per event)."""
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
            counts = ScreeningCounts.from_summary(event.summary)
            changes.update(counts=counts, due=counts.action, due_soon=counts.due_soon)
        if event.state is PatientState.FAILED and row.sheet_id is not None:
            changes["stale"] = "this run failed; the sheet shown is from an earlier run"
        elif event.state is PatientState.DONE:
            changes["stale"] = None
            changes["prepared_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        elif event.state is PatientState.SKIPPED:
            changes["stale"] = None
        # Only the columns that change: a change in the sort column makes the proxy re-sort
        # the whole day, hundreds of times a minute during a batch.
        first = SUMMARY if event.summary is not None or "stale" in changes else SHEET
        if notify:
            self.update_row(replace(row, **changes), first_column=first, last_column=REASON)
        else:
            self._rows[position] = replace(row, **changes)
            self._texts.pop(position, None)
            self._dirty.add(position)

    def update_row(
        self, row: DayRow, *, first_column: int = 0, last_column: int = len(COLUMNS) - 1
    ) -> None:
        position = self._position[row.patient_id]
        self._rows[position] = row
        self._texts.pop(position, None)
        self._dirty.discard(position)
        self.dataChanged.emit(self.index(position, first_column), self.index(position, last_column))

    @property
    def pending(self) -> int:
        """Rows changed by ``apply_event(notify=False)`` and not yet flushed."""
        return len(self._dirty)

    def flush(self) -> None:
        """Announce the rows changed since the last flush: one dataChanged per run of
        neighbouring rows (the view repaints just those rows)."""
        if not self._dirty:
            return
        positions = sorted(self._dirty)
        self._dirty.clear()
        start = previous = positions[0]
        for position in [*positions[1:], -2]:
            if position != previous + 1:
                self.dataChanged.emit(self.index(start, 0), self.index(previous, REASON))
                start = position
            previous = position

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

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        # Called about seven times per visible cell per paint: the roles nobody sets leave
        # first, and the texts come from a per-row cache.
        if role in _UNUSED_ROLES or not index.isValid():
            return None
        position = index.row()
        column = index.column()
        if role == _DISPLAY:
            return self._row_texts(position)[column]
        row = self._rows[position]
        if role == _FOREGROUND:
            return _foreground(row, column)
        if role == _FONT:
            if (row.stale and column in (SUMMARY, PREPARED)) or row.visit_change == CANCELLED_VISIT:
                font = QFont()
                font.setItalic(row.visit_change != CANCELLED_VISIT)
                font.setStrikeOut(row.visit_change == CANCELLED_VISIT)
                return font
            return None
        if role == SORT_ROLE:
            return _sort_key(row, column, self.today)
        if role == ROW_ROLE:
            return row
        if role == _TOOLTIP:
            return _tooltip(row, column)
        if role == _ACCESSIBLE:
            return self._row_texts(position)[column] or "empty"
        return None

    def _row_texts(self, position: int) -> tuple[str, ...]:
        texts = self._texts.get(position)
        if texts is None:
            row = self._rows[position]
            texts = tuple(_display(row, column, self._today) for column in range(len(COLUMNS)))
            self._texts[position] = texts
        return texts


def _tooltip(row: DayRow, column: int) -> str | None:
    if row.reason and column in (SHEET, REASON):
        return f"Failed: {row.reason}" if row.sheet == FAILED else row.reason
    if row.stale and column in (SUMMARY, PREPARED, SHEET):
        return f"Stale: {row.stale}"
    if column == SUMMARY and row.counts is not None:
        return "Screenings on this patient's sheet that ask for something at the visit"
    if column == PATIENT and row.visit_change:
        return f"Visit {row.visit_change} since the schedule was first read"
    return None


def _foreground(row: DayRow, column: int) -> Any:
    """Colour only where the coordinator must act: failures and action items. A ready sheet
    with nothing due stays in the plain text colour."""
    if column == SHEET and row.sheet == FAILED:
        return theme.status_color(Status.DUE)
    if column == SUMMARY and row.counts is not None and not row.stale:
        if row.counts.overdue:
            return theme.status_color(Status.OVERDUE)
        if row.counts.action:
            return theme.status_color(Status.DUE)
        return None
    if column == SUMMARY and row.due and not row.stale:
        return theme.status_color(Status.DUE)
    if column == REASON and row.posted and row.posted.startswith("Not posted"):
        return theme.status_color(Status.DUE)
    return None


def _note(row: DayRow) -> str:
    parts: list[str] = []
    if row.visit_change == ADDED_VISIT:
        parts.append("Added to the schedule")
    elif row.visit_change == CANCELLED_VISIT:
        parts.append("Visit cancelled")
    if row.reason:
        parts.append(row.reason)
    if row.posted and row.posted != "Posted":
        parts.append(row.posted)
    return " · ".join(parts)


def _display(row: DayRow, column: int, today: date) -> str:
    if column == TIME:
        return row.time_text
    if column == PATIENT:
        return row.patient_text
    if column == AGE_SEX:
        return row.age_sex_text(today)
    if column == BIRTH:
        return row.birth_date[:10]
    if column == MRN:
        return row.mrn
    if column == VISIT:
        return row.visit_type
    if column == PROVIDER:
        return row.provider
    if column == SUMMARY:
        return row.summary_text
    if column == SHEET:
        return row.sheet
    if column == PREPARED:
        return row.prepared_text
    return _note(row)


def _sort_key(row: DayRow, column: int, today: date) -> Any:
    if column == TIME:
        return row.start or "~"
    if column == SUMMARY:
        # Most to act on first when sorted descending (Overdue weighs most); unknown below zero.
        if row.counts is not None:
            c = row.counts
            return c.overdue * 1_000_000 + c.action * 1000 + c.due_soon
        return -1 if row.due is None else row.due * 1000 + (row.due_soon or 0)
    if column == PREPARED:
        return row.prepared_at or ""
    if column == BIRTH:
        return row.birth_date or "~"
    return _display(row, column, today).casefold()


class ScheduleFilter(QSortFilterProxyModel):
    """Text filter over patient, MRN, provider, visit type and note; a status filter; and a
    provider filter."""

    ALL = "All patients"
    NOT_READY = "Not ready"
    FAILED_ONLY = "Failed"
    DUE_ONLY = "Anything to act on"
    OVERDUE_ONLY = "Overdue"
    NOT_AT_GOAL_ONLY = "Not at goal"
    FOLLOW_UP_ONLY = "Follow-up needed"
    STALE_ONLY = "Stale"
    CHANGED_ONLY = "Added or cancelled"
    MODES = (
        ALL,
        NOT_READY,
        FAILED_ONLY,
        DUE_ONLY,
        OVERDUE_ONLY,
        NOT_AT_GOAL_ONLY,
        FOLLOW_UP_ONLY,
        STALE_ONLY,
        CHANGED_ONLY,
    )
    ANY_PROVIDER = ""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)
        self._text = ""
        self._mode = self.ALL
        self._provider = self.ANY_PROVIDER

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().casefold()))

    def set_mode(self, mode: str) -> None:
        self._refilter(lambda: setattr(self, "_mode", mode))

    def set_provider(self, provider: str) -> None:
        self._refilter(lambda: setattr(self, "_provider", provider))

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
        if self._mode == self.ALL and not self._text and not self._provider:
            return True  # the common case, called for every row a batch event touches
        model = self.sourceModel()
        assert isinstance(model, ScheduleModel)
        row = model.row_at(source_row)
        if self._provider and row.provider != self._provider:
            return False
        if not _mode_accepts(self._mode, row):
            return False
        if not self._text:
            return True
        haystack = " ".join(
            (
                row.patient_text,
                row.provider,
                row.patient_id,
                row.mrn,
                row.visit_type,
                row.reason or "",
                row.time_text,
            )
        ).casefold()
        return self._text in haystack


def _mode_accepts(mode: str, row: DayRow) -> bool:
    counts = row.counts or ScreeningCounts()
    checks: dict[str, Callable[[], bool]] = {
        ScheduleFilter.FAILED_ONLY: lambda: row.sheet == FAILED,
        ScheduleFilter.DUE_ONLY: lambda: bool(row.due),
        ScheduleFilter.NOT_READY: lambda: row.sheet != READY,
        ScheduleFilter.OVERDUE_ONLY: lambda: counts.overdue > 0,
        ScheduleFilter.NOT_AT_GOAL_ONLY: lambda: counts.not_at_goal > 0,
        ScheduleFilter.FOLLOW_UP_ONLY: lambda: counts.follow_up > 0,
        ScheduleFilter.STALE_ONLY: lambda: bool(row.stale),
        ScheduleFilter.CHANGED_ONLY: lambda: bool(row.visit_change),
    }
    check = checks.get(mode)
    return True if check is None else check()


def day_totals(rows: list[DayRow]) -> ScreeningCounts:
    """The day's patients with each kind of action item (a patient counts once per kind)."""
    totals = [0, 0, 0, 0, 0]
    for row in rows:
        c = row.counts
        if c is None or row.visit_change == CANCELLED_VISIT:
            continue
        for i, n in enumerate((c.overdue, c.due, c.due_soon, c.not_at_goal, c.follow_up)):
            totals[i] += 1 if n else 0
    return ScreeningCounts(*totals)


__all__ = ["COLUMNS", "NOT_PREPARED", "ScheduleFilter", "ScheduleModel", "day_totals"]
