"""One patient's chart, fetched in as few round trips as the server allows.

Plan, from the CapabilityStatement: `Patient/$everything` when offered; else one batch Bundle of
searches; else `Patient?_id=..&_revinclude=..` for the types it can revinclude; else one search
per type (concurrently). Documents' attachments come back as bytes (RawDocument) for the
screening package's text extraction.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from healthprep_desktop.fhir.client import FhirClient, RequestCounter, current_counter
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import FhirError, FhirHttpError, NotFound
from healthprep_desktop.fhir.paging import PagingError
from healthprep_desktop.fhir.parsing import JSON, InvalidResource
from healthprep_desktop.screening.needs import record_types
from healthprep_desktop.screening.record import PatientRecord

# What the screening library, the measures and the prep sheet read, besides the Patient:
# derived from the library and the measure retrieves (screening.needs), never kept by hand.
RECORD_TYPES = record_types()
# Types searched per patient; Medication lies outside the patient compartment and is read by
# reference from the medication resources that name it.
SEARCH_TYPES = tuple(t for t in RECORD_TYPES if t != "Medication")
# Types every server has; a failure to search one of these fails the patient, as before.
_CORE_TYPES = frozenset(
    {"Condition", "Observation", "Procedure", "Immunization", "MedicationRequest", "Encounter"}
)
_MEDICATION_USERS = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"}
)
PAGE_SIZE = 200
# Attachment types worth reading, best first, when a DocumentReference offers several.
_DOCUMENT_TYPES = ("application/pdf", "text/plain", "text/html", "text/rtf", "application/rtf")


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A DocumentReference attachment as fetched, before text extraction."""

    reference: str  # "DocumentReference/<id>"
    title: str
    date: date | None
    content_type: str
    data: bytes | None  # None when not fetched (not modified, failed, over the size cap)
    etag: str | None = None
    not_modified: bool = False
    warning: str | None = None  # no PHI: what went wrong, e.g. "over the size limit"


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


@dataclass(slots=True)
class FetchResult:
    record: PatientRecord
    documents: list[RawDocument]
    report: FetchReport


def choose_strategy(capabilities: Capabilities | None, since: datetime | None) -> str:
    if capabilities is None:
        return "per-type"
    if capabilities.supports_everything():
        return "everything"
    if capabilities.supports_batch:
        return "batch"
    if since is None and any(capabilities.supports_revinclude(t) for t in RECORD_TYPES):
        # _revinclude filters only the Patient by _lastUpdated, so incremental runs skip it.
        return "revinclude"
    return "per-type"


async def fetch_patient_record(
    client: FhirClient,
    patient_id: str,
    *,
    capabilities: Capabilities | None = None,
    since: datetime | None = None,
    etags: dict[str, str] | None = None,
    documents: bool = True,
    source: str | None = None,
) -> FetchResult:
    """Everything the screening engine and the prep sheet need for one patient.

    `since`: only resources changed after it (the caller merges with what it kept).
    `etags`: from the previous FetchReport; unchanged Patient and attachments are not resent.
    """
    counter = RequestCounter()
    token = current_counter.set(counter)
    started = time.monotonic()
    strategy = choose_strategy(capabilities, since)
    report = FetchReport(patient_id=patient_id, strategy=strategy)
    previous = etags or {}
    try:
        patient, resources = await _fetch(
            client, patient_id, strategy, capabilities, since, previous, report
        )
        resources += await _referenced_medications(client, resources, report)
        version = (patient.get("meta") or {}).get("versionId")
        if version and f"Patient/{patient_id}" not in report.etags:
            # A Patient that came inside a Bundle has no ETag header; its versionId is the same
            # thing (FHIR's ETag is W/"versionId"), so the next run can ask If-None-Match.
            report.etags[f"Patient/{patient_id}"] = f'W/"{version}"'
        docs: list[RawDocument] = []
        if documents:
            refs = [r for r in resources if r.get("resourceType") == "DocumentReference"]
            docs = await _fetch_documents(client, refs, previous, report)
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


