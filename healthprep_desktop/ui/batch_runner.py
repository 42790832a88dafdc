"""Runs one BatchJob from the window: Qt signals out, pause/resume/cancel/reconnected in.

The job is a coroutine on the qasync loop; its CPU work runs in the workers' process pool, so
the window stays responsive. Events arrive through ``workers.qt_bridge.BatchSignals``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, Signal

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.store import Store
from healthprep_desktop.ui import tasks

# Imported here, not on first use: importing the pipeline (screening, PDF, OCR modules) takes
# about 0.1 s, which must not happen on the event loop when the user presses Prepare.
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.events import JobPhase, JobProgress
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.qt_bridge import BatchSignals

log = logging.getLogger(__name__)


class BatchRunner(QObject):
    patient_changed = Signal(object)  # PatientEvent
    progress = Signal(object)  # JobProgress
    reconnect_needed = Signal()
    finished = Signal(object)  # BatchSummary
    failed = Signal(object)  # the exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job: Any = None
        self.task: asyncio.Task[Any] | None = None
        self._signals = BatchSignals(self)
        self._signals.patient_changed.connect(self.patient_changed)
        self._signals.progress.connect(self._on_progress)
        self._phase: JobPhase | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(
        self,
        store: Store,
        *,
        tenant_id: str,
        connection_id: int,
        connection: FhirConnection,
        clinic_day: date,
        force: bool = False,
        write_back: bool = False,
        concurrency: int | None = None,
        clinic_name: str = "",
        cpu: CpuPool | None = None,
    ) -> None:
        if self.running:
            raise RuntimeError("a batch is already running")
        spec = JobSpec(
            tenant_id=tenant_id,
            connection_id=str(connection_id),
            clinic_date=clinic_day,
            force=force,
            write_back=write_back,
        )
        self._phase = None
        self.job = BatchJob(
            store,
            spec,
            connection=connection,
            connection_id=connection_id,
            listener=self._signals.listener,
            concurrency=concurrency,
            clinic_name=clinic_name,
            cpu=cpu,
        )
        self.task = tasks.start(
            self.job.run(),
            on_done=self.finished.emit,
            on_error=self.failed.emit,
            name="batch",
        )

    def pause(self) -> None:
        if self.job is not None:
            self.job.pause()

    def resume(self) -> None:
        if self.job is not None:
            self.job.resume()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def reconnected(self) -> None:
        if self.job is not None:
            self.job.reconnected()

    def _on_progress(self, p: JobProgress) -> None:
        entering_reconnect = p.phase is JobPhase.RECONNECT and self._phase is not JobPhase.RECONNECT
        self._phase = p.phase
        self.progress.emit(p)
        if entering_reconnect:
            self.reconnect_needed.emit()
