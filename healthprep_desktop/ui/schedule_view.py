"""The schedule view: filters (text, status, provider), the day's action counts, the table of
patients with its context menu, and the empty-day hint."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import theme
from healthprep_desktop.ui.day_rows import DayRow
from healthprep_desktop.ui.schedule_model import (
    AGE_SEX,
    BIRTH,
    MRN,
    PATIENT,
    PREPARED,
    PROVIDER,
    ROW_ROLE,
    SHEET,
    SUMMARY,
    TIME,
    VISIT,
    ScheduleFilter,
    ScheduleModel,
    day_totals,
)

ALL_PROVIDERS = "All providers"
_WIDTHS = {TIME: 56, PATIENT: 180, AGE_SEX: 62, BIRTH: 90, MRN: 90, VISIT: 120, PROVIDER: 140,
           SUMMARY: 210, SHEET: 110, PREPARED: 100}  # fmt: skip
# The day's counts, in the order a coordinator works them; colour only where action is needed.
TOTALS = (
    ("overdue", "Overdue", Status.OVERDUE),
    ("due", "Due", Status.DUE),
    ("due_soon", "Due soon", None),
    ("not_at_goal", "Not at goal", Status.NOT_AT_GOAL),
    ("follow_up", "Follow-up", Status.FOLLOW_UP_NEEDED),
)


class ScheduleView(QWidget):
    def __init__(self, model: ScheduleModel, proxy: ScheduleFilter, parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.proxy = model, proxy
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filter")
        self.filter_edit.setPlaceholderText("Filter by patient, MRN, provider or visit (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(proxy.set_text)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("filterMode")
        self.mode_combo.addItems(list(ScheduleFilter.MODES))
        self.mode_combo.currentTextChanged.connect(proxy.set_mode)
        mode_label = QLabel("&Status:")
        mode_label.setBuddy(self.mode_combo)
        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("providerFilter")
        self.provider_combo.addItem(ALL_PROVIDERS, "")
        self.provider_combo.currentIndexChanged.connect(self._provider_chosen)
        provider_label = QLabel("Pro&vider:")
        provider_label.setBuddy(self.provider_combo)
        self.count_label = QLabel()
        self.count_label.setObjectName("rowCount")
        filters.addWidget(self.filter_edit, 3)
        filters.addWidget(mode_label)
        filters.addWidget(self.mode_combo, 1)
        filters.addWidget(provider_label)
        filters.addWidget(self.provider_combo, 1)
        filters.addWidget(self.count_label)
        layout.addLayout(filters)
        totals = QHBoxLayout()
        self.total_labels: dict[str, QLabel] = {}
        for key, _title, _status in TOTALS:
            label = QLabel()
            label.setObjectName(f"total_{key}")
            totals.addWidget(label)
            self.total_labels[key] = label
        totals.addStretch(1)
        layout.addLayout(totals)
        self.table = QTableView()
        self.table.setObjectName("schedule")
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TIME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.hide()
        # Compact rows: one text line and a little air (the default is ~30 px at 1x).
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in _WIDTHS.items():
            self.table.setColumnWidth(column, width)
        self.table.setAccessibleName("The day's patients")
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("emptyHint")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        layout.addWidget(self.empty_label)
        self.row_actions: list[QAction] = []  # the context menu's, set by the window
        # Parts of the menu made per row (e.g. marking a screening), set by the window.
        self.row_menu_parts: list[Callable[[QMenu, DayRow], object]] = []
        for signal in (proxy.rowsInserted, proxy.rowsRemoved, proxy.modelReset):
            signal.connect(self.update_counts)
        proxy.layoutChanged.connect(self.update_counts)
        model.dataChanged.connect(self._data_changed)
        self._totals_dirty = False

    # Rows ------------------------------------------------------------------------------

    def selected_row(self) -> DayRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row: DayRow = self.proxy.data(index, ROW_ROLE)
        return row

    def visible_rows(self) -> list[DayRow]:
        return [
            self.proxy.data(self.proxy.index(r, 0), ROW_ROLE) for r in range(self.proxy.rowCount())
        ]

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.setCurrentIndex(index)
        menu = self.context_menu()
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        menu = QMenu(self.table)
        menu.setObjectName("rowMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for action in self.row_actions:
            menu.addAction(action)
        row = self.selected_row()
        if row is not None:
            for part in self.row_menu_parts:
                part(menu, row)
        return menu

    # Providers and counts ----------------------------------------------------------------

    def _provider_chosen(self, index: int) -> None:
        self.proxy.set_provider(str(self.provider_combo.itemData(index) or ""))

    def refresh_providers(self) -> None:
        """The provider filter lists the day's providers; the choice survives a reload."""
        chosen = str(self.provider_combo.currentData() or "")
        names = sorted({r.provider for r in self.model.rows() if r.provider}, key=str.casefold)
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        self.provider_combo.addItem(ALL_PROVIDERS, "")
        for name in names:
            self.provider_combo.addItem(name, name)
        index = self.provider_combo.findData(chosen) if chosen else 0
        self.provider_combo.setCurrentIndex(max(index, 0))
        self.provider_combo.blockSignals(False)
        self.proxy.set_provider(str(self.provider_combo.currentData() or ""))

    def _data_changed(self, *_: object) -> None:
        # A batch changes hundreds of rows a minute: recount at most four times a second.
        if not self._totals_dirty:
            self._totals_dirty = True
            QTimer.singleShot(250, self, self.update_counts)  # dropped if the view is gone

    def update_counts(self, *_: object) -> None:
        self._totals_dirty = False
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} patients")
        totals = day_totals(self.model.rows())
        for key, title, status in TOTALS:
            n = int(getattr(totals, key))
            label = self.total_labels[key]
            text = f"{title}: {n}"
            if label.text() == text:
                continue  # unchanged: a style sheet set again re-polishes the label for nothing
            label.setText(text)
            colour = theme.status_color(status) if status is not None and n else None
            label.setStyleSheet(
                f"color: {colour.name()}; font-weight: bold;" if colour is not None else ""
            )
            label.setToolTip(f"Patients with at least one screening {title.lower()}")

    def show_hint(self, text: str | None) -> None:
        if text is None:
            self.empty_label.hide()
        else:
            self.empty_label.setText(text)
            self.empty_label.show()
