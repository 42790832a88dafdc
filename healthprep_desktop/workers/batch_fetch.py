"""The batch's fetch step: who is on the day, each patient's chart (incrementally when the
last one is stored), its documents' text (cache first, the process pool for the rest) and the
visit's details for the sheet header."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import FhirError, ServerTimeout
from healthprep_desktop.fhir.record import FetchResult, RawDocument, fetch_patient_record
from healthprep_desktop.fhir.schedule import ScheduledVisit, fetch_schedule, unique_patients
from healthprep_desktop.fhir.search_limits_store import save_scope_limits
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.screening.documents import (
    ExtractJob,
    extract_text_job,
    from_cache,
    remember,
)
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

SINCE_SKEW = timedelta(minutes=5)  # clocks differ: ask for a little more than strictly changed


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
    _practitioners: dict[str, str] = field(default_factory=dict)

    async def chart(
        self,
        scope: TenantScope,
        conn_id: int,
        patient_id: str,
        previous: StoredRecord | None,
        deadline: float,
    ) -> FetchedChart:
        """The patient's chart, merged with the stored one when only changes were fetched; the
        app's own posted sheets are left out (they are not the patient's history)."""
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
