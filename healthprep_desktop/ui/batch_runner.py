"""Runs one BatchJob from the window: Qt signals out, pause/resume/cancel/reconnected in.

The job is a coroutine on the qasync loop; its CPU work runs in the workers' process pool, so
the window stays responsive. Events arrive through ``workers.qt_bridge.BatchSignals``.

Losing the network or the EHR mid-batch pauses the job instead of failing patient after
patient: a patient that fails for want of the EHR is shown as waiting, the job pauses, a probe
retries with backoff and resumes the job when the EHR answers; when the job ends, the same job
is resumed once more for just those patients (a resumed job redoes only unfinished and failed
patients), so the day ends without a patient failed by the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, Signal

from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.store import Store
from healthprep_desktop.ui import tasks

# Imported here, not on first use: importing the pipeline (screening, PDF, OCR modules) takes
# about 0.1 s, which must not happen on the event loop when the user presses Prepare.
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.events import JobPhase, JobProgress, PatientEvent, PatientState
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.qt_bridge import BatchSignals

log = logging.getLogger(__name__)

# workers.batch_support.failure_reason's words for a patient failed because the EHR could not
# be reached or answered with a server error (tests/ui/test_batch_outage.py pins them).
OUTAGE_REASONS = ("network error talking to the EHR", "the EHR had a server error")
PROBE_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # seconds between probes, last repeats
PROBE_TIMEOUT = 20.0
MAX_CONTINUATIONS = 5  # resumptions of the same job for patients the outage failed


def is_outage(reason: str | None) -> bool:
    return bool(reason) and str(reason).startswith(OUTAGE_REASONS)


async def probe(connection: FhirConnection) -> None:
    """One small data request (not /metadata, which a failing EHR may still serve)."""
    async with asyncio.timeout(PROBE_TIMEOUT):
        await connection.client.send(
            "GET", "Patient", params=[("_count", "1"), ("_elements", "id")]
        )


class BatchRunner(QObject):
    patient_changed = Signal(object)  # PatientEvent
    progress = Signal(object)  # JobProgress
    reconnect_needed = Signal()
    outage_changed = Signal(object)  # str (why the EHR cannot be reached) or None: back
    finished = Signal(object)  # BatchSummary
    failed = Signal(object)  # the exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job: Any = None
        self.task: asyncio.Task[Any] | None = None
        self._signals = BatchSignals(self)
        self._signals.patient_changed.connect(self._on_patient)
        self._signals.progress.connect(self._on_progress)
        self._phase: JobPhase | None = None
        self.outage: str | None = None
        self.outage_failed: set[str] = set()  # failed by the outage: redone when the job ends
        self.backoff: tuple[float, ...] = PROBE_BACKOFF
        self._probe: asyncio.Task[None] | None = None
        self._user_paused = False
        self.last_job_id: int | None = None

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
        patient_ids: tuple[str, ...] = (),
        job_id: int | None = None,
    ) -> None:
        """A new job for the day (or for ``patient_ids``), or ``job_id`` resumed: its failed
        and unfinished patients only ("Retry failed")."""
        if self.running:
            raise RuntimeError("a batch is already running")
        if patient_ids:
            spec = JobSpec(
                tenant_id=tenant_id,
                connection_id=str(connection_id),
                patient_ids=patient_ids,
                as_of=clinic_day,
                force=force,
                write_back=write_back,
            )
        else:
            spec = JobSpec(
                tenant_id=tenant_id,
                connection_id=str(connection_id),
                clinic_date=clinic_day,
                force=force,
                write_back=write_back,
            )
        self._phase = None
        self.outage = None
        self.outage_failed = set()
        self._user_paused = False
        options = {
            "store": store,
            "spec": spec,
            "connection": connection,
            "connection_id": connection_id,
            "concurrency": concurrency,
            "clinic_name": clinic_name,
            "cpu": cpu,
        }
        self.task = tasks.start(
            self._run(options, job_id),
            on_done=self.finished.emit,
            on_error=self._failed,
            name="batch",
        )

    def _new_job(self, options: dict[str, Any], job_id: int | None) -> Any:
        return BatchJob(
            options["store"],
            options["spec"],
            connection=options["connection"],
            connection_id=options["connection_id"],
            listener=self._signals.listener,
            concurrency=options["concurrency"],
            clinic_name=options["clinic_name"],
            cpu=options["cpu"],
            job_id=job_id,
            # A new job first checks that it can run at all (fhir/preflight.py): one sentence
            # instead of a day of empty sections or failed patients.
            check_first=job_id is None,
        )

    async def _run(self, options: dict[str, Any], job_id: int | None) -> Any:
        self.job = self._new_job(options, job_id)
        summary = await self.job.run()
        self.last_job_id = self.job.job_id
        for _ in range(MAX_CONTINUATIONS):
            if not self.outage_failed or self.job.cancelled:
                break
            if self.outage is not None and self._probe is not None:
                await asyncio.gather(self._probe, return_exceptions=True)  # wait for the EHR
            if self.job.cancelled:
                break
            log.info("resuming the job for %d patients the outage failed", len(self.outage_failed))
            self.outage_failed = set()
            self.job = self._new_job(options, self.last_job_id)
            summary = await self.job.run()
        self._end_outage()
        return summary

    def _failed(self, exc: BaseException) -> None:
        self._end_outage()
        self.failed.emit(exc)

    def pause(self) -> None:
        self._user_paused = True
        if self.job is not None:
            self.job.pause()

    def resume(self) -> None:
        self._user_paused = False
        if self.job is not None and self.outage is None:
            self.job.resume()

    def cancel(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        if self.job is not None:
            self.job.cancel()

    def reconnected(self) -> None:
        if self.job is not None:
            self.job.reconnected()

    # Outage -------------------------------------------------------------------------------

    def _on_patient(self, event: PatientEvent) -> None:
        if event.state is PatientState.FAILED and is_outage(event.reason):
            self.outage_failed.add(event.patient_id)
            self._begin_outage(event.reason or "")
            # Not the patient's fault: shown as waiting; the job's resumption redoes it.
            event = replace(event, state=PatientState.PENDING, reason="waiting for the EHR")
        self.patient_changed.emit(event)

    def _begin_outage(self, reason: str) -> None:
        if self.outage is not None or self.job is None or self.job.cancelled:
            return
        self.outage = reason
        log.warning("the EHR cannot be reached: the batch pauses until it answers")
        self.job.pause()
        self.outage_changed.emit(reason)
        self._probe = tasks.start(self._probe_until_back(), name="outage-probe", owner=self)

    async def _probe_until_back(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self.backoff[min(attempt, len(self.backoff) - 1)])
            attempt += 1
            job = self.job
            if job is None or job.cancelled:
                return
            try:
                await probe(job.connection)
            except (FhirError, TimeoutError, OSError) as exc:
                log.info("the EHR is still unreachable (%s)", type(exc).__name__)
                continue
            break
        self.outage = None
        self.outage_changed.emit(None)
        if self.job is not None and not self._user_paused and not self.job.cancelled:
            self.job.resume()

    def _end_outage(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
        self._probe = None
        if self.outage is not None:
            self.outage = None
            self.outage_changed.emit(None)

    def _on_progress(self, p: JobProgress) -> None:
        entering_reconnect = p.phase is JobPhase.RECONNECT and self._phase is not JobPhase.RECONNECT
        self._phase = p.phase
        if self.outage is not None and p.phase is JobPhase.PAUSED:
            p = replace(p, message="the EHR cannot be reached: retrying by itself")
        self.progress.emit(p)
        if entering_reconnect:
            self.reconnect_needed.emit()

    async def stop(self) -> None:
        """Cancel and wait (window close)."""
        self.cancel()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.gather(self.task, return_exceptions=True)
