"""The main window: clinic, day, the day's schedule, "Prepare sheets" and its progress, the
connection indicator, sheet review, and the way to the admin dialogs.

Every slow step is a coroutine (``ui.tasks``): store reads of a whole day and PDF work go to a
thread, the batch runs on the loop with its CPU work in the workers' process pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, date, datetime
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop import APP_NAME, paths
from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.fhir.schedule import fetch_day_appointments
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.settings import IDLE_LOCK_MINUTES, TIME_ZONE
from healthprep_desktop.store import AuditAction, Connection
from healthprep_desktop.ui import day_rows, gc_guard, tasks
from healthprep_desktop.ui.batch_panel import BatchPanel
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.connection_status import (
    ConnectionBanner,
    banner_message,
    indicator_text,
)
from healthprep_desktop.ui.day_rows import DayRow, ScheduledPatient
from healthprep_desktop.ui.demo import DemoRunner
from healthprep_desktop.ui.idle_lock import IdleWatcher, LockScreen
from healthprep_desktop.ui.login import is_demo, sign_in
from healthprep_desktop.ui.schedule_model import (
    ROW_ROLE,
    TIME,
    ScheduleFilter,
    ScheduleModel,
)
from healthprep_desktop.ui.session import AppSession, StatusRelay, describe_error
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from healthprep_desktop.workers.events import JobProgress, PatientEvent

log = logging.getLogger(__name__)

STATUS_REFRESH_MS = 30_000  # the indicator and banner follow the clock (token expiry)


def window_settings() -> QSettings:
    """Geometry only (never PHI), beside the store so a profile (HEALTHPREP_HOME) keeps its own."""
    return QSettings(str(paths.data_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    day_loaded = Signal()  # the table shows the chosen day (store, and schedule when online)
    batch_finished = Signal(object)  # BatchSummary or the exception
    demo_ready = Signal(object)  # the demo connection id, or the exception
    closed = Signal()  # the window accepted a close: the application may end

    def __init__(
        self,
        session: AppSession,
        *,
        today: date | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.setWindowTitle(APP_NAME)
        self._qsettings = settings or window_settings()
        self._children: list[QWidget] = []
        self._schedule: dict[tuple[str, date], list[ScheduledPatient]] = {}
        self._load_task: asyncio.Task[Any] | None = None
        self._opening: asyncio.Task[Any] | None = None
        self._batch_controls_busy = False
        self._relay = StatusRelay(self)
        self._relay.changed.connect(self._status_changed)
        self._watched_connection: int | None = None
        self.locked = False
        self.demo = DemoRunner(session)

        self.model = ScheduleModel(self)
        self.proxy = ScheduleFilter(self)
        self.proxy.setSourceModel(self.model)
        self.runner = BatchRunner(self)
        self.runner.patient_changed.connect(self._patient_event)
        self.runner.progress.connect(self._progress)
        self.runner.reconnect_needed.connect(self._reconnect_needed)
        self.runner.finished.connect(self._batch_done)
        self.runner.failed.connect(self._batch_failed)

        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_menus()
        self.connection_label = QLabel()
        self.connection_label.setTextFormat(Qt.TextFormat.PlainText)  # may carry EHR text
        self.connection_label.setObjectName("connectionIndicator")
        self.statusBar().addPermanentWidget(self.connection_label)

        self.date_edit.setDate(_qdate(day_rows.next_clinic_day(today or date.today())))
        self.refresh_clinics()
        self.date_edit.dateChanged.connect(lambda _d: self.reload_day())
        self.clinic_combo.currentIndexChanged.connect(self._clinic_chosen)

        self._warmed = False
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self.refresh_connection_status)
        self._status_timer.start(STATUS_REFRESH_MS)
        minutes = session.settings.get(IDLE_LOCK_MINUTES)
        self.idle = IdleWatcher(minutes, self)
        self.idle.idle.connect(self.lock)

        self._restore_geometry()
        if self._uses_demo():
            self.start_demo()  # the sandbox lives in this process: start it again
        else:
            self.refresh_connection_status()
            self.reload_day()

    # Construction -----------------------------------------------------------------------

    def _action(self, text: str, shortcut: Any, slot: Any, name: str, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if isinstance(shortcut, list):
            action.setShortcuts(shortcut)
        elif shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.prepare_action = self._action(
            "&Prepare sheets",
            QKeySequence("Ctrl+R"),
            lambda: self.prepare(),
            "prepare",
            "Fetch every scheduled patient's chart and prepare the sheets (Ctrl+R)",
        )
        self.prepare_again_action = self._action(
            "Prepare &all again",
            QKeySequence("Ctrl+Shift+R"),
            lambda: self.prepare(force=True),
            "prepareAgain",
            "Re-fetch and re-screen every patient, even unchanged ones",
        )
        self.reload_action = self._action(
            "&Reload day",
            QKeySequence(std.Refresh),
            lambda: self.reload_day(online=True),
            "reload",
            "Reload the schedule and sheets (F5)",
        )
        self.open_action = self._action(
            "&Open sheet",
            [QKeySequence("Ctrl+O")],
            self.open_selected,
            "openSheet",
            "Review the selected patient's sheet (Enter)",
        )
        self.print_day_action = self._action(
            "Print the &day…",
            QKeySequence(std.Print),
            self.open_day,
            "printDay",
            "All of the day's sheets in one document, to review and print (Ctrl+P)",
        )
        self.find_action = self._action(
            "&Find patient", QKeySequence(std.Find), self._focus_filter, "find"
        )
        self.lock_action = self._action(
            "&Lock", QKeySequence("Ctrl+L"), self.lock, "lock", "Hide patient data now (Ctrl+L)"
        )
        self.connections_action = self._action(
            "&Connections…", QKeySequence("Ctrl+Shift+C"), self.open_connections, "connections"
        )
        self.library_action = self._action(
            "Screening &library and sheet settings…", None, self.open_library, "library"
        )
        self.audit_action = self._action(
            "&Audit trail…", QKeySequence("Ctrl+Shift+A"), self.open_audit, "audit"
        )
        self.new_clinic_action = self._action("&New clinic…", None, self.new_clinic, "newClinic")
        self.about_action = self._action("&About", None, self.show_about, "about")
        self.quit_action = self._action("&Quit", QKeySequence(std.Quit), self.close, "quit")
        self.previous_day_action = self._action(
            "Previous day", QKeySequence("Alt+Left"), lambda: self._shift_day(-1), "previousDay"
        )
        self.next_day_action = self._action(
            "Next day", QKeySequence("Alt+Right"), lambda: self._shift_day(1), "nextDay"
        )

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.clinic_combo = QComboBox()
        self.clinic_combo.setObjectName("clinicSwitcher")
        self.clinic_combo.setMinimumContentsLength(18)
        self.clinic_combo.setAccessibleName("Clinic")
        clinic_label = QLabel("&Clinic: ")
        clinic_label.setBuddy(self.clinic_combo)
        bar.addWidget(clinic_label)
        bar.addWidget(self.clinic_combo)
        bar.addSeparator()
        self.date_edit = QDateEdit()
        self.date_edit.setObjectName("clinicDay")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.date_edit.setAccessibleName("Clinic day")
        day_label = QLabel(" &Day: ")
        day_label.setBuddy(self.date_edit)
        bar.addWidget(day_label)
        self.previous_day_action.setIconText("◀")
        self.next_day_action.setIconText("▶")
        bar.addAction(self.previous_day_action)
        bar.addWidget(self.date_edit)
        bar.addAction(self.next_day_action)
        bar.addSeparator()
        bar.addAction(self.prepare_action)
        bar.addAction(self.print_day_action)
        bar.addAction(self.reload_action)

    def _build_central(self) -> None:
        self.stack = QStackedWidget()
        page = QWidget()
        layout = QVBoxLayout(page)
        self.banner = ConnectionBanner()
        self.banner.reconnect_requested.connect(self.reconnect)
        layout.addWidget(self.banner)
        filters = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filter")
        self.filter_edit.setPlaceholderText("Filter by patient, provider or reason (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("filterMode")
        self.mode_combo.addItems(list(ScheduleFilter.MODES))
        self.mode_combo.currentTextChanged.connect(self.proxy.set_mode)
        self.count_label = QLabel()
        self.count_label.setObjectName("rowCount")
        filters.addWidget(self.filter_edit, 3)
        filters.addWidget(self.mode_combo, 1)
        filters.addWidget(self.count_label)
        layout.addLayout(filters)
        self.table = QTableView()
        self.table.setObjectName("schedule")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TIME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, 70)
        self.table.setColumnWidth(1, 220)
        self.table.setColumnWidth(2, 180)
        self.table.setColumnWidth(3, 150)
        self.table.setColumnWidth(4, 130)
        self.table.activated.connect(lambda _index: self.open_selected())
        self.table.setAccessibleName("The day's patients")
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("emptyHint")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        layout.addWidget(self.empty_label)
        self.batch_panel = BatchPanel()
        self.batch_panel.pause_requested.connect(self.runner.pause)
        self.batch_panel.resume_requested.connect(self.runner.resume)
        self.batch_panel.cancel_requested.connect(self.runner.cancel)
        layout.addWidget(self.batch_panel)
        self.stack.addWidget(page)
        self.lock_screen = LockScreen(self.session.store)
        self.lock_screen.unlocked.connect(self.unlock)
        self.stack.addWidget(self.lock_screen)
        self.setCentralWidget(self.stack)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.open_action, self.print_day_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.quit_action)
        day_menu = bar.addMenu("&Day")
        for action in (
            self.prepare_action,
            self.prepare_again_action,
            self.reload_action,
            self.find_action,
            self.previous_day_action,
            self.next_day_action,
        ):
            day_menu.addAction(action)
        clinic_menu = bar.addMenu("&Clinic")
        for action in (
            self.connections_action,
            self.library_action,
            self.audit_action,
            self.new_clinic_action,
        ):
            clinic_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    # Window state -----------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self._qsettings.value("main/geometry")
        state = self._qsettings.value("main/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 720)
        if state is not None:
            self.restoreState(state)
        header = self._qsettings.value("main/table")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)

    def save_geometry(self) -> None:
        self._qsettings.setValue("main/geometry", self.saveGeometry())
        self._qsettings.setValue("main/state", self.saveState())
        self._qsettings.setValue("main/table", self.table.horizontalHeader().saveState())
        self._qsettings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._warmed:
            # Start the CPU workers while the coordinator looks at the schedule, so pressing
            # Prepare does not stall the window spawning them.
            self._warmed = True
            tasks.start(self.session.warm_up(), name="warm-up", owner=self)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.running:
            answer = QMessageBox.question(
                self,
                APP_NAME,
                "Sheets are still being prepared. Stop and quit? Finished sheets are kept and "
                "the rest can be prepared later.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.runner.cancel()
        self.save_geometry()
        self.idle.stop()
        # A closed window must not keep polling a store that is about to close.
        self._status_timer.stop()
        self._relay.unwatch()
        for child in self.child_windows():
            child.close()
        super().closeEvent(event)
        self.closed.emit()

    # Clinics and days -------------------------------------------------------------------

    @property
    def clinic_day(self) -> date:
        qdate = self.date_edit.date()
        return date(qdate.year(), qdate.month(), qdate.day())

    def set_clinic_day(self, day: date) -> None:
        self.date_edit.setDate(_qdate(day))

    def _shift_day(self, step: int) -> None:
        self.date_edit.setDate(self.date_edit.date().addDays(step))

    def refresh_clinics(self) -> None:
        self.clinic_combo.blockSignals(True)
        self.clinic_combo.clear()
        for tenant in self.session.tenants():
            self.clinic_combo.addItem(tenant.name, tenant.id)
        index = self.clinic_combo.findData(self.session.tenant_id)
        self.clinic_combo.setCurrentIndex(max(index, 0))
        self.clinic_combo.blockSignals(False)

    def _clinic_chosen(self, index: int) -> None:
        tenant_id = self.clinic_combo.itemData(index)
        if not tenant_id or tenant_id == self.session.tenant_id:
            return
        if self.runner.running:  # the combo is disabled while a batch runs; belt and braces
            self.refresh_clinics()
            return
        self.session.select_tenant(tenant_id)
        for child in self.child_windows():  # another clinic's PHI must not stay on screen
            child.close()
        self.refresh_connection_status()
        self.reload_day()

    def new_clinic(self) -> None:
        name, ok = QInputDialog.getText(self, "New clinic", "Clinic name:")
        if not ok:
            return
        try:
            self.session.create_tenant(name)
        except ValueError as exc:
            QMessageBox.warning(self, "New clinic", str(exc))
            return
        self.refresh_clinics()
        self.refresh_connection_status()
        self.reload_day()

    # Loading the day --------------------------------------------------------------------

    def reload_day(self, *, online: bool = True) -> None:
        """Rows from the store at once (offline); the live schedule too when connected."""
        if self.session.tenant_id is None:
            self.model.set_rows([])
            self._show_empty_hint()
            return
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        self._load_task = tasks.start(
            self._load(self.session.tenant_id, self.clinic_day, online),
            on_error=lambda exc: self.statusBar().showMessage(
                f"Could not load the day: {describe_error(exc)}"
            ),
            name="load-day",
            owner=self,
        )

    async def _load(self, tenant_id: str, day: date, online: bool) -> None:
        scope = self.session.store.tenant(tenant_id)
        cached = self._schedule.get((tenant_id, day))
        rows = await asyncio.to_thread(day_rows.rows_for_day, scope, day, cached)
        if self.runner.running:
            return  # live events own the table while a batch runs
        self._show_rows(rows)
        if online and cached is None:
            schedule = await self._fetch_schedule(day)
            if schedule is not None and not self.runner.running:
                self._schedule[(tenant_id, day)] = schedule
                rows = await asyncio.to_thread(day_rows.rows_for_day, scope, day, schedule)
                self._show_rows(rows)
        self.day_loaded.emit()

    async def _fetch_schedule(self, day: date) -> list[ScheduledPatient] | None:
        stored = self.session.default_connection()
        if stored is None:
            return None
        live = await self.session.open(stored.id)
        if not live.status.is_connected:
            return None
        scope = self.session.scope
        # The day in the clinic's zone (explicit bounds, kept by local start date).
        zone = clinic_zone(await asyncio.to_thread(self.session.settings.get, TIME_ZONE, scope))
        try:
            appointments = await fetch_day_appointments(live.client, day, tz=zone)
        except Exception as exc:  # offline review must keep working when the EHR is away
            self.statusBar().showMessage(f"Schedule not loaded: {describe_error(exc)}")
            return None
        # Reading the schedule shows patient names: an access to PHI like any other fetch.
        await asyncio.to_thread(
            scope.audit,
            AuditAction.FETCH,
            detail=f"schedule {day.isoformat()}: {len(appointments)} appointments",
            ehr_user=live.status.user,
        )
        return day_rows.scheduled_from_appointments(appointments, zone)

    def _show_rows(self, rows: list[DayRow]) -> None:
        self.model.set_rows(rows)
        self._show_empty_hint()

    def _show_empty_hint(self) -> None:
        if self.model.rowCount():
            self.empty_label.hide()
            return
        if self.session.tenant_id is None:
            text = "Create a clinic to begin (Clinic ▸ New clinic)."
        elif self.session.default_connection() is None:
            text = "No EHR connection yet: set one up in Clinic ▸ Connections."
        else:
            text = "Nothing prepared for this day yet. Press Prepare sheets (Ctrl+R)."
        self.empty_label.setText(text)
        self.empty_label.show()

    def _update_count(self, *_: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} patients")

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    # Preparing sheets -------------------------------------------------------------------

    def prepare(self, *, force: bool = False) -> None:
        if self.runner.running or self.locked:
            return
        stored = self.session.default_connection() if self.session.tenant_id else None
        if stored is None:
            self.statusBar().showMessage("Set up the clinic's EHR connection first.", 10_000)
            self.open_connections()
            return
        self.prepare_action.setEnabled(False)
        tasks.start(
            self._prepare(stored, force),
            on_error=self._batch_failed,
            name="prepare",
            owner=self,
        )

    async def _prepare(self, stored: Connection, force: bool) -> None:
        live = await self.session.open(stored.id)
        if live.config.auth_method.is_smart and not live.status.is_connected:
            self.statusBar().showMessage(f"Signing in to {stored.name}…")
            await sign_in(live, stored)
            self.refresh_connection_status()
        tenant_id = self.session.scope.id
        day = self.clinic_day
        self.batch_panel.started()
        schedule = self._schedule.get((tenant_id, day))
        if schedule is None:
            schedule = await self._fetch_schedule(day)
            if schedule is not None:
                self._schedule[(tenant_id, day)] = schedule
        rows = await asyncio.to_thread(
            day_rows.rows_for_day, self.session.store.tenant(tenant_id), day, schedule
        )
        self._show_rows(rows)
        self.runner.start(
            self.session.store,
            tenant_id=tenant_id,
            connection_id=stored.id,
            connection=live,
            clinic_day=day,
            force=force,
            clinic_name=self.session.tenant_name,
            cpu=self.session.cpu,
        )
        self._set_batch_controls(running=True)

    def _set_batch_controls(self, *, running: bool) -> None:
        if running != self._batch_controls_busy:
            self._batch_controls_busy = running
            gc_guard.busy(running)  # no full garbage collection pass while preparing
        self.prepare_action.setEnabled(not running)
        self.prepare_again_action.setEnabled(not running)
        self.clinic_combo.setEnabled(not running)
        self.date_edit.setEnabled(not running)
        self.previous_day_action.setEnabled(not running)
        self.next_day_action.setEnabled(not running)

    def _patient_event(self, event: PatientEvent) -> None:
        self.model.apply_event(event)

    def _progress(self, progress: JobProgress) -> None:
        self.batch_panel.update_progress(progress)

    def _batch_done(self, summary: object) -> None:
        self._set_batch_controls(running=False)
        self.batch_panel.ended()
        last = self.batch_panel.last
        if last is not None:
            self.statusBar().showMessage(
                f"Prepared {last.done} sheets, {last.skipped} unchanged, {last.failed} failed.",
                15_000,
            )
        self.refresh_connection_status()
        self.reload_day(online=False)
        self.batch_finished.emit(summary)

    def _batch_failed(self, exc: BaseException) -> None:
        self._set_batch_controls(running=False)
        self.batch_panel.ended()
        message = describe_error(exc)
        log.warning("preparing sheets failed: %s", type(exc).__name__)
        self.statusBar().showMessage(f"Preparing sheets stopped: {message}")
        self.refresh_connection_status()
        self.batch_finished.emit(exc)

    # Connection status ------------------------------------------------------------------

    def refresh_connection_status(self) -> None:
        stored = self.session.default_connection() if self.session.tenant_id else None
        if stored is None:
            self._relay.unwatch()
            self._watched_connection = None
            self.connection_label.setText(indicator_text(None))
            self.banner.clear()
            return
        live = self.session.live_connection(stored.id)
        if live is None:
            self.connection_label.setText(f"{stored.name}: opening…")
            if self._opening is None or self._opening.done():
                self._opening = tasks.start(
                    self.session.open(stored.id),
                    on_done=lambda _live: self.refresh_connection_status(),
                    # A broken stored config must not take the window down.
                    on_error=lambda exc: self.connection_label.setText(
                        f"{stored.name}: {describe_error(exc)}"
                    ),
                    name="open-connection",
                    owner=self,
                )
            return
        if self._watched_connection != stored.id:
            self._relay.watch(live)
            self._watched_connection = stored.id
        self._show_status(live.status, stored, can_refresh=_can_refresh(live))

    def _status_changed(self, _status: ConnectionStatus) -> None:
        self.refresh_connection_status()

    def _show_status(
        self, status: ConnectionStatus, stored: Connection, *, can_refresh: bool
    ) -> None:
        text = indicator_text(status, name=stored.name)
        self.connection_label.setText(text)
        self.connection_label.setToolTip(
            f"Last error: {status.last_error}" if status.last_error else text
        )
        if self.batch_panel.last is not None and self.batch_panel.last.phase.value == "reconnect":
            return  # the reconnect banner stays until the user signs in
        message = banner_message(status, can_refresh=can_refresh, now=datetime.now(UTC))
        if message is None:
            self.banner.clear()
        else:
            self.banner.show_message(*message)

    def _reconnect_needed(self) -> None:
        self.banner.show_message(
            "error",
            "The EHR asked to sign in again. Preparing is paused until you reconnect.",
        )

    def reconnect(self) -> None:
        stored = self.session.default_connection()
        if stored is None:
            return
        self.banner.button.setEnabled(False)
        self.banner.label.setText("Signing in… finish in the browser window.")
        tasks.start(
            self._reconnect(stored),
            on_error=self._reconnect_failed,
            name="reconnect",
            owner=self,
        )

    async def _reconnect(self, stored: Connection) -> None:
        live = await self.session.open(stored.id)
        await sign_in(live, stored)
        self.banner.button.setEnabled(True)
        self.banner.clear()
        if self.runner.running:
            self.runner.reconnected()
        self.refresh_connection_status()

    def _reconnect_failed(self, exc: BaseException) -> None:
        self.banner.button.setEnabled(True)
        self.banner.show_message("error", f"Sign-in failed: {describe_error(exc)}")

    # Sheets -----------------------------------------------------------------------------

    def selected_row(self) -> DayRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row: DayRow = self.proxy.data(index, ROW_ROLE)
        return row

    def open_selected(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.sheet_id is None and row.sheet != day_rows.READY:
            self.statusBar().showMessage(
                f"No sheet yet for this patient{': ' + row.reason if row.reason else ''}.", 8000
            )
            return
        self.open_sheet(row.sheet_id, row.patient_text, patient_id=row.patient_id)

    def open_sheet(
        self, sheet_id: int | None, title: str = "", *, patient_id: str | None = None
    ) -> None:
        """Open a stored sheet by id, or (just prepared, id not yet loaded) the patient's latest
        for the day."""
        scope = self.session.scope
        day = self.clinic_day

        def load() -> Any:
            if sheet_id is not None:
                return scope.sheets.get(sheet_id)
            return scope.sheets.latest(patient_id or "", day)

        tasks.start(
            asyncio.to_thread(load),
            on_done=lambda sheet: self._show_sheet(scope, sheet, title),
            on_error=lambda exc: self.statusBar().showMessage(describe_error(exc)),
            name="open-sheet",
            owner=self,
        )

    def _show_sheet(self, scope: Any, sheet: Any, title: str) -> None:
        if sheet is None or self.locked:
            return
        viewer = SheetViewer.for_sheet(
            self.session.store,
            scope,
            sheet,
            title=f"{title or sheet.info.patient_id} · {sheet.info.clinic_day:%a %d %b %Y}",
            ehr_user=self.session.ehr_user(),
        )
        patient_id = sheet.info.patient_id
        viewer.dismissed.connect(lambda _ref: self._needs_rescreen(patient_id))
        self._track(viewer)
        viewer.show()

    def _needs_rescreen(self, patient_id: str) -> None:
        """A dismissed match changes the screening: the next Prepare re-screens this patient
        (the batch sees the dismissal in its inputs), the row says so until then."""
        row = self.model.row_for(patient_id)
        if row is not None:
            self.model.update_row(dataclasses.replace(row, sheet=day_rows.RESCREEN))

    def open_day(self) -> None:
        """Every sheet of the day, in table order, as one document to review and print."""
        scope = self.session.scope
        ids = [
            row.sheet_id
            for row in (
                self.proxy.data(self.proxy.index(r, 0), ROW_ROLE)
                for r in range(self.proxy.rowCount())
            )
            if row.sheet_id is not None
        ]
        if not ids:
            self.statusBar().showMessage("No sheets to print for this day yet.", 8000)
            return
        self.statusBar().showMessage(f"Combining {len(ids)} sheets…")
        tasks.start(
            asyncio.to_thread(_combine, scope, ids),
            on_done=lambda pdf: self._show_day(scope, pdf, len(ids)),
            on_error=lambda exc: self.statusBar().showMessage(describe_error(exc)),
            name="combine-day",
            owner=self,
        )

    def _show_day(self, scope: Any, pdf: bytes, count: int) -> None:
        if self.locked:
            return
        scope.audit(
            AuditAction.VIEW_SHEET,
            detail=f"day {self.clinic_day.isoformat()}: {count} sheets",
            ehr_user=self.session.ehr_user(),
        )
        viewer = SheetViewer(
            self.session.store,
            scope,
            pdf,
            title=f"All sheets · {self.clinic_day:%a %d %b %Y} ({count})",
            ehr_user=self.session.ehr_user(),
        )
        self._track(viewer)
        viewer.show()
        self.statusBar().showMessage(f"{count} sheets ready to print (Ctrl+P).", 8000)

    # Demo clinic ------------------------------------------------------------------------

    def _uses_demo(self) -> bool:
        stored = self.session.default_connection() if self.session.tenant_id else None
        return stored is not None and is_demo(stored)

    def start_demo(self) -> None:
        self.statusBar().showMessage("Starting the demo clinic and signing in…")
        tasks.start(self._start_demo(), on_error=self._demo_failed, name="demo", owner=self)

    async def _start_demo(self) -> None:
        connection_id = await self.demo.start()
        self._watched_connection = None
        self.refresh_connection_status()
        self.reload_day()
        self.statusBar().showMessage(
            "Demo clinic ready: synthetic patients only. Press Prepare sheets (Ctrl+R).", 15_000
        )
        self.demo_ready.emit(connection_id)

    def _demo_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"The demo clinic could not start: {describe_error(exc)}")
        self.refresh_connection_status()
        self.demo_ready.emit(exc)

    async def shutdown(self) -> None:
        """Stop background work and close connections (after the window closed)."""
        if self.runner.running:
            self.runner.cancel()
            if self.runner.task is not None:
                await asyncio.gather(self.runner.task, return_exceptions=True)
        await tasks.cancel_all()
        await self.session.aclose()
        await self.demo.stop()

    # Child windows and dialogs ----------------------------------------------------------

    def _track(self, window: QWidget) -> None:
        """Keep a window alive while it is open (parentless ones would be collected with their
        Python wrapper) and know it for the lock; closing deletes it."""
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._children = [w for w in self._children if shiboken6.isValid(w)]
        self._children.append(window)
        window.destroyed.connect(self._forget_destroyed)

    def _forget_destroyed(self) -> None:
        self._children = [w for w in self._children if shiboken6.isValid(w)]

    def child_windows(self) -> list[QWidget]:
        return [w for w in self._children if shiboken6.isValid(w)]

    def open_connections(self) -> None:
        from healthprep_desktop.ui.connections_dialog import ConnectionsDialog

        if self.session.tenant_id is None:
            self.new_clinic()
            if self.session.tenant_id is None:
                return
        dialog = ConnectionsDialog(self.session, self)
        dialog.finished.connect(lambda _r: self._connections_closed())
        self._track(dialog)
        dialog.open()

    def _connections_closed(self) -> None:
        self._watched_connection = None
        self.refresh_connection_status()
        self.reload_day()

    def open_library(self) -> None:
        from healthprep_desktop.ui.library_dialog import LibraryDialog

        if self.session.tenant_id is None:
            return
        dialog = LibraryDialog(self.session, self)
        dialog.saved.connect(
            lambda: self.idle.set_minutes(self.session.settings.get(IDLE_LOCK_MINUTES))
        )
        self._track(dialog)
        dialog.open()

    def open_audit(self) -> None:
        from healthprep_desktop.ui.audit_viewer import AuditViewer

        viewer = AuditViewer(self.session, self)
        self._track(viewer)
        viewer.show()

    def show_about(self) -> None:
        from healthprep_desktop.ui.about import AboutDialog

        AboutDialog(self).open()

    # Lock -------------------------------------------------------------------------------

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        self.idle.pause()
        self.stack.setCurrentWidget(self.lock_screen)
        self.lock_screen.reset()
        for action in self._phi_actions():
            action.setEnabled(False)
        for child in self.child_windows():
            child.hide()
        self.menuBar().setEnabled(False)
        self.clinic_combo.setEnabled(False)
        self.date_edit.setEnabled(False)

    def unlock(self) -> None:
        if not self.locked:
            return
        self.locked = False
        self.stack.setCurrentIndex(0)
        for action in self._phi_actions():
            action.setEnabled(True)
        self._set_batch_controls(running=self.runner.running)
        self.menuBar().setEnabled(True)
        for child in self.child_windows():
            child.show()
        self.idle.restart()

    def _phi_actions(self) -> list[QAction]:
        return [
            self.prepare_action,
            self.prepare_again_action,
            self.reload_action,
            self.open_action,
            self.print_day_action,
            self.find_action,
            self.connections_action,
            self.library_action,
            self.audit_action,
            self.new_clinic_action,
            self.previous_day_action,
            self.next_day_action,
        ]

    def reconnect_button(self) -> QPushButton:
        return self.banner.button


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _can_refresh(live: Any) -> bool:
    """Whether the connection renews its own token (a refresh token, or backend services)."""
    method = live.config.auth_method
    if not method.is_smart or not method.is_interactive:
        return True
    tokens = live.tokens.tokens
    return bool(tokens is not None and tokens.refresh_token)


def _combine(scope: Any, sheet_ids: list[int]) -> bytes:
    from healthprep_desktop.screening.sheet import render_day

    pdfs = [sheet.pdf for sid in sheet_ids if (sheet := scope.sheets.get(sid)) is not None]
    return render_day(pdfs)
