"""The Panel view's Qt table models: the lazy patient table and the two tables of numbers that
stand beside the charts (status counts per screening, measure populations and rates).

``PanelRowsModel`` is lazy: Qt's views call ``canFetchMore``/``fetchMore`` as the user scrolls
near the end, and each fetch reads the next page of filtered rows in a worker thread
(``panel_data.RowSource``); a 20,000-patient panel is never loaded at once. A new filter starts
a new walk; a page from an older walk that arrives late is dropped (the generation counter).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import tasks, theme
from healthprep_desktop.ui.panel_charts import percent
from healthprep_desktop.ui.panel_data import (
    PAGE_SIZE,
    MeasureRow,
    PanelOverview,
    PanelRow,
    RowSource,
    tally,
)

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

PATIENT_COLUMNS = ("Patient", "Screening", "Status", "Last done", "Next due", "Why")
PATIENT, SCREENING, STATUS, LAST_DONE, NEXT_DUE, WHY = range(len(PATIENT_COLUMNS))


def _day(value: date | None) -> str:
    return value.isoformat() if value else "—"


class PanelRowsModel(QAbstractTableModel):
    fetched = Signal(int)  # rows now loaded (after each page)
    failed = Signal(object)  # the exception of a failed page

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[PanelRow] = []
        self._source: RowSource | None = None
        self._fetching = False
        self._generation = 0
        self.page_size = PAGE_SIZE

    # Loading ----------------------------------------------------------------------------------

    def start(self, source: RowSource | None) -> None:
        """Show ``source``'s rows from the first page (None: nothing, e.g. no connection)."""
        self.beginResetModel()
        self._generation += 1
        self._rows = []
        self._source = source
        self._fetching = False
        self.endResetModel()
        if source is not None:
            self.fetchMore(QModelIndex())

    @property
    def complete(self) -> bool:
        return self._source is None or self._source.exhausted

    @property
    def loading(self) -> bool:
        return self._fetching

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's
        if parent.isValid() or self._source is None:
            return False
        return not self._source.exhausted and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt's
        if not self.canFetchMore(parent):
            return
        source, generation = self._source, self._generation
        assert source is not None
        self._fetching = True
        tasks.start(
            asyncio.to_thread(source.next_page, self.page_size),
            on_done=lambda rows: self._arrived(generation, rows),
            on_error=lambda exc: self._lost(generation, exc),
            name="panel-rows",
            owner=self,
        )

    def _arrived(self, generation: int, rows: list[PanelRow]) -> None:
        if generation != self._generation:
            return  # a page of an earlier filter
        self._fetching = False
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.fetched.emit(len(self._rows))

    def _lost(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._fetching = False
        if self._source is not None:
            self._source.exhausted = True  # no retry loop on a broken read
        self.failed.emit(exc)

    # Reading ----------------------------------------------------------------------------------

    def row_at(self, row: int) -> PanelRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rows(self) -> list[PanelRow]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(PATIENT_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return PATIENT_COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                row.patient_text,
                row.screening,
                row.status.label,
                _day(row.last_done),
                _day(row.next_due),
                row.explanation,
            )
            return values[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return theme.status_color(row.status)
        if role == Qt.ItemDataRole.ToolTipRole and column in (WHY, STATUS):
            return "\n".join((row.explanation, *row.flags)) or None
        if role == ROW_ROLE:
            return row
        return None


class StatusCountsModel(QAbstractTableModel):
    """The status chart's numbers: one row per screening, one column per status, and total."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._names: list[tuple[str, str]] = []
        self._statuses: list[Status] = []
        self._counts: dict[str, dict[Status, int]] = {}

    def set_overview(self, overview: PanelOverview | None) -> None:
        self.beginResetModel()
        if overview is None:
            self._names, self._statuses, self._counts = [], [], {}
        else:
            self._statuses = overview.statuses_present()
            self._counts = {
                sid: dict(tally(counts)) for sid, counts in overview.status_counts.items()
            }
            # In the chart's order: by screening name.
            self._names = sorted(
                ((sid, overview.screening_names.get(sid, sid)) for sid in overview.status_counts),
                key=lambda item: item[1].casefold(),
            )
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._names)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._statuses) + 2

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section == 0:
            return "Screening"
        if section == len(self._statuses) + 1:
            return "Patients"
        return self._statuses[section - 1].label

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        sid, name = self._names[index.row()]
        counts = self._counts.get(sid, {})
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return name
            if column == len(self._statuses) + 1:
                return str(sum(counts.values()))
            return str(counts.get(self._statuses[column - 1], 0))
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def count(self, screening_id: str, status: Status) -> int:
        return self._counts.get(screening_id, {}).get(status, 0)


MEASURE_COLUMNS = (
    "Measure",
    "Title",
    "Initial population",
    "Denominator",
    "Exclusions",
    "Exceptions",
    "Numerator",
    "Rate",
    "Last year",
    "Change",
)
_POPULATION_CODES = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
)


def change_text(change: float | None) -> str:
    if change is None:
        return "—"
    points = change * 100
    if abs(points) < 0.05:
        return "no change"
    return f"{'up' if points > 0 else 'down'} {abs(points):.1f} points"


class MeasureTableModel(QAbstractTableModel):
    """The rate chart's numbers: populations, this year's rate, last year's and the change."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[MeasureRow] = []

    def set_rows(self, rows: list[MeasureRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def measure_rows(self) -> list[MeasureRow]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(MEASURE_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return MEASURE_COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        line = row.line
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.key
            if column == 1:
                return row.title
            if column < 2 + len(_POPULATION_CODES):
                return str(line.populations.get(_POPULATION_CODES[column - 2], 0))
            return (
                percent(line.performance_rate),
                percent(row.previous_rate),
                change_text(row.change),
            )[column - 2 - len(_POPULATION_CODES)]
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return line.title
        return None


__all__ = [
    "MEASURE_COLUMNS",
    "PATIENT_COLUMNS",
    "ROW_ROLE",
    "MeasureTableModel",
    "PanelRowsModel",
    "StatusCountsModel",
    "change_text",
]
