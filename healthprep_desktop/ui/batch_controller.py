"""Preparing sheets from the window: Prepare (signing in first when needed), Retry failed,
re-preparing one patient, Cancel with confirmation, and what the window shows while a batch runs
(the batch panel, the rows, the taskbar alert when the batch needs the user)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import QApplication, QComboBox, QDateEdit, QMessageBox

from healthprep_desktop import APP_NAME
from healthprep_desktop.store import Connection
from healthprep_desktop.ui import gc_guard, tasks
from healthprep_desktop.ui.batch_panel import BatchPanel
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.connection_state import (
    ConnectionController,
    LinkState,
    post_setting_name,
)
from healthprep_desktop.ui.day_loader import DayLoader
from healthprep_desktop.ui.main_actions import MainActions
from healthprep_desktop.ui.schedule_model import ScheduleModel
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.window_host import WindowHost
from healthprep_desktop.workers.events import JobPhase, JobProgress, PatientEvent

log = logging.getLogger(__name__)

# A batch sends several events per patient (fetching, screening, rendering, done), dozens a
# second. The rows are announced to the view at most this often, and the batch panel's text
# changes at most this often (each change lays the window out again): the window stays
# current to the eye without repainting per event.
ROW_FLUSH_MS = 50
PROGRESS_MS = 200


class BatchHost(WindowHost, Protocol):
    """What preparing uses of the window (``MainWindow`` has it): the runner and the panel it
    drives, the rows, the actions and day controls it disables while running, the connection
    (sign in first, outages) and the loader (the schedule before a run, the rows after)."""

    @property
    def runner(self) -> BatchRunner: ...

    @property
    def batch_panel(self) -> BatchPanel: ...

    @property
    def model(self) -> ScheduleModel: ...

    @property
    def main_actions(self) -> MainActions: ...

    @property
    def clinic_combo(self) -> QComboBox: ...

    @property
    def date_edit(self) -> QDateEdit: ...

    @property
    def connection(self) -> ConnectionController: ...

    @property
    def loader(self) -> DayLoader: ...

    @property
    def batch_finished(self) -> SignalInstance:
        """Emitted with the run's summary, or the exception that stopped it."""
        ...

    def open_connections(self) -> None: ...


