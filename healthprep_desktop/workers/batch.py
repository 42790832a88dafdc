"""Batch preparation of a clinic day: a resumable, bounded worker pool over asyncio.

Per patient: fetch the chart -> extract document text (process pool, cached by content hash) ->
screen and render the sheet (process pool) -> store it -> write it back (if asked) -> audit.
Each step has its own module: batch_fetch (schedule, charts, documents), batch_sheet (screen,
render, store), batch_writeback (posting), batch_patient (one patient's steps and retries),
batch_progress (events). This module opens or resumes the job, runs the workers, and handles
pause, cancel, a lost sign-in and the job's end.

Everything that matters survives a crash: the job and each patient's state are in the store
before work starts and after each patient finishes, so a restarted job redoes only patients that
were not finished, and the write-back ledger (fhir/writeback.py) settles a post that was in
flight when the process died instead of posting it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.parsing import preload_models
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.settings import Settings
from healthprep_desktop.store import AuditAction, Outcome, Store, TenantScope
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.batch_fetch import ChartFetcher
from healthprep_desktop.workers.batch_opening import close_batch, open_batch
from healthprep_desktop.workers.batch_patient import (
    AuthorizationLost,
    PatientSteps,
    StopFlag,
    lost_reason,
)
from healthprep_desktop.workers.batch_progress import JobEvents
from healthprep_desktop.workers.batch_sheet import SheetMaker
from healthprep_desktop.workers.batch_sources import SourceReader, open_reader
from healthprep_desktop.workers.batch_support import (
    BatchSummary,
    RunContext,
    summary_to_json,
)
from healthprep_desktop.workers.batch_writeback import BatchPoster
from healthprep_desktop.workers.chart import record_hash
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.events import (
    JobPhase,
    Listener,
    PatientState,
)
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.job_steps import (
    clinic_time_zone,
    job_options,
)
from healthprep_desktop.workers.writeback_step import WritebackStep, ehr_user, sign_in_notice

log = logging.getLogger(__name__)

LEASE_RENEW = 20.0  # seconds between renewals of the job's lease (store.repos.jobs.JOB_LEASE)
PATIENT_BUDGET = 120.0  # seconds for one patient's chart fetch, every attempt included
WAITING_SHOWN_AFTER = 5.0  # seconds without an answer before "waiting for the server (N s)"


class BatchJob:
    def __init__(
        self,
        store: Store,
        spec: JobSpec | None,
        *,
        connection: FhirConnection,
        connection_id: int | None = None,
        listener: Listener | None = None,
        job_id: int | None = None,
        concurrency: int | None = None,
        cpu: CpuPool | None = None,
        reconnect_timeout: float | None = None,
        clinic_name: str = "",
        tz: str | None = None,
        check_first: bool = False,
        patient_budget: float = PATIENT_BUDGET,
    ) -> None:
        if spec is None and job_id is None:
            raise ValueError("give a job spec for a new job, or the id of a stored job")
        self.store = store
        self.spec = spec
        self.connection = connection
        self.connection_id = connection_id
        self.job_id = job_id
        self._events = JobEvents(listener)
        self._concurrency = concurrency
        self._cpu = cpu
        self._own_cpu = cpu is None
        self._db = StoreExecutor()
        self._reconnect_timeout = reconnect_timeout
        self._clinic_name = clinic_name
        self._tz = tz
        self._check_first = check_first  # fhir/preflight.py before a new job lists patients
        self._patient_budget = patient_budget
        self._workers: list[asyncio.Task[None]] = []
        self.lost_reason: str | None = None  # why authorization was lost, when it was
        self._running = asyncio.Event()
        self._running.set()
        self._authorized = asyncio.Event()
        self._authorized.set()
        self._stop = StopFlag()
        self._paused = False
        # This run's identity in the store: it owns the job while it runs, and its write-back
        # claims; another process settles them only once this one is dead or its lease expired.
        self.owner = ClaimOwner.new()
        self._user: str | None = None
        self._owns_job = False
        self._sources: SourceReader | None = None  # the clinic's secondary sources, if any

    @property
    def listener(self) -> Listener | None:
        return self._events.listener

    @listener.setter
    def listener(self, value: Listener | None) -> None:
        self._events.listener = value

    # --- control (safe to call from the UI at any time) ----------------------------------------

    def pause(self) -> None:
        self._paused = True
        self._running.clear()
        self._events.set_phase(JobPhase.PAUSED)

    def resume(self) -> None:
        self._paused = False
        self._running.set()
        if self._authorized.is_set():
            self._events.set_phase(JobPhase.PATIENTS)

    def cancel(self) -> None:
        first = not self._stop.is_set
        self._stop.is_set = True
        self._running.set()  # wake paused workers so they can see the flag
        self._authorized.set()
        if first:
            # Abort the requests in flight now (a hung server would hold them for their whole
            # time budget); each worker puts its patient back to pending (_worker_stopped).
            for task in self._workers:
                task.cancel()

    def reconnected(self) -> None:
        """The user signed in again: workers carry on where they stopped."""
        self._authorized.set()
        if not self._paused:
            self._events.set_phase(JobPhase.PATIENTS)

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set

    def _stopping(self) -> bool:
        return self._stop.is_set  # a call: mypy must not narrow it across awaits

    @property
    def preparing_patients(self) -> bool:
        """Workers run (cancel() aborts them); before that the job checks and lists."""
        return bool(self._workers)

    @property
    def waiting_for_reconnect(self) -> bool:
        return not self._authorized.is_set()

    # --- the run -----------------------------------------------------------------------------

    async def run(self) -> BatchSummary:
        started = time.monotonic()
        if self._cpu is None:
            self._cpu = CpuPool()
        # Workers start, and the FHIR models load, while the schedule is read and the first
        # charts are fetched: both on threads, since either would freeze the event loop for a
        # fifth of a second. CPU steps wait for the workers (CpuPool.run); fetches do not.
        warming = asyncio.gather(self._cpu.warm(), asyncio.to_thread(preload_models))
        try:
            scope, patients, params = await self._prepare_job()
            await self._run_patients(scope, patients, params)
            await warming
        finally:
            if self._owns_job and self.job_id is not None:
                with contextlib.suppress(Exception):
                    scope_now = await self._db.call(self.store.tenant, self._tenant_id())
                    await self._db.call(scope_now.jobs.let_go, self.job_id, self.owner)
            if not warming.done():
                warming.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await warming
            if self._sources is not None:
                await self._sources.aclose()
                self._sources.tell(self._events.summary)
            if self._own_cpu and self._cpu is not None:
                await asyncio.get_running_loop().run_in_executor(None, self._cpu.shutdown)
            self._db.shutdown()
        summary = self._events.summary
        assert summary is not None
        summary.seconds = time.monotonic() - started
        return summary

    def _tenant_id(self) -> str:
        assert self.spec is not None
        return self.spec.tenant_id

    async def _prepare_job(self) -> tuple[TenantScope, list[str], dict[str, Any]]:
        if self._tz is None and self.spec is not None:  # a real EHR: the clinic's zone setting
            self._tz = await self._db.call(clinic_time_zone, self.store, self.spec.tenant_id)

        def taken(job_id: int) -> None:  # from here on, run() lets the job go when it ends
            self._owns_job, self.job_id = True, job_id

        opened = await open_batch(
            self.store, self._db, self._events, self.owner, self.connection,
            spec=self.spec, job_id=self.job_id, connection_id=self.connection_id,
            tz=self._tz, check_first=self._check_first, taken=taken,
        )  # fmt: skip
        self.spec = opened.spec
        self.connection_id = opened.connection_id
        return opened.scope, opened.patients, opened.params

    def _default_concurrency(self) -> int:
        rate = self.connection.config.rate_limit
        return max(1, min(64, rate.max_connections_hint()))

    async def _steps(self, scope: TenantScope) -> PatientSteps:
        """The per-patient steps of this job, once the job and its sign-in are known."""
        assert self.job_id is not None and self.spec is not None and self._cpu is not None
        summary = self._events.summary
        assert summary is not None
        fetcher = ChartFetcher(
            self.connection, self._db, self._cpu, self.job_id, self._user, self._patient_budget
        )
        with contextlib.suppress(FhirError):
            fetcher.capabilities = await self.connection.capabilities()
        poster = None
        if self.spec.write_back:
            notice = sign_in_notice(self.connection)
            if notice is not None:
                summary.notices.append(notice)
                log.warning("%s", notice)
            step = WritebackStep(scope, self._db, self.job_id, self._user, notice)
            poster = BatchPoster(
                self.store, self.connection, self._db, self.owner, step, self._events,
                self._tz, self._user,
            )  # fmt: skip
        sheets = SheetMaker(
            self.store, self._db, self.connection, self._cpu, self.job_id, self._user,
            self._tz, self._clinic_name,
        )  # fmt: skip
        self._sources = await open_reader(
            self.store, self._db, self.spec.tenant_id, self.connection_id,
            self.connection.config.name, self._user,
        )  # fmt: skip
        return PatientSteps(
            sources=self._sources,
            db=self._db,
            spec=self.spec,
            job_id=self.job_id,
            connection_id=self.connection_id or 0,
            events=self._events,
            fetcher=fetcher,
            sheets=sheets,
            poster=poster,
            user=self._user,
            patient_budget=self._patient_budget,
            stopped=self._stop,
        )

    async def _run_patients(
        self, scope: TenantScope, patients: list[str], params: dict[str, Any]
    ) -> None:
        tracker, events = self._events.tracker, self._events
        assert tracker is not None and self.job_id is not None
        settings = await self._db.call(Settings, self.store)
        options = await self._db.call(job_options, settings, scope)
        # Popped whatever the caller asked for: how many run at once must not change the
        # options hash that decides whether a rerun may skip a patient.
        configured = options.pop("concurrency", None)
        concurrency = self._concurrency or configured or self._default_concurrency()
        self._user = ehr_user(self.connection)
        steps = await self._steps(scope)
        if not steps.spec.force:  # a rerun asks once which charts changed (issue 18)
            await steps.fetcher.ask_changes(scope, steps.connection_id, patients)
        queue: asyncio.Queue[str] = asyncio.Queue()
        # Every patient starts pending: the first progress event (with the total) says so; one
        # event per patient here would make a window redraw hundreds of rows in one go.
        for pid in patients:
            queue.put_nowait(pid)
        tracker.start()
        events.set_phase(JobPhase.PATIENTS)
        context = RunContext(scope=scope, params=params, options=options)
        if steps.poster is not None:
            await steps.poster.post_stored(context, self.job_id, lambda: self.cancelled)

        async def worker() -> None:
            while not self.cancelled:
                await self._running.wait()
                await self._authorized.wait()
                if self._stopping():  # cancel() wakes paused workers; they must stop here
                    return
                try:
                    pid = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                tracker.in_flight += 1
                try:
                    await steps.one(context, pid)
                except asyncio.CancelledError:
                    if not self._stopping():  # cancel() flips the flag while this awaits
                        raise
                    await self._worker_stopped(scope, pid)
                    return
                except AuthorizationLost as lost:
                    queue.put_nowait(pid)  # not this patient's fault: it goes back in line
                    await self._lose_authorization(scope, pid, lost.reason)
                finally:
                    tracker.in_flight -= 1

        ticker = asyncio.create_task(self._tick())
        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(patients)))]
        self._workers = workers
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            self._stop.is_set = True
            raise
        finally:
            for w in workers:
                w.cancel()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self._finish_job(scope)

    async def _worker_stopped(self, scope: TenantScope, patient_id: str) -> None:
        """Cancelled mid-patient: the patient goes back to pending for --resume, unless its
        sheet was already committed. The commit runs on the store's thread and cannot be
        stopped once started, so a cancel that arrives while it runs leaves a stored sheet
        and a DONE patient: that one counts as done and is not prepared again."""
        assert self.job_id is not None
        with contextlib.suppress(Exception):
            # Queued behind the commit on the store's one thread: it sees the committed state.
            stored = await self._db.call(scope.jobs.patient, self.job_id, patient_id)
            if stored is not None and stored.state is StoredState.DONE:
                tracker, summary = self._events.tracker, self._events.summary
                if tracker is not None and summary is not None:
                    tracker.done += 1
                    tracker.finished_one()
                    summary.done += 1
                self._events.patient(patient_id, PatientState.DONE)
                return
            await self._db.call(
                scope.jobs.finish_patient, self.job_id, patient_id, StoredState.PENDING
            )
        self._events.patient(patient_id, PatientState.PENDING, reason="stopped")

    async def _tick(self) -> None:
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            waited = self.connection.client.longest_wait()
            self._events.progress(
                f"waiting for the server ({waited:.0f} s)" if waited >= WAITING_SHOWN_AFTER else ""
            )
            if self.job_id is not None and time.monotonic() - renewed > LEASE_RENEW:
                renewed = time.monotonic()
                scope = await self._db.call(self.store.tenant, self._tenant_id())
                await self._db.call(scope.jobs.renew, self.job_id, self.owner)

    async def _lose_authorization(self, scope: TenantScope, patient_id: str, reason: str) -> None:
        if self._authorized.is_set():
            self._authorized.clear()
            self.lost_reason = reason
            log.warning("batch paused: authorization was lost: %s", reason)
            self._events.set_phase(
                JobPhase.RECONNECT, f"the EHR sign-in stopped working ({reason}): sign in again"
            )
            await self._db.call(
                scope.audit,
                AuditAction.REFRESH_FAILURE,
                outcome=Outcome.FAILURE,
                detail=f"batch paused: authorization was lost: {reason}",
                ehr_user=self._user,
            )
        self._events.patient(patient_id, PatientState.PENDING, reason="waiting for reconnect")
        if self._reconnect_timeout is not None:
            try:
                await asyncio.wait_for(self._authorized.wait(), self._reconnect_timeout)
            except TimeoutError:
                self._stop.is_set = True  # headless: nobody can sign in; the job stays resumable
                self._authorized.set()

    async def _finish_job(self, scope: TenantScope) -> None:
        assert self.job_id is not None
        await close_batch(self._db, scope, self.job_id, self._events, self.connection)


__all__: Sequence[str] = (
    "AuthorizationLost",
    "BatchJob",
    "BatchSummary",
    "lost_reason",
    "record_hash",
    "summary_to_json",
)
