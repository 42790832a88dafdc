"""The batch's fetch step: who is on the day, each patient's chart (incrementally when the
last one is stored), its documents' text (cache first, the process pool for the rest) and the
visit's details for the sheet header."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from healthprep_desktop.fhir.changed_patients import can_list_changes, changed_patients
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import FhirError, ServerTimeout
from healthprep_desktop.fhir.fetch_plan import NOT_OFFERED, plan_fetch
from healthprep_desktop.fhir.record import (
    FetchReport,
    FetchResult,
    RawDocument,
    fetch_patient_record,
)
from healthprep_desktop.fhir.schedule import ScheduledVisit, fetch_schedule, unique_patients
from healthprep_desktop.fhir.search_limits_store import save_scope_limits
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.screening.documents import (
    ExtractJob,
    extract_text_job,
    from_cache,
    remember,
)
from healthprep_desktop.screening.needs import chart_needs
from healthprep_desktop.screening.record import DocumentText, PatientRecord, TextMethod
from healthprep_desktop.screening.sheet_model import Appointment
from healthprep_desktop.store import AuditAction, TenantScope
from healthprep_desktop.store.repos.patient_records import StoredRecord
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import (
    document_from_prior,
    drop_own_documents,
    merge_incremental,
    own_documents,
    own_references,
)
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.job import JobSpec

log = logging.getLogger(__name__)
SINCE_SKEW = timedelta(minutes=5)  # clocks differ: ask for a little more than strictly changed
# What a `Group/[id]/$export?_since=` costs, about: kick-off, a poll or two, the changed types'
# files, the delete.
EXPORT_REQUESTS = 8
UNCHANGED = "unchanged"  # FetchReport.strategy of a stored chart reused without a request


@dataclass(frozen=True, slots=True)
class DayChanges:
    """The rerun's one question to the server (fhir/changed_patients.py): which patients had
    anything change after `since`, as of `asked_at`. A stored chart fetched at or after
    `since` + SINCE_SKEW of a patient not in `changed` is still current."""

    since: datetime
    asked_at: datetime
    changed: frozenset[str]

    def unchanged(self, patient_id: str, previous: StoredRecord) -> bool:
        fetched_at = datetime.fromisoformat(previous.fetched_at)
        covered = self.since <= fetched_at - SINCE_SKEW and fetched_at <= self.asked_at
        return covered and patient_id not in self.changed


def _stored_charts(
    scope: TenantScope, conn_id: int, patient_ids: list[str]
) -> tuple[int, datetime | None]:
    """How many of the patients have a stored chart, and the oldest one's fetch time."""
    count, oldest = 0, None
    for patient_id in patient_ids:
        stored = scope.records.get(conn_id, patient_id)
        if stored is None:
            continue
        count += 1
        fetched_at = datetime.fromisoformat(stored.fetched_at)
        if oldest is None or fetched_at < oldest:
            oldest = fetched_at
    return count, oldest


async def resolve_patients(
    connection: FhirConnection, spec: JobSpec, tz: str | None
) -> tuple[list[ScheduledVisit], list[str]]:
    """The day's visits and unique patients (or the given patients, or every patient)."""
    client = connection.client
    if spec.clinic_date is not None:
        visits = await fetch_schedule(
            client, spec.clinic_date, tz=tz,
            practitioner=spec.practitioner, location=spec.location,
        )  # fmt: skip
        return visits, unique_patients(visits)
    if spec.patient_ids:
        return [], list(dict.fromkeys(spec.patient_ids))
    ids: list[str] = []
    async for page in client.search_pages("Patient", [("_elements", "id"), ("_count", 500)]):
        ids.extend(str(r["id"]) for r in page.resources if r.get("id"))
    return [], list(dict.fromkeys(ids))


@dataclass
class FetchedChart:
    fetched: FetchResult
    record: PatientRecord
    prior_docs: dict[str, dict[str, Any]]  # reference -> the stored chart's document entry


