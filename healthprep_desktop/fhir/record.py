"""One patient's chart, fetched in as few round trips as the server allows.

The plan (fhir/fetch_plan.py) comes from the CapabilityStatement and from what the library, the
measures and the sheet read: `Patient/$everything` when offered; else one batch Bundle of
searches; else `Patient?_id=..&_revinclude=..` for the types it can revinclude; else one search
per type (and per required category), all of a patient's searches concurrently (the client's
concurrency cap and rate limit bound them). A 400 on an optional parameter is retried without it
and remembered for the connection (fhir/search_limits.py). Documents' attachments come back as
bytes (RawDocument) for the screening package's text extraction (fhir/chart_documents.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from healthprep_desktop.fhir.chart_documents import (
    RawDocument,
    document_date,
    document_title,
    fetch_documents,
    pick_attachment,
)
from healthprep_desktop.fhir.client import FhirClient, RequestCounter, current_counter
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import FhirError, FhirHttpError, NotFound
from healthprep_desktop.fhir.fetch_plan import (
    CORE_TYPES,
    NOT_OFFERED,
    FetchPlan,
    SearchStep,
    partner_param,
    partner_steps,
    plan_fetch,
)
from healthprep_desktop.fhir.fetch_plan import choose_strategy as _choose
from healthprep_desktop.fhir.paging import PagingError
from healthprep_desktop.fhir.parsing import JSON, InvalidResource
from healthprep_desktop.fhir.search_limits import (
    MULTIPLE_OR,
    NEEDS_PARTNER,
    WHOLE_TYPE,
    SearchLimits,
    count_cap,
    names_a_combination,
    refused_params,
)
from healthprep_desktop.screening.needs import ChartNeeds, chart_needs, record_types
from healthprep_desktop.screening.record import PatientRecord

# What the screening library, the measures and the prep sheet read, besides the Patient:
# derived from the library and the measure retrieves (screening.needs), never kept by hand.
RECORD_TYPES = record_types()
# Types searched per patient; Medication lies outside the patient compartment and is read by
# reference from the medication resources that name it.
SEARCH_TYPES = tuple(t for t in RECORD_TYPES if t != "Medication")
# Types every server has; a failure to search one of these fails the patient, as before.
_CORE_TYPES = CORE_TYPES
_MEDICATION_USERS = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"}
)


@dataclass(slots=True)
class FetchReport:
    patient_id: str
    strategy: str  # everything | batch | revinclude | per-type
    requests: int = 0
    resources: int = 0
    documents: int = 0
    seconds: float = 0.0
    invalid: list[InvalidResource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    etags: dict[str, str] = field(default_factory=dict)  # "Patient/1" or attachment url -> ETag
    patient_unchanged: bool = False
    learned: list[str] = field(default_factory=list)  # "Observation _count": refused, now known


@dataclass(slots=True)
class FetchResult:
    record: PatientRecord
    documents: list[RawDocument]
    report: FetchReport


def choose_strategy(capabilities: Capabilities | None, since: datetime | None) -> str:
    return _choose(capabilities, since, RECORD_TYPES)


async def fetch_patient_record(
    client: FhirClient,
    patient_id: str,
    *,
    capabilities: Capabilities | None = None,
    since: datetime | None = None,
    etags: dict[str, str] | None = None,
    documents: bool = True,
    source: str | None = None,
    needs: ChartNeeds | None = None,
    plan: FetchPlan | None = None,
    naive: bool = False,
    skip_documents: Collection[str] = (),
) -> FetchResult:
    """Everything the screening engine and the prep sheet need for one patient.

    `since`: only resources changed after it (the caller merges with what it kept).
    `etags`: from the previous FetchReport; unchanged Patient and attachments are not resent.
    `plan`: made by fetch_plan.plan_fetch when not given (`needs`, `naive` shape it).
    `skip_documents`: the app's own posted sheets, whose attachments are not fetched.
    """
    limits = client.search_limits
    if not limits.proven and plan is None:
        # The connection's first chart runs alone: what the server refuses (a page size, a
        # parameter) is learned once, not by every chart already in flight.
        async with client.first_chart:
            if not limits.proven:
                plan = plan_fetch(
                    capabilities, needs=needs, since=since, limits=limits, naive=naive
                )
                result = await _fetch_chart(
                    client, patient_id, plan, capabilities, etags, documents, source,
                    skip_documents,
                )  # fmt: skip
                limits.proven = True
                return result
    if plan is None:
        plan = plan_fetch(capabilities, needs=needs, since=since, limits=limits, naive=naive)
    return await _fetch_chart(
        client, patient_id, plan, capabilities, etags, documents, source, skip_documents
    )


async def _fetch_chart(
    client: FhirClient,
    patient_id: str,
    plan: FetchPlan,
    capabilities: Capabilities | None,
    etags: dict[str, str] | None,
    documents: bool,
    source: str | None,
    skip_documents: Collection[str],
) -> FetchResult:
    limits = client.search_limits
    counter = RequestCounter()
    token = current_counter.set(counter)
    started = time.monotonic()
    report = FetchReport(patient_id=patient_id, strategy=plan.strategy)
    not_offered = [t for t, why in plan.skipped if why == NOT_OFFERED]
    if not_offered:
        # As a refused search says: the chart is screened without them (the sheet says so).
        report.warnings.append(
            f"the server does not offer {', '.join(not_offered)}; screened without them"
        )
    previous = etags or {}
    try:
        run = _Run(client, patient_id, plan, capabilities, limits, previous, report)
        patient, resources = await run.fetch()
        resources += await _referenced_medications(client, resources, report)
        version = (patient.get("meta") or {}).get("versionId")
        if version and f"Patient/{patient_id}" not in report.etags:
            # A Patient that came inside a Bundle has no ETag header; its versionId is the same
            # thing (FHIR's ETag is W/"versionId"), so the next run can ask If-None-Match.
            report.etags[f"Patient/{patient_id}"] = f'W/"{version}"'
        docs: list[RawDocument] = []
        if documents:
            refs = [r for r in resources if r.get("resourceType") == "DocumentReference"]
            skip = skip_documents if plan.useful_documents_only else ()
            docs = await fetch_documents(client, refs, previous, report, skip)
    finally:
        current_counter.reset(token)
    report.requests = counter.count
    report.resources = len(resources)
    report.documents = len(docs)
    report.seconds = time.monotonic() - started
    record = PatientRecord(
        patient=patient,
        resources=resources,
        fetched_at=datetime.now(UTC),
        source=source or client.base_url,
        warnings=[*report.warnings, *(i.describe() for i in report.invalid)],
    )
    return FetchResult(record=record, documents=docs, report=report)


@dataclass(slots=True)
class _Run:
    """One chart's fetch, following its plan."""

    client: FhirClient
    patient_id: str
    plan: FetchPlan
    capabilities: Capabilities | None
    limits: SearchLimits
    etags: dict[str, str]
    report: FetchReport

    def _keep(self, found: list[JSON]) -> list[JSON]:
        wanted = set(self.plan.types)
        return _dedupe([r for r in found if r.get("resourceType") in wanted])

    async def fetch(self) -> tuple[JSON, list[JSON]]:
        strategy, pid = self.plan.strategy, self.patient_id
        if strategy == "everything":
            params: dict[str, Any] = {}
            if self.plan.page_size:
                params["_count"] = self.plan.page_size
            if self.plan.since:
                params["_since"] = self.plan.since
            found = await self._collect(f"Patient/{pid}/$everything", params or None)
            patients = [r for r in found if _is_patient(r, pid)]
            patient = patients[0] if patients else await self._read_patient()
            return patient, self._keep(found)
        if strategy == "batch":
            return await self._batch()
        if strategy == "revinclude":
            assert self.capabilities is not None
            caps = self.capabilities
            included = [
                t for t in self.plan.types if t != "Medication" and caps.supports_revinclude(t)
            ]
            params_list: list[tuple[str, Any]] = [("_id", pid)]
            params_list += [("_revinclude", f"{t}:patient") for t in included]
            results = await asyncio.gather(
                self._collect("Patient", params_list),
                *(self.search(step) for step in self.plan.searches),
            )
            found = [r for chunk in results for r in chunk]
            patients = [r for r in found if _is_patient(r, pid)]
            if not patients:
                raise NotFound(404, "GET", f"Patient/{pid}")
            return patients[0], self._keep(found)
        patient, chunks = await asyncio.gather(
            self._read_patient(), asyncio.gather(*(self.search(s) for s in self.plan.searches))
        )
        return patient, _dedupe([r for chunk in chunks for r in chunk])

    async def _batch(self) -> tuple[JSON, list[JSON]]:
        pid = self.patient_id
        steps = list(self.plan.searches)
        entries = [("GET", f"Patient/{pid}")] + [
            ("GET", f"{s.resource_type}?{s.query().replace('{patient}', pid)}") for s in steps
        ]
        answers = await self.client.batch(entries)
        patient = answers[0] if answers and isinstance(answers[0], dict) else None
        if patient is None or patient.get("resourceType") != "Patient":
            patient = await self._read_patient()
        resources: list[JSON] = []
        follow: list[str] = []
        for step, answer in zip(steps, answers[1:], strict=False):
            if answer is None or answer.get("resourceType") != "Bundle":
                # The server could not answer this entry inside the batch: search it directly.
                resources += await self.search(step)
                continue
            page = self.client.page_from_bundle(answer, self.report.invalid.append)
            resources += page.resources
            if page.next_url:
                follow.append(page.next_url)
        for chunk in await asyncio.gather(*(self._collect(url, None) for url in follow)):
            resources += chunk
        return patient, _dedupe(resources)

    async def search(self, step: SearchStep) -> list[JSON]:
        current = self._current(step)
        if current != [step]:
            # Learned while this chart waited (another chart's refusal): no refusal again.
            chunks = await asyncio.gather(*(self.search(s) for s in current))
            return [r for chunk in chunks for r in chunk]
        params = [(k, v.replace("{patient}", self.patient_id)) for k, v in step.params]
        try:
            return await self._collect(step.resource_type, params)
        except FhirHttpError as exc:
            if exc.status == 400:
                retried = self._learn(step, exc)
                if retried:
                    chunks = await asyncio.gather(*(self.search(s) for s in retried))
                    return [r for chunk in chunks for r in chunk]
            if step.core or exc.status not in (400, 403, 404):
                raise
            if exc.status == 404 and self.limits.refuse(step.resource_type, WHOLE_TYPE):
                self.report.learned.append(f"no {step.resource_type} on this server")
            # A server that does not offer (or grant) a type the measures read: the chart is
            # screened without it, and the sheet says data may be missing.
            self.report.warnings.append(
                f"{step.resource_type} could not be searched; screened without it"
            )
            return []

    def _current(self, step: SearchStep) -> list[SearchStep]:
        """The step as the connection's limits now allow it (the plan may predate them)."""
        rtype, limits = step.resource_type, self.limits
        used = dict(step.params)
        cap = limits.page_cap
        if cap and used.get("_count", "").isdigit() and int(used["_count"]) > cap:
            params = tuple((k, str(cap) if k == "_count" else v) for k, v in step.params)
            step = SearchStep(rtype, params, step.why, step.optional, step.categories)
        refused = [p for p in step.optional if not limits.allows(rtype, p)]
        if MULTIPLE_OR in refused:
            return step.without([p for p in refused if p != MULTIPLE_OR]).split_categories()
        return [step.without(refused) if refused else step]

    def _learn(self, step: SearchStep, exc: FhirHttpError) -> list[SearchStep]:
        """What to search instead after a 400, remembered for the connection so that no later
        chart pays for the refusal: a smaller page, a required category or intent, or the
        search without the optional parameters the server refused. [] = nothing to retry."""
        rtype, used = step.resource_type, dict(step.params)
        cap = count_cap(exc)
        if cap and used.get("_count", "").isdigit() and int(used["_count"]) > cap:
            if self.limits.cap_pages(cap):
                self.report.learned.append(f"pages of at most {cap}")
            params = tuple((k, str(cap) if k == "_count" else v) for k, v in step.params)
            return [SearchStep(rtype, params, step.why, step.optional, step.categories)]
        needs = self.plan.needs or chart_needs()
        param = partner_param(rtype, needs, frozenset())
        if param and param not in used and names_a_combination(exc, ["category", "intent"]):
            if self.limits.refuse(rtype, NEEDS_PARTNER):
                self.report.learned.append(f"{rtype} needs a {param}")
            return partner_steps(
                rtype,
                list(step.params),
                list(step.optional),
                param,
                needs.categories_of(rtype, param),
                self.limits,
                self.plan.naive,
            )
        if not step.optional:
            return []
        refused = refused_params(exc, [*step.optional])
        for name in refused:
            if self.limits.refuse(rtype, name):
                self.report.learned.append(f"{rtype} {name}")
        if MULTIPLE_OR in refused:
            return step.without([p for p in refused if p != MULTIPLE_OR]).split_categories()
        return [step.without(refused)]

    async def _read_patient(self) -> JSON:
        key = f"Patient/{self.patient_id}"
        if key in self.etags:
            body, etag = await self.client.read_if_changed(
                "Patient", self.patient_id, self.etags[key]
            )
            if body is None:
                # Unchanged: the caller keeps its copy; a minimal stand-in keeps the id.
                self.report.patient_unchanged = True
                self.report.etags[key] = self.etags[key]
                return {"resourceType": "Patient", "id": self.patient_id}
        else:
            body, etag = await self.client.read_if_changed("Patient", self.patient_id, None)
        assert body is not None
        if etag:
            self.report.etags[key] = etag
        return body

    async def _collect(self, path: str, params: Any) -> list[JSON]:
        out: list[JSON] = []
        try:
            async for page in self.client.search_pages(
                path, params, on_invalid=self.report.invalid.append
            ):
                out.extend(page.resources)
        except PagingError as exc:
            # Keep what was read, but say the chart may be incomplete.
            self.report.warnings.append(f"{path.split('?')[0]}: {exc}")
        return out


