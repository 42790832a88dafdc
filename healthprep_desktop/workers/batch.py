"""Batch preparation of a clinic day: a resumable, bounded worker pool over asyncio.

Per patient: fetch the chart -> extract document text (process pool, cached by content hash) ->
screen and render the sheet (process pool) -> store it -> write it back (if asked) -> audit.

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
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, date, datetime, timedelta
from typing import Any

from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import (
    AuthError,
    ConnectionRefused,
    FhirError,
    FhirTransportError,
    NameNotFound,
    RateLimited,
    ReauthenticationRequired,
    ServerError,
    ServerTimeout,
    TlsFailure,
    Unauthorized,
)
from healthprep_desktop.fhir.parsing import preload_models
from healthprep_desktop.fhir.preflight import preflight
from healthprep_desktop.fhir.presets import preset_for
from healthprep_desktop.fhir.record import FetchResult, RawDocument, fetch_patient_record
from healthprep_desktop.fhir.schedule import ScheduledVisit, fetch_schedule, unique_patients
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import StoreAudit
from healthprep_desktop.fhir.writeback import PrepSheetDocument, WritebackResult, write_back
from healthprep_desktop.screening.documents import (
    ExtractJob,
    extract_text_job,
    from_cache,
    remember,
)
from healthprep_desktop.screening.record import DocumentText, PatientRecord, TextMethod
from healthprep_desktop.screening.sheet_model import Appointment
from healthprep_desktop.settings import (
    Settings,
)
from healthprep_desktop.store import AuditAction, JobState, Outcome, Store, TenantScope
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.batch_support import (
    BatchSummary,
    RunContext,
    failure_reason,
    summary_to_json,
    visit_json,
)
from healthprep_desktop.workers.chart import (
    document_from_prior,
    drop_own_documents,
    merge_incremental,
    own_documents,
    record_hash,
    stable_hash,
)
from healthprep_desktop.workers.cpu import CpuPool, PrepareOutput, PrepareTask, prepare_patient
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.events import (
    JobPhase,
    JobProgress,
    Listener,
    PatientEvent,
    PatientState,
    ProgressTracker,
)
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.job_steps import (
    clinic_time_zone,
    commit_patient,
    dismissed_pairs,
    job_options,
    open_job,
    pending_writebacks,
    refuse_if_busy,
    user_entries,
)
from healthprep_desktop.workers.writeback_step import (
    WRITEBACK_KEY,
    OwnedLedger,
    WritebackState,
    WritebackStep,
    ehr_user,
    mark,
    sign_in_notice,
)

log = logging.getLogger(__name__)

SHEET_FORMAT = 1  # the layout of a stored sheet's results envelope
MAX_ATTEMPTS = 3  # per patient, for transient failures (the client already retried each request)
RETRY_PAUSE = 1.0  # seconds, doubled per attempt
SINCE_SKEW = timedelta(minutes=5)  # clocks differ: ask for a little more than strictly changed
LEASE_RENEW = 20.0  # seconds between renewals of the job's lease (store.repos.jobs.JOB_LEASE)
EVENT_CHUNK = 50  # events emitted back to back before yielding to the event loop
_TRANSIENT = (FhirTransportError, ServerError, RateLimited, BrokenProcessPool, TimeoutError)
# Not worth another attempt for the patient: the request already used its time budget, or the
# server cannot be reached at all (each request tried it already).
_HOPELESS = (ServerTimeout, ConnectionRefused, NameNotFound, TlsFailure)
PATIENT_BUDGET = 120.0  # seconds for one patient's chart fetch, every attempt included
WAITING_SHOWN_AFTER = 5.0  # seconds without an answer before "waiting for the server (N s)"


class AuthorizationLost(Exception):
    """Raised inside a worker when the connection needs a new sign-in."""

    def __init__(self, cause: BaseException) -> None:
        self.reason = lost_reason(cause)
        super().__init__(self.reason)


def lost_reason(exc: BaseException) -> str:
    """Why the sign-in stopped working, in words (our errors carry no token or secret)."""
    if isinstance(exc, ReauthenticationRequired):
        return exc.reason
    if isinstance(exc, Unauthorized):
        return "the EHR refused the access token (HTTP 401) and it could not be renewed"
    return str(exc) or type(exc).__name__


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
        self.listener = listener
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
        self._cancelled = False
        self._paused = False
        self._tracker: ProgressTracker | None = None
        self._summary: BatchSummary | None = None
        self._practitioners: dict[str, str] = {}
        self._capabilities: Capabilities | None = None
        # This run's identity in the store: it owns the job while it runs, and its write-back
        # claims; another process settles them only once this one is dead or its lease expired.
        self.owner = ClaimOwner.new()
        self._user: str | None = None
        self._step: WritebackStep | None = None
        self._owns_job = False

    # --- control (safe to call from the UI at any time) ----------------------------------------

    def pause(self) -> None:
        self._paused = True
        self._running.clear()
        self._set_phase(JobPhase.PAUSED)

    def resume(self) -> None:
        self._paused = False
        self._running.set()
        if self._authorized.is_set():
            self._set_phase(JobPhase.PATIENTS)

    def cancel(self) -> None:
        first = not self._cancelled
        self._cancelled = True
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
            self._set_phase(JobPhase.PATIENTS)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _stopping(self) -> bool:
        return self._cancelled

    @property
    def preparing_patients(self) -> bool:
        """Workers run (cancel() aborts them); before that the job checks and lists."""
        return bool(self._workers)

    @property
    def waiting_for_reconnect(self) -> bool:
        return not self._authorized.is_set()

    # --- events ------------------------------------------------------------------------------

    def _emit(self, event: PatientEvent | JobProgress) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # a broken listener must not stop the batch
            log.exception("progress listener failed")

    def _progress(self, message: str = "") -> None:
        if self._tracker is not None:
            self._emit(self._tracker.snapshot(message))

    def _set_phase(self, phase: JobPhase, message: str = "") -> None:
        if self._tracker is not None:
            self._tracker.phase = phase
            if self._summary is not None:
                self._summary.phase = phase
            self._progress(message)

    def _patient(self, patient_id: str, state: PatientState, **kw: Any) -> None:
        assert self.job_id is not None
        self._emit(PatientEvent(str(self.job_id), patient_id, state, **kw))

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
            assert self.job_id is not None and self._summary is not None
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
            if self._own_cpu and self._cpu is not None:
                await asyncio.get_running_loop().run_in_executor(None, self._cpu.shutdown)
            self._db.shutdown()
        summary = self._summary
        summary.seconds = time.monotonic() - started
        return summary

    def _tenant_id(self) -> str:
        assert self.spec is not None
        return self.spec.tenant_id

    async def _prepare_job(self) -> tuple[TenantScope, list[str], dict[str, Any]]:
        db = self._db
        if self._tz is None and self.spec is not None:  # a real EHR: the clinic's zone setting
            self._tz = await db.call(clinic_time_zone, self.store, self.spec.tenant_id)
        if self.job_id is None:
            assert self.spec is not None
            spec = self.spec
            scope = await db.call(self.store.tenant, spec.tenant_id)
            today = datetime.now(clinic_zone(self._tz)).date()
            clinic_day = spec.clinic_date or spec.as_of or today
            self._tracker = ProgressTracker(job_id="new")
            self._summary = BatchSummary(job_id=0, clinic_day=clinic_day)
            # Refuse before reading the schedule; open_job checks again, atomically.
            await db.call(refuse_if_busy, scope, self.connection_id, clinic_day, self.owner)
            if self._check_first:
                self._set_phase(JobPhase.SCHEDULE, "checking the connection")
                await preflight(
                    self.connection, clinic_day=spec.clinic_date, all_patients=spec.all_patients
                )
            self._set_phase(JobPhase.SCHEDULE, "reading the schedule")
            visits, patient_ids = await self._resolve_patients(spec)
            params: dict[str, Any] = {
                "spec": spec.to_json(),
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "visits": {v.patient_id: visit_json(v) for v in visits},
            }
            job = await db.call(
                open_job,
                self.store,
                scope,
                clinic_day,
                self.owner,
                connection_id=self.connection_id,
                params=params,
                patient_ids=patient_ids,
            )
            self._owns_job = True
            self.job_id = job.id
        else:
            tenant_id = self.spec.tenant_id if self.spec else None
            if tenant_id is None:
                raise ValueError("resuming a job needs the tenant: pass its JobSpec")
            scope = await db.call(self.store.tenant, tenant_id)
            found = await db.call(scope.jobs.get, self.job_id)
            if found is None:
                raise ValueError(f"there is no job {self.job_id} in this clinic")
            job = await db.call(open_job, self.store, scope, found.clinic_day, self.owner,
                                job_id=found.id)  # fmt: skip
            self._owns_job = True
            params = job.params
            self.spec = JobSpec.from_json(params["spec"])
            if self.connection_id is None:
                self.connection_id = job.connection_id
        stored = await db.call(scope.jobs.patients, job.id)
        patients = [p.patient_id for p in stored]
        self._summary = BatchSummary(job_id=job.id, clinic_day=job.clinic_day)
        self._tracker = ProgressTracker(job_id=str(job.id), total=len(patients))
        already = [p for p in stored if p.state is StoredState.DONE]
        self._tracker.done = len(already)
        self._summary.total = len(patients)
        self._summary.done = len(already)
        for n, p in enumerate(already, start=1):
            self._patient(p.patient_id, PatientState.DONE)
            if n % EVENT_CHUNK == 0:
                await asyncio.sleep(0)  # a listener may redraw per event: let the loop breathe
        return scope, [p.patient_id for p in stored if p.state is not StoredState.DONE], params

    async def _resolve_patients(self, spec: JobSpec) -> tuple[list[ScheduledVisit], list[str]]:
        client = self.connection.client
        if spec.clinic_date is not None:
            visits = await fetch_schedule(
                client, spec.clinic_date, tz=self._tz,
                practitioner=spec.practitioner, location=spec.location,
            )  # fmt: skip
            return visits, unique_patients(visits)
        if spec.patient_ids:
            return [], list(dict.fromkeys(spec.patient_ids))
        ids: list[str] = []
        async for page in client.search_pages("Patient", [("_elements", "id"), ("_count", 500)]):
            ids.extend(str(r["id"]) for r in page.resources if r.get("id"))
        return [], list(dict.fromkeys(ids))

    def _default_concurrency(self) -> int:
        rate = self.connection.config.rate_limit
        return max(1, min(64, rate.max_connections_hint()))

    async def _run_patients(
        self, scope: TenantScope, patients: list[str], params: dict[str, Any]
    ) -> None:
        assert self._tracker is not None and self._summary is not None and self.job_id is not None
        tracker = self._tracker
        settings = await self._db.call(Settings, self.store)
        options = await self._db.call(job_options, settings, scope)
        # Popped whatever the caller asked for: how many run at once must not change the
        # options hash that decides whether a rerun may skip a patient.
        configured = options.pop("concurrency", None)
        concurrency = self._concurrency or configured or self._default_concurrency()
        with contextlib.suppress(FhirError):
            self._capabilities = await self.connection.capabilities()
        assert self.spec is not None
        self._user = ehr_user(self.connection)
        if self.spec.write_back:
            notice = sign_in_notice(self.connection)
            if notice is not None:
                self._summary.notices.append(notice)
                log.warning("%s", notice)
            self._step = WritebackStep(scope, self._db, self.job_id, self._user, notice)
        queue: asyncio.Queue[str] = asyncio.Queue()
        # Every patient starts pending: the first progress event (with the total) says so; one
        # event per patient here would make a window redraw hundreds of rows in one go.
        for pid in patients:
            queue.put_nowait(pid)
        tracker.start()
        self._set_phase(JobPhase.PATIENTS)
        context = RunContext(scope=scope, params=params, options=options)
        if self._step is not None:
            await self._post_stored(context)

        async def worker() -> None:
            while not self._cancelled:
                await self._running.wait()
                await self._authorized.wait()
                if self.cancelled:  # cancel() wakes paused workers; they must stop here
                    return
                try:
                    pid = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                tracker.in_flight += 1
                try:
                    await self._one_patient(context, pid)
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
            self._cancelled = True
            raise
        finally:
            for w in workers:
                w.cancel()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self._finish_job(scope)

    async def _post_stored(self, ctx: RunContext) -> None:
        """Sheets a stopped run stored but did not post (or failed to): post them now."""
        assert self.job_id is not None
        scope = ctx.scope
        for pid, sheet_id in await self._db.call(pending_writebacks, scope, self.job_id):
            if self._cancelled:
                return
            sheet = await self._db.call(scope.sheets.get, sheet_id)
            if sheet is None or not isinstance(sheet.info.results, dict):
                continue
            envelope = sheet.info.results
            try:
                await self._post(
                    ctx, pid, sheet_id, envelope.get("text"), sheet.pdf, envelope["hashes"]
                )
            except (ReauthenticationRequired, Unauthorized, AuthError):
                return  # stays pending: the next run posts it

    async def _worker_stopped(self, scope: TenantScope, patient_id: str) -> None:
        """Cancelled mid-patient: the patient goes back to pending for --resume."""
        assert self.job_id is not None
        with contextlib.suppress(Exception):
            await self._db.call(
                scope.jobs.finish_patient, self.job_id, patient_id, StoredState.PENDING
            )
        self._patient(patient_id, PatientState.PENDING, reason="stopped")

    async def _tick(self) -> None:
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            waited = self.connection.client.longest_wait()
            self._progress(
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
            self._set_phase(
                JobPhase.RECONNECT, f"the EHR sign-in stopped working ({reason}): sign in again"
            )
            await self._db.call(
                scope.audit,
                AuditAction.REFRESH_FAILURE,
                outcome=Outcome.FAILURE,
                detail=f"batch paused: authorization was lost: {reason}",
                ehr_user=self._user,
            )
        self._patient(patient_id, PatientState.PENDING, reason="waiting for reconnect")
        if self._reconnect_timeout is not None:
            try:
                await asyncio.wait_for(self._authorized.wait(), self._reconnect_timeout)
            except TimeoutError:
                self._cancelled = True  # headless: nobody can sign in; the job stays resumable
                self._authorized.set()

    async def _finish_job(self, scope: TenantScope) -> None:
        assert self.job_id is not None and self._summary is not None
        summary = self._summary
        counts = await self._db.call(scope.jobs.counts, self.job_id)
        unfinished = counts[StoredState.PENDING] + counts[StoredState.RUNNING]
        waiting = self._tracker is not None and self._tracker.phase is JobPhase.RECONNECT
        if unfinished:
            # Stopped early (cancelled, or nobody signed in again): the job stays resumable.
            state = JobState.CANCELLED
            phase = JobPhase.RECONNECT if waiting else JobPhase.CANCELLED
        elif counts[StoredState.FAILED] and not counts[StoredState.DONE]:
            state, phase = JobState.FAILED, JobPhase.FINISHED
        else:
            state, phase = JobState.DONE, JobPhase.FINISHED
        await self._db.call(scope.jobs.set_state, self.job_id, state)
        if summary.done or summary.skipped:
            self.connection.status_tracker.mark_synced()
        summary.requests = self.connection.client.stats.requests
        self._set_phase(phase)

    # --- one patient -------------------------------------------------------------------------

    async def _one_patient(self, ctx: RunContext, patient_id: str) -> None:
        assert self.job_id is not None and self._tracker is not None and self._summary is not None
        scope, db = ctx.scope, self._db
        await db.call(scope.jobs.start_patient, self.job_id, patient_id)
        deadline = time.monotonic() + self._patient_budget
        last_error: BaseException | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if self._cancelled:
                await db.call(
                    scope.jobs.finish_patient, self.job_id, patient_id, StoredState.PENDING
                )
                return
            try:
                state, hashes, summary = await self._prepare(ctx, patient_id, deadline)
            except (ReauthenticationRequired, Unauthorized, AuthError) as exc:
                await db.call(
                    scope.jobs.finish_patient, self.job_id, patient_id, StoredState.PENDING
                )
                raise AuthorizationLost(exc) from exc
            except _HOPELESS as exc:
                last_error = exc
                break
            except _TRANSIENT as exc:
                last_error = exc
                log.info("patient attempt %d failed: %s", attempt, type(exc).__name__)
                pause = RETRY_PAUSE * 2 ** (attempt - 1)
                if attempt < MAX_ATTEMPTS and time.monotonic() + pause < deadline:
                    await asyncio.sleep(pause)
                    continue
                break
            except Exception as exc:
                last_error = exc
                if not isinstance(exc, FhirError):
                    log.exception("preparing a patient failed")
                break
            if state is PatientState.SKIPPED:
                # A prepared patient was committed with its sheet (commit_patient); a skipped
                # one only changes state.
                await db.call(
                    scope.jobs.finish_patient,
                    self.job_id,
                    patient_id,
                    StoredState.DONE,
                    hashes=hashes,
                )
                self._tracker.skipped += 1
                self._summary.skipped += 1
            else:
                self._tracker.done += 1
                self._summary.done += 1
            self._tracker.finished_one()
            self._patient(patient_id, state, summary=summary)
            self._progress()
            return
        reason = failure_reason(last_error) if last_error else "unknown failure"
        await db.call(
            scope.jobs.finish_patient, self.job_id, patient_id, StoredState.FAILED, reason=reason
        )
        await db.call(
            scope.audit,
            AuditAction.FETCH,
            patient_id=patient_id,
            outcome=Outcome.FAILURE,
            detail=f"job {self.job_id}: {type(last_error).__name__}",
            ehr_user=self._user,
        )
        self._tracker.failed += 1
        self._tracker.finished_one()
        self._summary.failed += 1
        self._summary.failures[patient_id] = reason
        self._patient(patient_id, PatientState.FAILED, reason=reason)
        self._progress()

    async def _prepare(
        self, ctx: RunContext, patient_id: str, deadline: float
    ) -> tuple[PatientState, dict[str, str], dict[str, int]]:
        assert self.job_id is not None and self.spec is not None and self._cpu is not None
        scope, db, spec = ctx.scope, self._db, self.spec
        clinic_day = self._summary.clinic_day if self._summary else date.today()
        as_of = spec.screening_date(clinic_day)
        conn_id = self.connection_id or 0

        # 1. Fetch (incrementally when we have the last chart and nothing forces a full read).
        self._patient(patient_id, PatientState.FETCHING)
        previous = None if spec.force else await db.call(scope.records.get, conn_id, patient_id)
        since = None
        if previous is not None:
            since = datetime.fromisoformat(previous.fetched_at) - SINCE_SKEW
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                fetched = await fetch_patient_record(
                    self.connection.client,
                    patient_id,
                    capabilities=self._capabilities,
                    since=since,
                    etags=previous.etags if previous else None,
                    source=self.connection.config.name,
                )
        except TimeoutError as exc:
            raise ServerTimeout(
                f"{self.connection.client.host} did not send this patient's chart within "
                f"{self._patient_budget:.0f} s: the server may be overloaded; try again later."
            ) from exc
        record = fetched.record
        own = await db.call(own_documents, scope, patient_id)
        if own:
            drop_own_documents(record, fetched, own)
        prior_docs: dict[str, dict[str, Any]] = {}
        if previous is not None:
            merge_incremental(previous.record, record, fetched.report.patient_unchanged)
            prior_docs = {d["reference"]: d for d in previous.record.get("documents", [])}
        await db.call(
            scope.audit,
            AuditAction.FETCH,
            patient_id=patient_id,
            detail=f"job {self.job_id}: {fetched.report.resources} resources, "
            f"{fetched.report.requests} requests ({fetched.report.strategy})",
            ehr_user=self._user,
        )

        # 2. Document text: the cache first, the process pool for the rest.
        self._patient(patient_id, PatientState.EXTRACTING)
        record.documents = await self._documents(ctx, record, fetched, prior_docs)

        # 3. Unchanged chart, library and settings: the stored sheet stands.
        hashes = {
            "record": record_hash(record),
            "library": ctx.library_hash,
            "as_of": as_of.isoformat(),
            "options": ctx.options_hash,
        }
        dismissed = await db.call(dismissed_pairs, scope, patient_id)
        hashes["dismissed"] = stable_hash(sorted(dismissed))
        # A user's entry changes the sheet without any change on the server.
        entries = await db.call(user_entries, scope, patient_id)
        if entries:
            hashes["entries"] = stable_hash(sorted(repr(e) for e in entries))
        stored_doc = {
            "patient": record.patient,
            "resources": record.resources,
            "documents": [
                {
                    "reference": d.reference,
                    "content_hash": d.content_hash,
                    "title": d.title,
                    "date": d.date.isoformat() if d.date else None,
                    "content_type": d.content_type,
                }
                for d in record.documents
            ],
        }
        await db.call(
            scope.records.put,
            conn_id,
            patient_id,
            fetched_at=(record.fetched_at or datetime.now(UTC)).isoformat(),
            etags=fetched.report.etags,
            record=stored_doc,
            record_hash=hashes["record"],
        )
        if not spec.force:
            latest = await db.call(scope.sheets.latest, patient_id, clinic_day)
            envelope = latest.info.results if latest else None
            if (
                latest is not None
                and isinstance(envelope, dict)
                and envelope.get("hashes") == hashes
            ):
                if self._summary is not None:
                    self._summary.sheet_ids[patient_id] = latest.info.id
                if spec.write_back:
                    await self._post(
                        ctx, patient_id, latest.info.id, envelope.get("text"), latest.pdf, hashes
                    )
                return PatientState.SKIPPED, hashes, dict(envelope.get("summary") or {})

        # 4. Screen and render, off the event loop.
        self._patient(patient_id, PatientState.SCREENING)
        preset = preset_for(self.connection.config.vendor)
        task = PrepareTask(
            record=record,
            as_of=as_of,
            generated_at=datetime.fromisoformat(ctx.params["generated_at"]),
            library_json=ctx.library_json,
            library_hash=ctx.library_hash,
            due_soon_days=ctx.options.get("due_soon_days"),
            dismissed=tuple(sorted(dismissed)),
            entries=tuple(entries),
            appointment=await self._appointment(ctx, patient_id),
            clinic_name=self._clinic_name,
            cutoffs=ctx.cutoffs,
            tz=self._tz,
            want_text=spec.write_back and preset.writeback_content_type == "text/plain",
        )
        output: PrepareOutput = await self._cpu.run(prepare_patient, task)
        await db.call(
            scope.audit,
            AuditAction.SCREEN,
            patient_id=patient_id,
            detail=f"job {self.job_id}: {len(output.results)} screenings",
            ehr_user=self._user,
        )

        # 5. Store the sheet, mark the patient done and audit in ONE transaction: a crash before
        # it redoes the patient; a crash after it leaves the sheet safe, its write-back
        # "pending" on the sheet, which a resumed run posts (at most once: the ledger).
        self._patient(patient_id, PatientState.STORING)
        envelope = {
            "format": SHEET_FORMAT,
            "hashes": hashes,
            "as_of": as_of.isoformat(),
            "summary": output.summary,
            "results": output.results_json,
            "warnings": list(record.warnings),
            "text": output.text,
        }
        if spec.write_back:
            envelope[WRITEBACK_KEY] = mark(WritebackState.PENDING)
        sheet_id = await db.call(
            commit_patient,
            self.store,
            scope,
            self.job_id,
            patient_id,
            clinic_day,
            output.pdf,
            envelope,
            hashes,
            self._user,
        )
        if self._summary is not None:
            self._summary.sheet_ids[patient_id] = sheet_id
        # 6. Write back: its own step, with retries and a state on the stored sheet.
        if spec.write_back:
            await self._post(ctx, patient_id, sheet_id, output.text, output.pdf, hashes)
        return PatientState.DONE, hashes, output.summary

    async def _post(
        self,
        ctx: RunContext,
        patient_id: str,
        sheet_id: int,
        text: str | None,
        pdf: bytes,
        hashes: dict[str, str],
    ) -> None:
        assert self._step is not None and self._summary is not None
        self._patient(patient_id, PatientState.WRITING_BACK)
        state, reason = await self._step.run(
            patient_id, sheet_id, lambda: self._write_back(ctx, patient_id, text, pdf, hashes)
        )
        if state is WritebackState.POSTED:
            if reason in ("created", "replaced"):
                self._summary.written_back += 1
        else:
            self._summary.not_posted[patient_id] = reason

    async def _write_back(
        self,
        ctx: RunContext,
        patient_id: str,
        text: str | None,
        pdf: bytes,
        hashes: dict[str, str],
    ) -> WritebackResult:
        assert self.spec is not None and self._summary is not None
        config = self.connection.config
        preset = preset_for(config.vendor)
        visit = ctx.params.get("visits", {}).get(patient_id) or {}
        doc = PrepSheetDocument(
            patient_id=patient_id,
            sheet_key=f"prep-sheet/{self._summary.clinic_day.isoformat()}",
            title=f"Pre-visit prep sheet {self._summary.clinic_day.isoformat()}",
            text=text,
            pdf=None if preset.writeback_content_type == "text/plain" else pdf,
            encounter_id=visit.get("encounter"),
            content_key=stable_hash(hashes),
        )
        return await write_back(
            self.connection.client,
            doc,
            ledger=OwnedLedger(ctx.scope, self.owner),
            tenant=ctx.scope.id,
            connection=config.name,
            content_type=preset.writeback_content_type,
            single_attachment=preset.writeback_single_attachment,
            require_encounter=preset.writeback_needs_encounter,
            clinic_day=self._summary.clinic_day,
            appointment_id=visit.get("appointment"),
            visit_start=visit.get("start"),
            tz=self._tz,
            audit=StoreAudit(self.store),
            user=self._user,
        )

    async def _documents(
        self,
        ctx: RunContext,
        record: PatientRecord,
        fetched: FetchResult,
        prior: dict[str, dict[str, Any]],
    ) -> list[DocumentText]:
        assert self._cpu is not None
        cache = ctx.scope.text_cache
        out: dict[str, DocumentText] = {}
        jobs: list[ExtractJob] = []
        warnings: dict[str, RawDocument] = {}
        for raw in fetched.documents:
            if raw.data is None:
                if raw.not_modified and raw.reference in prior:
                    prior_doc = prior[raw.reference]
                    text = await self._db.call(cache.get, prior_doc["content_hash"])
                    if text is not None:
                        out[raw.reference] = document_from_prior(prior_doc, text)
                        continue
                warnings[raw.reference] = raw
                continue
            job = ExtractJob(
                reference=raw.reference,
                title=raw.title,
                date=raw.date,
                content_type=raw.content_type,
                data=raw.data,
                ocr=ctx.ocr,
            )
            hit = await self._db.call(from_cache, job, cache)
            if hit is not None:
                out[raw.reference] = hit
            else:
                jobs.append(job)
        extracted = await asyncio.gather(*(self._cpu.run(extract_text_job, j) for j in jobs))
        for doc in extracted:
            await self._db.call(remember, doc, cache)
            out[doc.reference] = doc
        for ref, raw in warnings.items():
            out[ref] = DocumentText(
                reference=ref,
                title=raw.title,
                date=raw.date,
                content_type=raw.content_type,
                content_hash="",
                text="",
                method=TextMethod.NONE,
                warning=raw.warning or "the attachment could not be fetched",
            )
        # An incremental fetch returns only changed DocumentReferences; the others are still in
        # the merged chart and their text is in the cache.
        still_there = {
            f"DocumentReference/{r.get('id')}"
            for r in record.resources
            if r.get("resourceType") == "DocumentReference"
        }
        for ref, prior_doc in prior.items():
            if ref not in out and ref in still_there:
                text = await self._db.call(cache.get, prior_doc["content_hash"])
                if text is not None:
                    out[ref] = document_from_prior(prior_doc, text)
        return [out[k] for k in sorted(out)]

    async def _appointment(self, ctx: RunContext, patient_id: str) -> Appointment | None:
        visit = ctx.params.get("visits", {}).get(patient_id)
        if not visit:
            return None
        provider = None
        for ref in visit.get("practitioners", []):
            provider = await self._practitioner_name(ref)
            if provider:
                break
        start = None
        if visit.get("start"):
            with contextlib.suppress(ValueError):
                start = datetime.fromisoformat(visit["start"].replace("Z", "+00:00"))
        return Appointment(
            start=start, provider=provider, location=None, reason=visit.get("description")
        )

    async def _practitioner_name(self, reference: str) -> str | None:
        if reference in self._practitioners:
            return self._practitioners[reference] or None
        name = ""
        try:
            kind, _, pid = reference.partition("/")
            res = await self.connection.client.read(kind or "Practitioner", pid)
            names = res.get("name") or []
            if names:
                n = names[0]
                name = (
                    n.get("text")
                    or " ".join(
                        [*(n.get("prefix") or []), *(n.get("given") or []), n.get("family") or ""]
                    ).strip()
                )
        except FhirError:
            name = ""
        self._practitioners[reference] = name
        return name or None


__all__: Sequence[str] = (
    "BatchJob",
    "BatchSummary",
    "record_hash",
    "summary_to_json",
)