class BatchController(QObject):
    rescreened = Signal(str)  # patient id: one patient was prepared again (a correction)

    def __init__(self, window: BatchHost) -> None:
        super().__init__(window.window())
        self.window = window
        self.runner = window.runner
        self._busy = False
        self._single: str | None = None  # the patient a one-patient run re-prepares
        self._rows_timer = _single_shot(self, ROW_FLUSH_MS, window.model.flush)
        self._progress_timer = _single_shot(self, PROGRESS_MS, self._show_progress)
        self._pending_progress: JobProgress | None = None
        runner = self.runner
        runner.patient_changed.connect(self._patient_event)
        runner.progress.connect(self._progress)
        runner.reconnect_needed.connect(self._reconnect_needed)
        runner.outage_changed.connect(self._outage_changed)
        runner.finished.connect(self._done)
        runner.failed.connect(self._failed)
        panel = window.batch_panel
        panel.pause_requested.connect(runner.pause)
        panel.resume_requested.connect(runner.resume)
        panel.cancel_requested.connect(self.confirm_cancel)
        panel.retry_requested.connect(self.retry_failed)

    # Starting -----------------------------------------------------------------------------

    def post_to_chart(self, stored: Connection) -> bool:
        value = self.window.session.scope.settings.get_raw(post_setting_name(stored.id))
        return bool(value)

    def prepare(
        self,
        *,
        force: bool = False,
        patient_ids: tuple[str, ...] = (),
        job_id: int | None = None,
    ) -> None:
        w = self.window
        if self.runner.running or w.locked:
            return
        stored = w.connection.stored()
        if stored is None:
            w.statusBar().showMessage("Set up the clinic's EHR connection first.", 10_000)
            w.open_connections()
            return
        w.main_actions.prepare.setEnabled(False)
        tasks.start(
            self._prepare(stored, force, patient_ids, job_id),
            on_error=self._failed,
            name="prepare",
            owner=self,
        )

    async def _prepare(
        self, stored: Connection, force: bool, patient_ids: tuple[str, ...], job_id: int | None
    ) -> None:
        w = self.window
        session = w.session
        live = await session.open(stored.id)
        w.connection.refresh()
        smart = live.config.auth_method.is_smart
        if smart and (w.connection.view.needs_sign_in or not live.status.is_connected):
            # Prepare signs in first (the same path as the banner's button), then goes on.
            w.statusBar().showMessage(f"Signing in to {stored.name}…")
            await w.connection.sign_in(stored)
        tenant_id = session.scope.id
        day = w.clinic_day
        w.batch_panel.started()
        self._single = patient_ids[0] if len(patient_ids) == 1 else None
        if not patient_ids and job_id is None:
            await w.loader.ensure_schedule(tenant_id, day)
        self.runner.start(
            session.store,
            tenant_id=tenant_id,
            connection_id=stored.id,
            connection=live,
            clinic_day=day,
            force=force,
            write_back=self.post_to_chart(stored),
            clinic_name=session.tenant_name,
            cpu=session.cpu,
            patient_ids=patient_ids,
            job_id=job_id,
        )
        self.set_controls(running=True)

    def retry_failed(self) -> None:
        """Resume the last job: only its failed (and unfinished) patients run again."""
        job_id = self.runner.last_job_id
        if job_id is None:
            return
        self.window.batch_panel.offer_retry(0)
        self.prepare(job_id=job_id)

    def reprepare(self, patient_id: str) -> None:
        """Fetch and screen one patient again, now (a correction, or the context menu)."""
        if self.runner.running:
            self.window.statusBar().showMessage(
                "Sheets are being prepared: this patient is re-prepared when that run ends.", 8000
            )
            self.runner.finished.connect(self._then_reprepare(patient_id))
            return
        self.prepare(force=True, patient_ids=(patient_id,))

    def _then_reprepare(self, patient_id: str) -> Any:
        def once(_summary: object) -> None:
            self.runner.finished.disconnect(once)
            self.prepare(force=True, patient_ids=(patient_id,))

        return once

    def confirm_cancel(self) -> None:
        """Esc or Cancel: stop preparing, after a confirmation (finished sheets are kept)."""
        if not self.runner.running:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            APP_NAME,
            "Stop preparing sheets? Finished sheets are kept; the rest can be prepared later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self.window.window(),
        )
        box.setObjectName("confirmCancel")
        box.setDefaultButton(QMessageBox.StandardButton.No)  # a stray Enter keeps the batch
        box.setEscapeButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("&Stop preparing")
        box.button(QMessageBox.StandardButton.No).setText("&Keep going")
        stop = box.button(QMessageBox.StandardButton.Yes)
        box.finished.connect(
            lambda _r: self.runner.cancel() if box.clickedButton() is stop else None
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.confirm_box = box
        box.open()

    # While it runs ---------------------------------------------------------------------

    def set_controls(self, *, running: bool) -> None:
        w = self.window
        if running != self._busy:
            self._busy = running
            gc_guard.busy(running)  # no full garbage collection pass while preparing
        a = w.main_actions
        for action in (a.prepare, a.prepare_again, a.previous_day, a.next_day, a.reprepare):
            action.setEnabled(not running and not w.locked)
        a.retry_failed.setEnabled(
            not running and not w.locked and not w.batch_panel.retry_button.isHidden()
        )
        a.cancel_batch.setEnabled(running and not w.locked)
        w.clinic_combo.setEnabled(not running and not w.locked)
        w.date_edit.setEnabled(not running and not w.locked)

    def _patient_event(self, event: PatientEvent) -> None:
        self.window.model.apply_event(event, notify=False)
        if not self._rows_timer.isActive():
            self._rows_timer.start()

    def _progress(self, progress: JobProgress) -> None:
        shown = self.window.batch_panel.last
        self._pending_progress = progress
        if shown is None or shown.phase is not progress.phase:
            self._show_progress()  # a new phase (paused, waiting for sign-in, ended) at once
        elif not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        self._progress_timer.stop()
        progress, self._pending_progress = self._pending_progress, None
        if progress is not None:
            self.window.batch_panel.update_progress(progress)

    def flush(self) -> None:
        """Show what is pending now (the batch ended, or a test looks)."""
        self._rows_timer.stop()
        self.window.model.flush()
        self._show_progress()

    def _outage_changed(self, reason: object) -> None:
        text = None if reason is None else str(reason)
        self.window.batch_panel.show_outage(text)
        self.window.connection.outage = _short(text)
        self.window.connection.refresh()
        if text is not None:
            self.window.statusBar().showMessage(
                "The EHR cannot be reached: preparing is paused and resumes by itself.", 15_000
            )
            self.alert()  # paused: the coordinator may be waiting on sheets behind other work

    def _reconnect_needed(self) -> None:
        w = self.window
        w.connection.when_signed_in(self._signed_in_again)
        w.connection.refresh()  # the one state says: sign in (indicator, banner, panel)
        self.alert()

    def _signed_in_again(self) -> None:
        if self.runner.running:
            self.runner.reconnected()

    def alert(self) -> None:
        """Flash the taskbar entry when the batch needs the user and the window is behind."""
        QApplication.alert(self.window.window())

    def _done(self, summary: object) -> None:
        w = self.window
        self.flush()
        self.set_controls(running=False)
        w.batch_panel.ended()
        last = w.batch_panel.last
        failed = int(getattr(summary, "failed", 0) or 0)
        not_posted = dict(getattr(summary, "not_posted", {}) or {})
        if last is not None:
            text = f"Prepared {last.done} sheets, {last.skipped} unchanged, {last.failed} failed."
            if not_posted:
                text += f" {len(not_posted)} not posted to the chart (the sheets are kept)."
            w.statusBar().showMessage(text, 15_000)
        w.batch_panel.offer_retry(
            failed if getattr(summary, "phase", None) is JobPhase.FINISHED else 0
        )
        w.main_actions.retry_failed.setText(
            f"Re&try failed ({failed})" if failed else "Re&try failed"
        )
        w.main_actions.retry_failed.setEnabled(failed > 0 and not w.locked)
        if any(_needs_consent(reason) for reason in not_posted.values()):
            w.connection.consent_needed = (
                "Sheets were kept but not posted: this sign-in has no permission to file "
                "documents in the chart. Sign in again to grant it."
            )
        w.connection.refresh()
        w.loader.reload(online=False)
        if self._single is not None:
            self.rescreened.emit(self._single)
            self._single = None
        self.alert()
        w.batch_finished.emit(summary)

    def _failed(self, exc: BaseException) -> None:
        w = self.window
        self.flush()
        self.set_controls(running=False)
        w.batch_panel.ended()
        log.warning("preparing sheets failed: %s", type(exc).__name__)
        w.statusBar().showMessage(f"Preparing sheets stopped: {describe_error(exc)}")
        w.connection.refresh()
        if w.connection.view.state is LinkState.SIGNED_OUT:
            self.alert()
        self._single = None
        w.batch_finished.emit(exc)


def _single_shot(parent: QObject, milliseconds: int, slot: Any) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(milliseconds)
    timer.timeout.connect(slot)
    return timer


def _needs_consent(reason: str) -> bool:
    return "permission" in reason or "(403)" in reason


def _short(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason.split("(")[0].strip() or reason