async def _referenced_medications(
    client: FhirClient, resources: list[JSON], report: FetchReport
) -> list[JSON]:
    """Medications named by medicationReference that the fetch did not bring (a measure
    matches a prescription on its Medication's code)."""
    have = {r.get("id") for r in resources if r.get("resourceType") == "Medication"}
    wanted: dict[str, None] = {}
    for resource in resources:
        if resource.get("resourceType") not in _MEDICATION_USERS:
            continue
        ref = (resource.get("medicationReference") or {}).get("reference")
        if isinstance(ref, str) and ref.startswith("Medication/"):
            rid = ref.split("/", 1)[1].split("/")[0]
            if rid and rid not in have:
                wanted[rid] = None
    found: list[JSON] = []
    for rid in wanted:
        try:
            found.append(await client.read("Medication", rid))
        except (NotFound, FhirError):
            report.warnings.append("a referenced Medication could not be read")
    return found


def _is_patient(resource: JSON, patient_id: str) -> bool:
    return resource.get("resourceType") == "Patient" and resource.get("id") == patient_id


def _dedupe(resources: list[JSON]) -> list[JSON]:
    seen: set[tuple[str, str]] = set()
    out: list[JSON] = []
    for r in resources:
        key = (str(r.get("resourceType")), str(r.get("id")))
        if r.get("id") is not None and key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


__all__ = [
    "RECORD_TYPES",
    "SEARCH_TYPES",
    "FetchReport",
    "FetchResult",
    "RawDocument",
    "choose_strategy",
    "document_date",
    "document_title",
    "fetch_patient_record",
    "pick_attachment",
]
