"""One patient through the batch: fetch -> document text -> (keep the stored sheet, or screen
and render) -> store -> write back, with retries for transient failures within a time budget,
and the patient's outcome recorded in the job, the audit log and the summary."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date

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
from healthprep_desktop.store import AuditAction, Outcome
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.workers.batch_fetch import ChartFetcher
from healthprep_desktop.workers.batch_progress import JobEvents
from healthprep_desktop.workers.batch_sheet import SheetMaker
from healthprep_desktop.workers.batch_sources import SourceReader
from healthprep_desktop.workers.batch_support import RunContext, failure_reason
from healthprep_desktop.workers.batch_writeback import BatchPoster
from healthprep_desktop.workers.chart import record_hash
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.events import PatientState
from healthprep_desktop.workers.job import JobSpec

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per patient, for transient failures (the client already retried each request)
RETRY_PAUSE = 1.0  # seconds, doubled per attempt
_TRANSIENT = (FhirTransportError, ServerError, RateLimited, BrokenProcessPool, TimeoutError)
# Not worth another attempt for the patient: the request already used its time budget, or the
# server cannot be reached at all (each request tried it already).
_HOPELESS = (ServerTimeout, ConnectionRefused, NameNotFound, TlsFailure)
_AUTH = (ReauthenticationRequired, Unauthorized, AuthError)


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


class StopFlag:
    """Read by the steps; set by BatchJob.cancel()."""

    def __init__(self) -> None:
        self.is_set = False


@dataclass
class PatientOutcome:
    state: PatientState  # DONE (a new sheet) or SKIPPED (the stored sheet stands)
    hashes: dict[str, str]
    summary: dict[str, int]


@dataclass
class PatientSteps:
    """The per-patient steps of one job, each in its own module."""

    db: StoreExecutor
    spec: JobSpec
    job_id: int
    connection_id: int
    events: JobEvents
    fetcher: ChartFetcher
    sheets: SheetMaker
    poster: BatchPoster | None
    user: str | None
    patient_budget: float
    stopped: StopFlag
    sources: SourceReader | None = None  # the clinic's secondary sources (batch_sources.py)

    async def one(self, ctx: RunContext, patient_id: str) -> None:
        """Prepare the patient (retrying transient failures) and record the outcome. A lost
        sign-in puts the patient back to pending and raises AuthorizationLost."""
        tracker, summary = self.events.tracker, self.events.summary
        assert tracker is not None and summary is not None
        scope, db = ctx.scope, self.db
        await db.call(scope.jobs.start_patient, self.job_id, patient_id)
        deadline = time.monotonic() + self.patient_budget
        last_error: BaseException | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if self.stopped.is_set:
                await db.call(
                    scope.jobs.finish_patient, self.job_id, patient_id, StoredState.PENDING
                )
                return
            try:
                outcome = await self.prepare(ctx, patient_id, deadline)
            except _AUTH as exc:
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
            if outcome.state is PatientState.SKIPPED:
                # A prepared patient was committed with its sheet (commit_patient); a skipped
                # one only changes state.
                await db.call(
                    scope.jobs.finish_patient,
                    self.job_id,
                    patient_id,
                    StoredState.DONE,
                    hashes=outcome.hashes,
                )
                tracker.skipped += 1
                summary.skipped += 1
            else:
                tracker.done += 1
                summary.done += 1
            tracker.finished_one()
            self.events.patient(patient_id, outcome.state, summary=outcome.summary)
            self.events.progress()
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
            ehr_user=self.user,
        )
        tracker.failed += 1
        tracker.finished_one()
        summary.failed += 1
        summary.failures[patient_id] = reason
        self.events.patient(patient_id, PatientState.FAILED, reason=reason)
        self.events.progress()

    async def prepare(self, ctx: RunContext, patient_id: str, deadline: float) -> PatientOutcome:
        summary = self.events.summary
        spec, db, events = self.spec, self.db, self.events
        clinic_day = summary.clinic_day if summary else date.today()
        as_of = spec.screening_date(clinic_day)

        # 1. Fetch (incrementally when we have the last chart and nothing forces a full read).
        events.patient(patient_id, PatientState.FETCHING)
        previous = (
            None if spec.force else await db.call(ctx.scope.records.get, self.connection_id,
                                                  patient_id)
        )  # fmt: skip
        chart = await self.fetcher.chart(
            ctx.scope, self.connection_id, patient_id, previous, deadline
        )
        record = chart.record

        # 2. Document text (the cache first, the process pool for the rest), while the other
        # sources are searched, read and merged (batch_sources.py; the primary alone is stored).
        events.patient(patient_id, PatientState.EXTRACTING)
        linking = None
        if self.sources is not None:
            linking = self.sources.start(ctx.scope, patient_id, record, deadline)
        try:
            record.documents = await self.fetcher.documents(ctx, chart)
        except BaseException:
            if linking is not None:
                linking.cancel()
            raise
        screened, provenance = record, None
        if linking is not None:
            merged = await linking
            screened, provenance = merged.record, merged.sources
            screened.documents = record.documents

        # 3. Unchanged chart, library and settings: the stored sheet stands.
        inputs = await self.sheets.inputs(ctx, patient_id, screened, as_of)
        hashes = inputs.hashes
        chart_hash = hashes["record"] if screened is record else record_hash(record)
        await self.sheets.keep_chart(ctx, self.connection_id, patient_id, chart, chart_hash)
        if not spec.force:
            kept = await self.sheets.reusable(ctx, patient_id, clinic_day, hashes)
            if kept is not None:
                if summary is not None:
                    summary.sheet_ids[patient_id] = kept.sheet_id
                if self.poster is not None:
                    text = kept.envelope.get("text")
                    await self.poster.post(ctx, patient_id, kept.sheet_id, text, kept.pdf, hashes)
                return PatientOutcome(
                    PatientState.SKIPPED, hashes, dict(kept.envelope.get("summary") or {})
                )

        # 4. Screen and render, off the event loop.
        events.patient(patient_id, PatientState.SCREENING)
        appointment = await self.fetcher.appointment(ctx, patient_id)
        output = await self.sheets.screen(
            ctx, screened, as_of, inputs, appointment, write_back=spec.write_back,
            sources=provenance,
        )  # fmt: skip
        await self.sheets.audit_screen(ctx, patient_id, len(output.results))

        # 5. Store the sheet, mark the patient done and audit in one transaction.
        events.patient(patient_id, PatientState.STORING)
        sheet_id = await self.sheets.commit(
            ctx, patient_id, clinic_day, as_of, screened, hashes, output, write_back=spec.write_back
        )
        if summary is not None:
            summary.sheet_ids[patient_id] = sheet_id
        # 6. Write back: its own step, with retries and a state on the stored sheet.
        if self.poster is not None:
            await self.poster.post(ctx, patient_id, sheet_id, output.text, output.pdf, hashes)
        return PatientOutcome(PatientState.DONE, hashes, output.summary)