async def _fetch(
    client: FhirClient,
    patient_id: str,
    strategy: str,
    capabilities: Capabilities | None,
    since: datetime | None,
    etags: dict[str, str],
    report: FetchReport,
) -> tuple[JSON, list[JSON]]:
    on_invalid = report.invalid.append
    since_text = since.astimezone(UTC).isoformat() if since else None
    if strategy == "everything":
        params: dict[str, Any] = {"_count": PAGE_SIZE}
        if since_text:
            params["_since"] = since_text
        everything = await _collect(
            client, f"Patient/{patient_id}/$everything", params, report, on_invalid
        )
        patients = [r for r in everything if _is_patient(r, patient_id)]
        wanted = [r for r in everything if r.get("resourceType") in RECORD_TYPES]
        patient = (
            patients[0] if patients else await _read_patient(client, patient_id, etags, report)
        )
        return patient, _dedupe(wanted)
    if strategy == "batch":
        return await _fetch_batch(client, patient_id, since_text, etags, report)
    if strategy == "revinclude":
        assert capabilities is not None
        included = [t for t in SEARCH_TYPES if capabilities.supports_revinclude(t)]
        rest = [t for t in SEARCH_TYPES if t not in included]
        params_list: list[tuple[str, Any]] = [("_id", patient_id)]
        params_list += [("_revinclude", f"{t}:patient") for t in included]
        results = await asyncio.gather(
            _collect(client, "Patient", params_list, report, on_invalid),
            *(_search_type(client, t, patient_id, since_text, report) for t in rest),
        )
        found = [r for chunk in results for r in chunk]
        patients = [r for r in found if _is_patient(r, patient_id)]
        if not patients:
            raise NotFound(404, "GET", f"Patient/{patient_id}")
        wanted = [r for r in found if r.get("resourceType") in RECORD_TYPES]
        return patients[0], _dedupe(wanted)
    searches = [_search_type(client, t, patient_id, since_text, report) for t in SEARCH_TYPES]
    patient, chunks = await asyncio.gather(
        _read_patient(client, patient_id, etags, report), asyncio.gather(*searches)
    )
    return patient, _dedupe([r for chunk in chunks for r in chunk])


async def _fetch_batch(
    client: FhirClient,
    patient_id: str,
    since_text: str | None,
    etags: dict[str, str],
    report: FetchReport,
) -> tuple[JSON, list[JSON]]:
    suffix = f"&_lastUpdated=gt{since_text}" if since_text else ""
    entries = [("GET", f"Patient/{patient_id}")] + [
        ("GET", f"{t}?{_query(_patient_param(t, patient_id))}&_count={PAGE_SIZE}{suffix}")
        for t in SEARCH_TYPES
    ]
    answers = await client.batch(entries)
    patient = answers[0] if answers and isinstance(answers[0], dict) else None
    if patient is None or patient.get("resourceType") != "Patient":
        patient = await _read_patient(client, patient_id, etags, report)
    resources: list[JSON] = []
    follow: list[str] = []
    for resource_type, answer in zip(SEARCH_TYPES, answers[1:], strict=False):
        if answer is None or answer.get("resourceType") != "Bundle":
            # The server could not answer this entry inside the batch: search it directly.
            resources += await _search_type(client, resource_type, patient_id, since_text, report)
            continue
        page = client.page_from_bundle(answer, report.invalid.append)
        resources += page.resources
        if page.next_url:
            follow.append(page.next_url)
    for chunk in await asyncio.gather(
        *(_collect(client, url, None, report, report.invalid.append) for url in follow)
    ):
        resources += chunk
    return patient, _dedupe(resources)


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


async def _read_patient(
    client: FhirClient, patient_id: str, etags: dict[str, str], report: FetchReport
) -> JSON:
    key = f"Patient/{patient_id}"
    if key in etags:
        body, etag = await client.read_if_changed("Patient", patient_id, etags[key])
        if body is None:
            # Unchanged: the caller keeps its copy; a minimal stand-in keeps the id.
            report.patient_unchanged = True
            report.etags[key] = etags[key]
            return {"resourceType": "Patient", "id": patient_id}
    else:
        body, etag = await client.read_if_changed("Patient", patient_id, None)
    assert body is not None
    if etag:
        report.etags[key] = etag
    return body


