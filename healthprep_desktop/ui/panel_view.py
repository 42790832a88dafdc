"""The Panel view, for quality coordinators: the whole panel's stored screening at a glance.

Three tabs over one set of filters (connection, measurement year, status, screening, measure):
- Patients: one row per patient per screening (name from this computer's stored charts, status,
  last done, next due, why), fetched a page at a time as the user scrolls; double-click opens
  the patient's newest sheet when there is one;
- Screenings: the status distribution per screening (stacked bars) above the same numbers as a
  table;
- Measures: the performance rate per measure against the previous year (paired bars) above the
  populations, rates and change as a table.
Below, the export buttons (``panel_export_bar``) and, where the panel package is installed,
"Screen the whole panel".

Everything that reads the store runs in a worker thread (``ui.tasks``); the window only lays
out what comes back. The parts exchange value objects (``PanelOverview``, ``PanelFilter``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import gc_guard, tasks
from healthprep_desktop.ui.panel_charts import DrawnBar, RateChart, RatePair, StatusBar, StatusChart
from healthprep_desktop.ui.panel_data import (
    GROUP_LABELS,
    STATUS_ORDER,
    PanelFilter,
    PanelOverview,
    PanelTotals,
    RowSource,
    overview_of,
    read_totals,
    tally,
)
from healthprep_desktop.ui.panel_export_bar import ExportBar
from healthprep_desktop.ui.panel_exports import ExportTarget
from healthprep_desktop.ui.panel_model import (
    PATIENT,
    WHY,
    MeasureTableModel,
    PanelRowsModel,
    StatusCountsModel,
)
from healthprep_desktop.ui.panel_screening import PanelOutcome, ScreenPanelButton
from healthprep_desktop.ui.panel_widgets import (
    chart_page,
    filter_combo,
    labelled,
    local_time,
    set_items,
    table_view,
)
from healthprep_desktop.ui.patient_names import PatientNames
from healthprep_desktop.ui.session import AppSession, describe_error
from healthprep_desktop.ui.window_fit import fit_to_screen

if TYPE_CHECKING:
    from healthprep_desktop.store import TenantScope

ALL = "All"
PATIENTS_TAB, SCREENINGS_TAB, MEASURES_TAB = range(3)
DEFAULT_SIZE = (1200, 720)
TITLE_WIDTH = 280  # the measure table's title column, at most
NO_RESULTS = (
    "No panel results stored for this connection yet. Screen the whole panel first "
    "(healthprep-desktop panel, or the button below)."
)


class PanelView(QMainWindow):
    overview_loaded = Signal(object)  # PanelOverview, or None without a connection
    rows_loaded = Signal(int)  # rows in the patient table after each page
    screened = Signal(object)  # PanelOutcome of "Screen whole panel"
    walk_progress = Signal(int, int)  # patients read, patients stored (from the walk's thread)

    def __init__(
        self,
        session: AppSession,
        parent: QWidget | None = None,
        *,
        track: Callable[[QWidget], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Panel · {session.tenant_name}")
        self.setObjectName("panelView")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.session = session
        self.scope: TenantScope = session.scope
        self.track = track
        self.overview: PanelOverview | None = None
        self.names = PatientNames()
        self._load_task: asyncio.Task[Any] | None = None
        self._totals: PanelTotals | None = None
        self._stale_tabs: set[int] = set()
        self._rows_key: tuple[int, PanelFilter] | None = None
        self._walk_generation = 0

        self.connection = filter_combo("panelConnection", "Connection")
        self.year = filter_combo("panelYear", "Measurement year")
        self.year.setMinimumContentsLength(5)
        self.status = filter_combo("panelStatus", "Status")
        self.screening = filter_combo("panelScreening", "Screening")
        self.measure = filter_combo("panelMeasure", "Measure")
        self.not_met = QCheckBox("N&ot met only")
        self.not_met.setObjectName("panelNotMet")
        self.not_met.setToolTip(
            "With a measure chosen: only patients in its denominator who are not in its "
            "numerator and have no exclusion or exception"
        )
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setObjectName("panelRefresh")
        self.refresh_button.setToolTip("Read the stored panel results again (F5)")
        self.refresh_button.clicked.connect(self.reload)
        self.summary = QLabel()
        self.summary.setObjectName("panelSummary")
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        top = QHBoxLayout()
        top.addWidget(labelled("Co&nnection:", self.connection))
        top.addWidget(self.connection)
        top.addWidget(labelled("&Year:", self.year))
        top.addWidget(self.year)
        top.addWidget(self.refresh_button)
        top.addWidget(self.summary, 1)
        filters = QHBoxLayout()
        filters.addWidget(labelled("&Status:", self.status))
        filters.addWidget(self.status)
        filters.addWidget(labelled("Scr&eening:", self.screening))
        filters.addWidget(self.screening)
        filters.addWidget(labelled("&Measure:", self.measure))
        filters.addWidget(self.measure)
        filters.addWidget(self.not_met)
        filters.addStretch(1)

        self.rows = PanelRowsModel(self)
        self.table = table_view("panelTable")
        self.table.setModel(self.rows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in ((PATIENT, 220), (1, 170), (2, 120), (3, 90), (4, 90)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(WHY, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(self._open_row)  # double-click, or Enter
        self.table.setToolTip("Double-click a row (or press Enter) to open the newest sheet")
        self.count_label = QLabel()
        self.count_label.setObjectName("panelCount")
        patients = QWidget()
        patients_layout = QVBoxLayout(patients)
        patients_layout.setContentsMargins(0, 0, 0, 0)
        patients_layout.addWidget(self.table, 1)
        patients_layout.addWidget(self.count_label)

        self.status_chart = StatusChart()
        self.status_counts = StatusCountsModel(self)
        self.status_table = table_view("panelStatusTable")
        self.status_table.setModel(self.status_counts)
        self.status_table.horizontalHeader().setStretchLastSection(False)
        self.rate_chart = RateChart()
        self.measure_model = MeasureTableModel(self)
        self.measure_table = table_view("panelMeasureTable")
        self.measure_table.setModel(self.measure_model)
        self.measure_table.horizontalHeader().setStretchLastSection(False)
        self.status_chart.bar_activated.connect(self._status_bar_chosen)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("panelTabs")
        self.tabs.addTab(patients, "&Patients")
        self.tabs.addTab(chart_page(self.status_chart, self.status_table), "S&creenings")
        self.tabs.addTab(chart_page(self.rate_chart, self.measure_table), "Me&asures")
        self.tabs.currentChanged.connect(self._draw_tab)

        self.export_bar = ExportBar(self)
        self.export_bar.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.screen_button = ScreenPanelButton(session, self.connection_id)
        self.screen_button.started.connect(lambda: self.connection.setEnabled(False))
        self.screen_button.message.connect(lambda line: self.statusBar().showMessage(line))
        self.screen_button.screened.connect(self._screened)
        self.export_bar.extra.addWidget(self.screen_button)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.export_bar)
        self.setCentralWidget(central)

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.reload)
        close = QAction("Close", self)
        close.setShortcut(QKeySequence("Ctrl+W"))
        close.triggered.connect(self.close)
        self.addAction(refresh)
        self.addAction(close)

        self._fill_connections()
        self.connection.currentIndexChanged.connect(lambda _i: self.reload())
        self.year.currentIndexChanged.connect(lambda _i: self._year_chosen())
        self.walk_progress.connect(self._show_walk_progress)
        for combo in (self.status, self.screening, self.measure):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.not_met.toggled.connect(lambda _on: self.apply_filter())
        self.rows.fetched.connect(self._rows_fetched)
        self.rows.failed.connect(
            lambda exc: self.statusBar().showMessage(f"Could not read: {describe_error(exc)}")
        )
        fit_to_screen(self, *DEFAULT_SIZE)
        self.reload()

    # Connection and year ----------------------------------------------------------------------

    def _fill_connections(self) -> None:
        stored = self.session.stored_connections()
        default = self.session.default_connection()
        items = [(c.name, c.id) for c in stored]
        set_items(self.connection, items, default.id if default else None)
        self.connection.setEnabled(len(items) > 1)

    def connection_id(self) -> int | None:
        data = self.connection.currentData()
        return int(data) if data is not None else None

    def current_filter(self) -> PanelFilter:
        measure = self.measure.currentData() or None
        return PanelFilter(
            status=self.status.currentData() or None,
            screening_id=self.screening.currentData() or None,
            measure=measure,
            not_met_only=bool(measure) and self.not_met.isChecked(),
            # The year matters to a measure filter only (and is known once the walk is done).
            year=self.overview.year if self.overview and measure else None,
        )

    # Loading ----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Walk the stored panel in a thread (counters only), then show the overview and the
        first page of rows. A reload started meanwhile stops the older walk."""
        self._walk_generation += 1
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        connection_id = self.connection_id()
        if connection_id is None:
            self._totals = None
            self._show_overview(None)
            return
        self.summary.setText("Reading the stored panel…")
        self.refresh_button.setEnabled(False)
        generation = self._walk_generation
        self.apply_filter(again=True)  # the first page need not wait for the whole walk

        def progress(read: int, total: int) -> None:
            # In the walk's thread: stop a superseded walk; else a queued note to the window.
            if not shiboken6.isValid(self) or generation != self._walk_generation:
                raise asyncio.CancelledError
            with contextlib.suppress(RuntimeError):
                self.walk_progress.emit(read, total)

        async def walk() -> PanelTotals:
            # Full garbage-collector passes wait until the walk ends (ui.gc_guard): tens of
            # thousands of decoded results would make each one a visible stall.
            gc_guard.busy(True)
            try:
                return await asyncio.to_thread(read_totals, self.scope, connection_id, progress)
            finally:
                gc_guard.busy(False)

        self._load_task = tasks.start(
            walk(),
            on_done=lambda totals: self._walked(generation, totals),
            on_error=self._load_failed,
            name="panel-overview",
            owner=self,
        )

    def _show_walk_progress(self, read: int, total: int) -> None:
        if not self.refresh_button.isEnabled():
            self.summary.setText(f"Reading the stored panel… {read:,} of {total:,} patients")

    def _walked(self, generation: int, totals: PanelTotals) -> None:
        if generation != self._walk_generation:
            return
        self._totals = totals
        self._show_overview(overview_of(totals, self.year.currentData() or None))

    def _year_chosen(self) -> None:
        """Another measurement year: the counters are all there, only the words change."""
        if self._totals is None:
            self.reload()
            return
        self._show_overview(overview_of(self._totals, self.year.currentData() or None))

    def _load_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.summary.setText(f"Could not read the panel: {describe_error(exc)}")

    def _show_overview(self, overview: PanelOverview | None) -> None:
        self.refresh_button.setEnabled(True)
        self.overview = overview
        if overview is None:
            self.summary.setText("No EHR connection yet: set one up in Clinic ▸ Connections.")
        else:
            self.summary.setText(self._summary_text(overview))
        self._fill_filters(overview)
        self.status_counts.set_overview(overview)
        self.measure_model.set_rows(overview.measures if overview else [])
        # The charts and column widths of a hidden tab are drawn when it is shown (a large
        # library has hundreds of bars: no reason to stall the window for an unseen tab).
        self._stale_tabs = {SCREENINGS_TAB, MEASURES_TAB}
        self._draw_tab(self.tabs.currentIndex())
        self.export_bar.set_target(
            ExportTarget(self.scope, overview.connection_id)
            if overview is not None and overview.patients
            else None
        )
        self.overview_loaded.emit(overview)
        self.apply_filter()

    def _summary_text(self, overview: PanelOverview) -> str:
        if not overview.patients:
            return NO_RESULTS
        text = f"{overview.patients:,} patients screened"
        run = overview.last_run
        if run is not None:
            text += f"; last panel run {run.state} {local_time(run.updated_at)}"
        return text + "."

    def _fill_filters(self, overview: PanelOverview | None) -> None:
        years = overview.years if overview else []
        set_items(self.year, [(y, y) for y in years], overview.year if overview else None)
        self.year.setEnabled(bool(years))
        statuses = overview.statuses_present() if overview else []
        set_items(
            self.status,
            [(f"{ALL} statuses", None)]
            + [(text, key) for key, text in GROUP_LABELS.items()]
            + [(s.label, s.value) for s in statuses],
            self.status.currentData(),
        )
        names = overview.screening_names if overview else {}
        screenings = [(n, sid) for sid, n in names.items()]
        set_items(
            self.screening,
            [(f"{ALL} screenings", None), *sorted(screenings, key=lambda i: i[0].casefold())],
            self.screening.currentData(),
        )
        measures = overview.measure_ids() if overview else []
        set_items(
            self.measure,
            [(f"{ALL} patients", None)] + [(cms, cms) for cms in measures],
            self.measure.currentData(),
        )
        self.measure.setEnabled(bool(measures))

    def _status_bars(self, overview: PanelOverview | None) -> list[StatusBar]:
        if overview is None:
            return []
        return [
            StatusBar(sid, overview.screening_names.get(sid, sid), tuple(tally(counts)))
            for sid, counts in sorted(
                overview.status_counts.items(),
                key=lambda item: overview.screening_names.get(item[0], item[0]).casefold(),
            )
        ]

    def _draw_tab(self, index: int) -> None:
        if index not in self._stale_tabs:
            return
        self._stale_tabs.discard(index)
        if index == SCREENINGS_TAB:
            self.status_table.resizeColumnsToContents()
            self.status_chart.set_data(self._status_bars(self.overview), STATUS_ORDER)
        elif index == MEASURES_TAB:
            self._show_measures(self.overview)

    def _show_measures(self, overview: PanelOverview | None) -> None:
        rows = overview.measures if overview else []
        self.measure_table.resizeColumnsToContents()
        # Titles are long: the numbers stay in sight, the whole title is in the tooltip.
        title_width = min(self.measure_table.columnWidth(1), TITLE_WIDTH)
        self.measure_table.setColumnWidth(1, title_width)
        pairs = [
            RatePair(r.key, f"{r.key} {r.title}", r.line.performance_rate, r.previous_rate)
            for r in rows
        ]
        year = overview.year or "" if overview else ""
        previous = (overview.previous_year or "") if overview else ""
        self.rate_chart.set_data(pairs, year, previous)

    # Filters and the patient table ------------------------------------------------------------

    def apply_filter(self, *, again: bool = False) -> None:
        """Show the rows the filters ask for; the same filter on the same connection keeps
        the rows already read, unless ``again`` (the stored panel may have changed)."""
        self.not_met.setEnabled(bool(self.measure.currentData()))
        connection_id = self.connection_id()
        overview = self.overview
        if connection_id is None or (overview is not None and not overview.patients):
            self._rows_key = None
            self.rows.start(None)
            self.count_label.setText("")
            return
        key = (connection_id, self.current_filter())
        if key == self._rows_key and not again:
            return
        self._rows_key = key
        self.count_label.setText("Reading…")
        self.rows.start(RowSource(self.scope, connection_id, key[1], self.names))

    def _rows_fetched(self, count: int) -> None:
        more = "" if self.rows.complete else " so far; scroll down for more"
        if count == 0 and self.rows.complete:
            self.count_label.setText("No patient matches these filters.")
        else:
            self.count_label.setText(f"{count:,} rows{more}.")
        self.rows_loaded.emit(count)

    def _status_bar_chosen(self, bar: DrawnBar) -> None:
        """A click on a status segment: that screening's patients with that status."""
        for combo, data in ((self.screening, bar.row), (self.status, bar.series)):
            index = combo.findData(data)
            if index >= 0:
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)
        self.tabs.setCurrentIndex(PATIENTS_TAB)
        self.apply_filter()

    def choose(self, *, status: Status | None = None, screening_id: str | None = None) -> None:
        """Set the status and screening filters (keyboard users, tests)."""
        for combo, data in (
            (self.status, status.value if status else None),
            (self.screening, screening_id),
        ):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(data), 0))
            combo.blockSignals(False)
        self.apply_filter()

    # Screening the whole panel ----------------------------------------------------------------

    def _screened(self, outcome: PanelOutcome) -> None:
        self.connection.setEnabled(self.connection.count() > 1)
        self.screened.emit(outcome)
        self.reload()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.screen_button.run.stop()  # stops between patients; what is screened is kept
        super().closeEvent(event)

    # Sheets -----------------------------------------------------------------------------------

    def _open_row(self, index: QModelIndex) -> None:
        row = self.rows.row_at(index.row())
        if row is None:
            return
        scope, patient_id, title = self.scope, row.patient_id, row.patient_text

        def newest() -> Any:
            infos = scope.sheets.all(patient_id=patient_id)
            return scope.sheets.get(infos[-1].id) if infos else None

        tasks.start(
            asyncio.to_thread(newest),
            on_done=lambda sheet: self._show_sheet(sheet, title),
            on_error=lambda exc: self.statusBar().showMessage(describe_error(exc)),
            name="panel-open-sheet",
            owner=self,
        )

    def _show_sheet(self, sheet: Any, title: str) -> None:
        if sheet is None:
            self.statusBar().showMessage(
                "No sheet for this patient yet: the panel stores statuses, not sheets.", 10000
            )
            return
        from healthprep_desktop.ui.sheet_viewer import SheetViewer

        heading = f"{title} · {sheet.info.clinic_day:%a %d %b %Y}"
        viewer = SheetViewer.for_sheet(
            self.session.store,
            self.scope,
            sheet,
            title=heading,
            ehr_user=self.session.ehr_user(),
        )
        if self.track is not None:
            self.track(viewer)
        else:
            viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            viewer.setParent(self, viewer.windowFlags())
        viewer.show()


def open_panel(window: Any) -> PanelView | None:
    """View ▸ Panel from the main window: one Panel view per window, raised if open."""
    if window.session.tenant_id is None:
        return None
    for child in window.child_windows():
        if isinstance(child, PanelView):
            child.raise_()
            child.activateWindow()
            return child
    view = PanelView(window.session, window, track=window.track)
    window.track(view)
    view.show()
    return view


__all__ = ["STATUS_ORDER", "PanelView", "open_panel"]