@dataclass
class ChartFetcher:
    """Fetches charts and their documents for one job."""

    connection: FhirConnection
    db: StoreExecutor
    cpu: CpuPool
    job_id: int
    user: str | None
    patient_budget: float
    capabilities: Capabilities | None = None
    changes: DayChanges | None = None  # set by ask_changes on a rerun the server can answer
    _practitioners: dict[str, str] = field(default_factory=dict)

    async def ask_changes(self, scope: TenantScope, conn_id: int, patient_ids: list[str]) -> None:
        """On a rerun, ask the server once which of the day's patients changed since the oldest
        stored chart, so the others are not asked one by one (issue 18). Nothing stored, or a
        server that cannot say: every patient is fetched incrementally as before."""
        stored, oldest = await self.db.call(_stored_charts, scope, conn_id, patient_ids)
        if oldest is None:
            return
        since = oldest - SINCE_SKEW
        if not self._worth_asking(stored, since):
            return
        asked_at = datetime.now(UTC)  # before the question: later changes are not covered
        group = self.connection.config.panel_group_id or None
        try:
            changed = await changed_patients(
                self.connection.client, self.capabilities, chart_needs().types, since,
                group_id=group,
            )  # fmt: skip
        except FhirError as exc:  # the patients' own fetches will meet it again, and say so
            log.info("asking which charts changed failed (%s)", type(exc).__name__)
            return
        if changed is not None:
            self.changes = DayChanges(since, asked_at, frozenset(changed))

    def _worth_asking(self, stored: int, since: datetime) -> bool:
        """Whether the question costs fewer requests than asking each stored patient: one
        search per type (and the Patient) where searches can list changes, a handful for the
        export; a few patients on a server with `$everything` are cheaper asked one by one."""
        types = chart_needs().types
        if can_list_changes(self.capabilities, types):
            offered = self.capabilities.resources if self.capabilities is not None else {}
            question = 1 + sum(1 for t in types if t != "Medication" and t in offered)
        else:
            question = EXPORT_REQUESTS
        limits = self.connection.client.search_limits
        per_patient = plan_fetch(self.capabilities, since=since, limits=limits).expected_requests()
        return stored * per_patient > question

    async def _reuse(
        self, scope: TenantScope, patient_id: str, previous: StoredRecord
    ) -> FetchedChart:
        """The stored chart as the incremental fetch would have merged it when nothing
        changed: the same resources in the same order, the stored Patient, the documents'
        text from the cache (documents()), and the warnings the plan itself gives."""
        assert self.changes is not None
        stored = previous.record
        limits = self.connection.client.search_limits
        plan = plan_fetch(self.capabilities, since=self.changes.since, limits=limits)
        not_offered = [t for t, why in plan.skipped if why == NOT_OFFERED]
        # Word for word as fhir/record.py says it, so the sheet is the same either way.
        warnings = (
            [f"the server does not offer {', '.join(not_offered)}; screened without them"]
            if not_offered
            else []
        )
        record = PatientRecord(
            patient=stored.get("patient") or {},
            resources=list(stored.get("resources") or []),
            fetched_at=self.changes.asked_at,
            source=self.connection.config.name,
            warnings=warnings,
        )
        report = FetchReport(
            patient_id=patient_id,
            strategy=UNCHANGED,
            resources=len(record.resources),
            etags=dict(previous.etags),
            patient_unchanged=True,
        )
        prior_docs = {d["reference"]: d for d in stored.get("documents", [])}
        await self.db.call(
            scope.audit,
            AuditAction.FETCH,
            patient_id=patient_id,
            detail=f"job {self.job_id}: unchanged since the last fetch, stored chart used "
            "(0 requests)",
            ehr_user=self.user,
        )
        return FetchedChart(FetchResult(record, [], report), record, prior_docs)

    async def chart(
        self,
        scope: TenantScope,
        conn_id: int,
        patient_id: str,
        previous: StoredRecord | None,
        deadline: float,
    ) -> FetchedChart:
        """The patient's chart, merged with the stored one when only changes were fetched; the
        app's own posted sheets are left out (they are not the patient's history). A patient
        the day's change question ruled out gets the stored chart, with no request."""
        if (
            previous is not None
            and self.changes is not None
            and self.changes.unchanged(patient_id, previous)
        ):
            return await self._reuse(scope, patient_id, previous)
        since = None
        if previous is not None:
            since = datetime.fromisoformat(previous.fetched_at) - SINCE_SKEW
        # The app's own sheets: their attachments are not fetched (planner, issue 18).
        own = await self.db.call(own_documents, scope, patient_id)
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                fetched = await fetch_patient_record(
                    self.connection.client,
                    patient_id,
                    capabilities=self.capabilities,
                    since=since,
                    etags=previous.etags if previous else None,
                    source=self.connection.config.name,
                    skip_documents=own_references(own),
                )
        except TimeoutError as exc:
            raise ServerTimeout(
                f"{self.connection.client.host} did not send this patient's chart within "
                f"{self.patient_budget:.0f} s: the server may be overloaded; try again later."
            ) from exc
        record = fetched.record
        if fetched.report.learned:
            # What the server refused is kept for the connection (fhir/search_limits_store).
            limits = self.connection.client.search_limits
            await self.db.call(save_scope_limits, scope, conn_id, limits)
        if own:
            drop_own_documents(record, fetched, own)
        prior_docs: dict[str, dict[str, Any]] = {}
        if previous is not None:
            merge_incremental(previous.record, record, fetched.report.patient_unchanged)
            prior_docs = {d["reference"]: d for d in previous.record.get("documents", [])}
        await self.db.call(
            scope.audit,
            AuditAction.FETCH,
            patient_id=patient_id,
            detail=f"job {self.job_id}: {fetched.report.resources} resources, "
            f"{fetched.report.requests} requests ({fetched.report.strategy})",
            ehr_user=self.user,
        )
        return FetchedChart(fetched, record, prior_docs)

    async def documents(self, ctx: RunContext, chart: FetchedChart) -> list[DocumentText]:
        """Each document's text: from the encrypted cache by content hash, else extracted in
        the process pool (and cached)."""
        record, fetched, prior = chart.record, chart.fetched, chart.prior_docs
        cache = ctx.scope.text_cache
        out: dict[str, DocumentText] = {}
        jobs: list[ExtractJob] = []
        warnings: dict[str, RawDocument] = {}
        for raw in fetched.documents:
            if raw.data is None:
                if raw.not_modified and raw.reference in prior:
                    prior_doc = prior[raw.reference]
                    text = await self.db.call(cache.get, prior_doc["content_hash"])
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
            hit = await self.db.call(from_cache, job, cache)
            if hit is not None:
                out[raw.reference] = hit
            else:
                jobs.append(job)
        extracted = await asyncio.gather(*(self.cpu.run(extract_text_job, j) for j in jobs))
        for doc in extracted:
            await self.db.call(remember, doc, cache)
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
                text = await self.db.call(cache.get, prior_doc["content_hash"])
                if text is not None:
                    out[ref] = document_from_prior(prior_doc, text)
        return [out[k] for k in sorted(out)]

    async def appointment(self, ctx: RunContext, patient_id: str) -> Appointment | None:
        """The visit for the sheet's header: its time, provider and reason."""
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