async def _search_type(
    client: FhirClient,
    resource_type: str,
    patient_id: str,
    since_text: str | None,
    report: FetchReport,
) -> list[JSON]:
    params: dict[str, Any] = {**_patient_param(resource_type, patient_id), "_count": PAGE_SIZE}
    if since_text:
        params["_lastUpdated"] = f"gt{since_text}"
    try:
        return await _collect(client, resource_type, params, report, report.invalid.append)
    except FhirHttpError as exc:
        if resource_type in _CORE_TYPES or exc.status not in (400, 403, 404):
            raise
        # A server that does not offer (or grant) a type the measures read: the chart is
        # screened without it, and the sheet says data may be missing.
        report.warnings.append(f"{resource_type} could not be searched; screened without it")
        return []


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def _patient_param(resource_type: str, patient_id: str) -> dict[str, str]:
    # R4 AdverseEvent has no `patient` search parameter, only `subject`.
    if resource_type == "AdverseEvent":
        return {"subject": f"Patient/{patient_id}"}
    return {"patient": patient_id}


async def _collect(
    client: FhirClient,
    path: str,
    params: Any,
    report: FetchReport,
    on_invalid: Any,
) -> list[JSON]:
    out: list[JSON] = []
    try:
        async for page in client.search_pages(path, params, on_invalid=on_invalid):
            out.extend(page.resources)
    except PagingError as exc:
        # Keep what was read, but say the chart may be incomplete.
        report.warnings.append(f"{path.split('?')[0]}: {exc}")
    return out


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


# --- documents -------------------------------------------------------------------------------


def document_title(doc: JSON) -> str:
    if doc.get("description"):
        return str(doc["description"])
    doc_type = doc.get("type") or {}
    if doc_type.get("text"):
        return str(doc_type["text"])
    for coding in doc_type.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    for content in doc.get("content") or []:
        title = (content.get("attachment") or {}).get("title")
        if title:
            return str(title)
    return "Document"


def document_date(doc: JSON) -> date | None:
    for value in (
        doc.get("date"),
        ((doc.get("context") or {}).get("period") or {}).get("start"),
        *((c.get("attachment") or {}).get("creation") for c in doc.get("content") or []),
    ):
        if isinstance(value, str) and len(value) >= 10:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


def pick_attachment(doc: JSON) -> JSON | None:
    attachments: list[JSON] = [
        c["attachment"] for c in doc.get("content") or [] if isinstance(c.get("attachment"), dict)
    ]
    attachments = [a for a in attachments if a.get("data") or a.get("url")]
    if not attachments:
        return None

    def rank(a: JSON) -> int:
        ctype = str(a.get("contentType") or "").split(";")[0].strip().lower()
        if ctype in _DOCUMENT_TYPES:
            return _DOCUMENT_TYPES.index(ctype)
        return len(_DOCUMENT_TYPES) + (0 if ctype.startswith("image/") else 1)

    return min(attachments, key=rank)


async def _fetch_documents(
    client: FhirClient, refs: list[JSON], etags: dict[str, str], report: FetchReport
) -> list[RawDocument]:
    wanted = [d for d in refs if d.get("status") != "entered-in-error"]
    return list(await asyncio.gather(*(_fetch_document(client, d, etags, report) for d in wanted)))


async def _fetch_document(
    client: FhirClient, doc: JSON, etags: dict[str, str], report: FetchReport
) -> RawDocument:
    reference = f"DocumentReference/{doc.get('id')}"
    title = document_title(doc)
    when = document_date(doc)
    attachment = pick_attachment(doc)
    if attachment is None:
        return RawDocument(reference, title, when, "", None, warning="no attachment")
    content_type = str(attachment.get("contentType") or "application/octet-stream")
    url = attachment.get("url")
    etag = etags.get(str(url)) if url else None
    try:
        data = await client.fetch_attachment(attachment, etag=etag)
    except FhirError as exc:
        warning = type(exc).__name__
        report.warnings.append(f"{reference}: attachment not fetched ({warning})")
        return RawDocument(reference, title, when, content_type, None, warning=warning)
    if url and data.etag:
        report.etags[str(url)] = data.etag
    return RawDocument(
        reference,
        title,
        when,
        data.content_type or content_type,
        data.data,
        etag=data.etag,
        not_modified=data.not_modified,
    )
