"""The main window: clinic, day, the day's schedule, "Prepare sheets" and its progress, the
connection indicator, sheet review, and the way to the admin dialogs.

The parts live in their own modules; this one puts them together:
- ``main_actions``: actions, shortcuts, toolbars, menus, the Help shortcut list;
- ``schedule_view`` (+ ``schedule_model``, ``day_rows``, ``day_loader``): the schedule;
- ``batch_panel`` + ``batch_controller`` (+ ``batch_runner``): preparing sheets;
- ``connection_state``: the one connection state behind indicator, banner and batch panel;
- ``sheet_opening``: opening, printing and refreshing sheets.

Every slow step is a coroutine (``ui.tasks``): store reads of a whole day and PDF work go to a
thread, the batch runs on the loop with its CPU work in the workers' process pool.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import QByteArray, QDate, QRect, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop import APP_NAME, paths
from healthprep_desktop.settings import IDLE_LOCK_MINUTES
from healthprep_desktop.ui import day_rows, tasks, window_fit
from healthprep_desktop.ui.batch_controller import BatchController
from healthprep_desktop.ui.batch_panel import BatchPanel
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.connection_state import (
    ConnectionController,
    LinkState,
)
from healthprep_desktop.ui.connection_status import ConnectionBanner
from healthprep_desktop.ui.day_loader import DayLoader
from healthprep_desktop.ui.day_rows import DayRow
from healthprep_desktop.ui.demo import DemoRunner
from healthprep_desktop.ui.idle_lock import IdleWatcher, LockScreen
from healthprep_desktop.ui.login import is_demo
from healthprep_desktop.ui.main_actions import (
    MainActions,
    build_actions,
    build_menus,
    build_toolbars,
)
from healthprep_desktop.ui.main_dialogs import ChildWindows
from healthprep_desktop.ui.schedule_corrections import ScheduleCorrections
from healthprep_desktop.ui.schedule_model import ScheduleFilter, ScheduleModel
from healthprep_desktop.ui.schedule_view import ScheduleView
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_opening import SheetOpener

DEFAULT_SIZE = (1280, 760)


def window_settings() -> QSettings:
    """Geometry only (never PHI), beside the store so a profile (HEALTHPREP_HOME) keeps its own."""
    return QSettings(str(paths.data_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    day_loaded = Signal()  # the table shows the chosen day (store, and schedule when online)
    batch_finished = Signal(object)  # BatchSummary or the exception
    demo_ready = Signal(object)  # the demo connection id, or the exception
    closed = Signal()  # the window accepted a close: the application may end
    patient_rescreened = Signal(str)  # one patient's sheet was made again (after a correction)

    # What the parts read through their host Protocols (``BatchHost``, ``DayLoaderHost``, ...:
    # ``ui.window_host``). Declared, not only assigned below: mypy checks the window against
    # each Protocol where it builds the part, and a member assigned after that point (or in
    # ``_build_central``) would otherwise pass unchecked.
    session: AppSession
    locked: bool
    model: ScheduleModel
    runner: BatchRunner
    main_actions: MainActions
    clinic_combo: QComboBox
    date_edit: QDateEdit
    banner: ConnectionBanner
    schedule_view: ScheduleView
    batch_panel: BatchPanel
    connection_label: QLabel
    connection: ConnectionController
    loader: DayLoader
    sheets: SheetOpener
    idle: IdleWatcher

    def __init__(
        self, session: AppSession, *, today: date | None = None, settings: QSettings | None = None
    ) -> None:
        super().__init__()
        self.session = session
        self.setWindowTitle(APP_NAME)
        self._qsettings = settings or window_settings()
        self.locked = False
        self.demo = DemoRunner(session)
        self.model = ScheduleModel(self)
        self.proxy = ScheduleFilter(self)
        self.proxy.setSourceModel(self.model)
        self.runner = BatchRunner(self)

        self.main_actions = build_actions(self)
        bar = build_toolbars(self, self.main_actions)
        self.clinic_combo, self.date_edit = bar.clinic_combo, bar.date_edit
        self._build_central()
        build_menus(self, self.main_actions)
        self.connection_label = QLabel()
        self.connection_label.setTextFormat(Qt.TextFormat.PlainText)  # may carry EHR text
        self.connection_label.setObjectName("connectionIndicator")
        self.statusBar().addPermanentWidget(self.connection_label)

        self.connection = ConnectionController(self)
        self.loader = DayLoader(self)
        self.batch = BatchController(self)
        self.sheets = SheetOpener(self)
        self.dialogs = ChildWindows(self)
        self.corrections = ScheduleCorrections(self)
        self.schedule_view.row_menu_parts.append(self.corrections.add_to_menu)
        self.batch.rescreened.connect(self._rescreened)
        self.connection.changed.connect(lambda _view: self.dialogs.sync_post_switch())

        self.date_edit.setDate(_qdate(day_rows.next_clinic_day(today or date.today())))
        self.refresh_clinics()
        self.date_edit.dateChanged.connect(lambda _d: self._day_changed())
        self.clinic_combo.currentIndexChanged.connect(self._clinic_chosen)
        self._warmed = False
        self.idle = IdleWatcher(session.settings.get(IDLE_LOCK_MINUTES), self)
        self.idle.idle.connect(self.lock)
        self._restore_geometry()
        if self._uses_demo():
            self.start_demo()  # the sandbox lives in this process: start it again
        else:
            self.refresh_connection_status()
            self.reload_day()

    def _build_central(self) -> None:
        self.stack = QStackedWidget()
        page = QWidget()
        layout = QVBoxLayout(page)
        self.banner = ConnectionBanner()
        self.banner.button.setText("Sign &in again")
        self.banner.reconnect_requested.connect(lambda: self.connection.reconnect())
        layout.addWidget(self.banner)
        self.schedule_view = ScheduleView(self.model, self.proxy)
        a = self.main_actions
        self.schedule_view.table.activated.connect(lambda _index: self.open_selected())
        # Names kept from the one-module window (tests, the bench, the app use them).
        view = self.schedule_view
        self.table, self.filter_edit = view.table, view.filter_edit
        self.count_label, self.empty_label = view.count_label, view.empty_label
        self.prepare_action, self.print_day_action = a.prepare, a.print_day
        self.lock_action = a.lock
        self.schedule_view.row_actions = [a.open_sheet, a.print_sheet, a.reprepare, a.copy_mrn]
        layout.addWidget(self.schedule_view, 1)
        self.batch_panel = BatchPanel()
        layout.addWidget(self.batch_panel)
        self.stack.addWidget(page)
        self.lock_screen = LockScreen(self.session.store)
        self.lock_screen.unlocked.connect(self.unlock)
        self.stack.addWidget(self.lock_screen)
        self.setCentralWidget(self.stack)

    # Window state -----------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        """Saved geometry only when it fits the screen now (a laptop undocked from a big
        monitor would otherwise open the window partly off-screen)."""
        geometry = self._qsettings.value("main/geometry")
        restored = False
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            area = window_fit.available_area(self)
            restored = area.contains(QRect(self.pos(), self.size()))
        if not restored:
            window_fit.fit_to_screen(self, *DEFAULT_SIZE)
            area = window_fit.available_area(self)
            self.move(area.topLeft())
        state = self._qsettings.value("main/state")
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
        self.connection.stop()  # a closed window must not poll a store about to close
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

    def shift_day(self, step: int) -> None:
        self.date_edit.setDate(self.date_edit.date().addDays(step))

    def _day_changed(self) -> None:
        self.batch_panel.reset()
        self.reload_day()

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
        self.statusBar().clearMessage()  # nor the last clinic's messages or batch panel
        self.batch_panel.reset()
        self.main_actions.retry_failed.setEnabled(False)
        self.connection.forget()
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
        self.connection.forget()
        self.reload_day()

    def reload_day(self, *, online: bool = True, reread: bool = False) -> None:
        self.loader.reload(online=online, reread=reread)

    def show_empty_hint(self) -> None:
        if self.model.rowCount():
            self.schedule_view.show_hint(None)
        elif self.session.tenant_id is None:
            self.schedule_view.show_hint("Create a clinic to begin (Clinic ▸ New clinic).")
        elif self.session.default_connection() is None:
            self.schedule_view.show_hint(
                "No EHR connection yet: set one up in Clinic ▸ Connections."
            )
        else:
            self.schedule_view.show_hint(
                "Nothing prepared for this day yet. Press Prepare sheets (Ctrl+R)."
            )

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    # Preparing, connection, sheets: delegated -------------------------------------------

    def prepare(self, *, force: bool = False) -> None:
        self.batch.prepare(force=force)

    def retry_failed(self) -> None:
        self.batch.retry_failed()

    def confirm_cancel(self) -> None:
        self.batch.confirm_cancel()

    def reprepare_patient(self, patient_id: str) -> None:
        """Re-screen one patient now (for the viewer's corrections: dismiss, done elsewhere,
        declined, postpone); ``patient_rescreened`` follows, and open viewers refresh."""
        self.batch.reprepare(patient_id)

    def correction_made(self, patient_id: str, *, viewer_rescreens: bool = False) -> None:
        """A correction changes the screening. The viewer re-screens from the stored chart
        when it can (``viewer_rescreens``); else the patient is re-prepared from the EHR now
        when connected; offline the row says so and the next Prepare does it."""
        row = self.model.row_for(patient_id)
        if row is not None:
            self.model.update_row(replace(row, sheet=day_rows.RESCREEN))
        live = self.connection.view.state in (LinkState.CONNECTED, LinkState.EXPIRING)
        if not viewer_rescreens and live:
            self.reprepare_patient(patient_id)

    def _rescreened(self, patient_id: str) -> None:
        """After an EHR re-prepare: open viewers show the new sheet."""
        self.sheets.refresh_viewers(patient_id)
        self.patient_rescreened.emit(patient_id)

    def viewer_rescreened(self, patient_id: str) -> None:
        self.reload_day(online=False)  # the row's counts and "prepared at" follow
        self.patient_rescreened.emit(patient_id)

    def reprepare_selected(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.reprepare_patient(row.patient_id)

    def selected_row(self) -> DayRow | None:
        return self.schedule_view.selected_row()

    def open_selected(self) -> None:
        self.sheets.open_selected()

    def print_selected(self) -> None:
        self.sheets.open_selected(then_print=True)

    def copy_selected_mrn(self) -> None:
        self.sheets.copy_mrn()

    def print_day(self) -> None:
        self.sheets.print_day()

    def refresh_connection_status(self) -> None:
        self.connection.refresh()

    def reconnect(self) -> None:
        self.connection.reconnect()

    def reconnect_button(self) -> QPushButton:
        return self.banner.button

    # Demo clinic (``ui.demo``) -----------------------------------------------------------

    def _uses_demo(self) -> bool:
        stored = self.session.default_connection() if self.session.tenant_id else None
        return stored is not None and is_demo(stored)

    def start_demo(self) -> None:
        self.demo.start_in(self)

    async def shutdown(self) -> None:
        """Stop background work and close connections (after the window closed)."""
        if self.runner.running:
            await self.runner.stop()
        await tasks.cancel_all()
        await self.session.aclose()
        await self.demo.stop()

    # Child windows and dialogs (``main_dialogs``) ----------------------------------------

    def track(self, window: QWidget) -> None:
        self.dialogs.track(window)

    def child_windows(self) -> list[QWidget]:
        return self.dialogs.child_windows()

    def open_connections(self) -> None:
        self.dialogs.open_connections()

    # Lock -------------------------------------------------------------------------------

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        self.idle.pause()
        self.stack.setCurrentWidget(self.lock_screen)
        self.lock_screen.reset()
        for action in self.main_actions.phi():
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
        for action in self.main_actions.phi():
            action.setEnabled(True)
        self.batch.set_controls(running=self.runner.running)
        self.dialogs.sync_post_switch()
        self.menuBar().setEnabled(True)
        for child in self.child_windows():
            child.show()
        self.idle.restart()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


__all__ = ["MainWindow", "window_settings"]
