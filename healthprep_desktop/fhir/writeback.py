"""Posting a prep sheet back to the chart as a DocumentReference, exactly once per version.

EHRs offer no de-duplication for DocumentReference create (Epic has no conditional create), so
the app keeps an idempotency ledger: a rerun with the same content posts nothing; new content
posts a new document that `relatesTo` (replaces) the previous one. The ledger key is claimed
("pending") before the POST and the document carries a masterIdentifier derived from that key,
so a crash between the POST and the ledger update is settled by searching for it. Only claims
the ledger calls settleable (their owner died or their lease expired) are settled: a live
process's in-flight post is left alone, and this sheet is not posted beside it.

Where the EHR files notes only against an encounter, the visit's encounter is looked up
(fhir/visit_encounter.py) before anything is claimed; without one nothing is posted and
NoEncounterYet says so, so the next run tries again.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol
from xml.sax.saxutils import escape as xml_escape

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import FhirError, FhirHttpError, Forbidden
from healthprep_desktop.fhir.parsing import JSON
from healthprep_desktop.fhir.status import AuditEvent, AuditSink, no_audit
from healthprep_desktop.fhir.visit_encounter import VisitKey, find_visit_encounter

LOINC = "http://loinc.org"
PROGRESS_NOTE = ("11506-3", "Progress note")
SUMMARY_NOTE = ("34133-9", "Summary of episode note")
URI_SYSTEM = "urn:ietf:rfc:3986"
NOTE = "Clinical Note"
CATEGORY_SYSTEM = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


class WritebackError(FhirError):
    """The sheet cannot be posted as configured (e.g. the EHR needs an encounter)."""


class WritebackBusy(WritebackError):
    """Another live process is posting this sheet right now."""


class NotPostable(WritebackError):
    """The sheet cannot be posted yet for a reason the next run may not have (kept, unposted)."""


NO_ENCOUNTER = "no encounter for this visit yet"
ENCOUNTER_UNREADABLE = (
    "this EHR files notes against the visit's encounter, but the sign-in may not read "
    "encounters: sign in again with permission to read Encounter"
)


class NoEncounterYet(NotPostable):
    """The EHR files notes only against an encounter and the visit has none (yet)."""

    def __init__(self) -> None:
        super().__init__(NO_ENCOUNTER)


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    key: str  # "<connection>|<patient>|<sheet key>|<content hash>|<replaced id or ->"
    state: str  # "pending" | "posted"
    resource_id: str | None
    settleable: bool = True  # pending only: its owner is dead or its lease expired


class Ledger(Protocol):
    """The idempotency ledger of one tenant (the store's WritebackLedger in the app)."""

    def entries(self, prefix: str, patient_id: str) -> list[LedgerRecord]:
        """Entries whose key starts with `prefix`, oldest first."""
        ...

    def claim(self, key: str, patient_id: str) -> None: ...
    def complete(self, key: str, resource_id: str) -> None: ...
    def release(self, key: str) -> None: ...


class MemoryLedger:
    def __init__(self) -> None:
        self.records: dict[str, tuple[str, LedgerRecord]] = {}  # key -> (patient, record)

    def entries(self, prefix: str, patient_id: str) -> list[LedgerRecord]:
        return [r for p, r in self.records.values() if p == patient_id and r.key.startswith(prefix)]

    def claim(self, key: str, patient_id: str) -> None:
        if key in self.records:
            raise KeyError("already claimed")
        self.records[key] = (patient_id, LedgerRecord(key, "pending", None))

    def complete(self, key: str, resource_id: str) -> None:
        patient, _ = self.records[key]
        self.records[key] = (patient, LedgerRecord(key, "posted", resource_id))

    def release(self, key: str) -> None:
        if key in self.records and self.records[key][1].state == "pending":
            del self.records[key]


# Oracle Health Millennium's DocumentReference create takes "only XHTML-formatted documents":
# docs.oracle.com/en/industries/health/millennium-platform-apis/mfdap/
# op-documentreference-post.html
XHTML = "application/xhtml+xml"
_TEXT_TYPES = frozenset({"text/plain", XHTML})
# Characters XML 1.0 forbids; a sheet's text comes from chart data and must not break the XHTML.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def sheet_xhtml(title: str, text: str) -> bytes:
    """The sheet's plain text as a strict XHTML 1.0 document (a <pre> keeps its layout)."""

    def clean(value: str) -> str:
        return xml_escape(_XML_FORBIDDEN.sub("", value))

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">'
        f"<head><title>{clean(title)}</title></head>"
        f"<body><pre>{clean(text)}</pre></body></html>\n"
    ).encode()


@dataclass(frozen=True, slots=True)
class PrepSheetDocument:
    patient_id: str
    sheet_key: str  # stable per patient and clinic day, e.g. "prep-sheet/2025-03-14"
    title: str
    text: str | None = None  # plain-text rendering (Epic clinical notes accept only this)
    pdf: bytes | None = None
    author: str | None = None  # "Practitioner/123", "Organization/1", "Device/..."
    encounter_id: str | None = None
    doc_type: tuple[str, str] = PROGRESS_NOTE
    # What the content is a function of (e.g. a hash of the chart, the screening library and
    # the date). When given it names the version instead of the bytes, whose footer carries a
    # fetch time: redoing a patient after a crash must not look like a new version.
    content_key: str | None = None


@dataclass(frozen=True, slots=True)
class WritebackResult:
    outcome: str  # created | replaced | unchanged | recovered
    resource_id: str | None
    version_uuid: str


def _attachments(
    doc: PrepSheetDocument, content_type: str, single: bool, created: str
) -> list[JSON]:
    pieces: list[tuple[str, bytes]] = []
    if content_type == "text/plain":
        if doc.text is None:
            raise WritebackError("this EHR takes text/plain notes but the sheet has no text")
        pieces.append(("text/plain", doc.text.encode("utf-8")))
    elif content_type == XHTML:
        if doc.text is None:
            raise WritebackError("this EHR takes XHTML documents but the sheet has no text")
        pieces.append((XHTML, sheet_xhtml(doc.title, doc.text)))
    else:
        if doc.pdf is None:
            raise WritebackError("this EHR takes PDF documents but the sheet has no PDF")
        pieces.append(("application/pdf", doc.pdf))
        if doc.text is not None and not single:
            pieces.append(("text/plain", doc.text.encode("utf-8")))
    return [
        {
            "attachment": {
                "contentType": ctype + ("; charset=utf-8" if ctype in _TEXT_TYPES else ""),
                "data": base64.b64encode(data).decode("ascii"),
                "title": doc.title,
                "creation": created,
                "size": len(data),
                "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),  # noqa: S324 - FHIR defines Attachment.hash as SHA-1
            }
        }
        for ctype, data in pieces
    ]


def content_hash(doc: PrepSheetDocument, content_type: str) -> str:
    digest = hashlib.sha256(content_type.encode())
    if doc.content_key is not None:
        digest.update(b"key:" + doc.content_key.encode("utf-8"))
    else:
        text = content_type in _TEXT_TYPES and doc.text
        payload = doc.text.encode("utf-8") if text and doc.text else doc.pdf
        digest.update(payload or b"")
    digest.update((doc.encounter_id or "").encode())
    return digest.hexdigest()


def build_document_reference(
    doc: PrepSheetDocument,
    *,
    version_uuid: str,
    content_type: str,
    single_attachment: bool,
    replaces: str | None = None,
    now: datetime | None = None,
) -> JSON:
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    code, display = doc.doc_type
    resource: JSON = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": URI_SYSTEM, "value": version_uuid},
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "category": [
            {
                "coding": [
                    {"system": CATEGORY_SYSTEM, "code": "clinical-note", "display": "Clinical Note"}
                ]
            }
        ],
        "subject": {"reference": f"Patient/{doc.patient_id}"},
        "date": created,
        "description": doc.title,
        "content": _attachments(doc, content_type, single_attachment, created),
    }
    if doc.author:
        resource["author"] = [{"reference": doc.author}]
    if doc.encounter_id:
        resource["context"] = {"encounter": [{"reference": f"Encounter/{doc.encounter_id}"}]}
    if replaces:
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return resource


async def _find_by_version(client: FhirClient, version_uuid: str) -> str | None:
    found = await client.search_all(
        "DocumentReference", {"identifier": f"{URI_SYSTEM}|{version_uuid}"}
    )
    for resource in found:
        master = resource.get("masterIdentifier") or {}
        if master.get("value") == version_uuid and resource.get("id"):
            return str(resource["id"])
    return None


def version_uuid(key: str) -> str:
    """The document's masterIdentifier, derived from its ledger key so that a post whose outcome
    is unknown (the app died) can be found on the server. A hash: it reveals no patient id."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'healthprep-desktop:writeback:' + key)}"


def _key_digest(key: str) -> str:
    return key.split("|")[3]


async def write_back(
    client: FhirClient,
    doc: PrepSheetDocument,
    *,
    ledger: Ledger,
    tenant: str,
    connection: str,
    content_type: str = "application/pdf",
    single_attachment: bool = True,
    require_encounter: bool = False,
    audit: AuditSink = no_audit,
    user: str | None = None,
    clinic_day: date | None = None,
    appointment_id: str | None = None,
    visit_start: str | None = None,
    tz: str | None = None,
) -> WritebackResult:
    """Post the sheet unless this exact content is already the chart's latest version of it.

    With ``require_encounter`` (the EHR preset's flag) and no ``doc.encounter_id``, the visit's
    encounter is looked up from ``clinic_day`` (with the Appointment and its start when the day
    came from the schedule, in the clinic's zone ``tz``); NoEncounterYet when there is none."""
    if require_encounter and not doc.encounter_id:
        doc = replace(
            doc,
            encounter_id=await _visit_encounter(
                client, doc.patient_id, clinic_day, appointment_id, visit_start, tz
            ),
        )
    prefix = f"{connection}|{doc.patient_id}|{doc.sheet_key}|"
    digest = content_hash(doc, content_type)
    recovered: str | None = None
    # 1. Settle posts left pending by an interrupted run.
    for record in ledger.entries(prefix, doc.patient_id):
        if record.state != "pending":
            continue
        if not record.settleable:
            raise WritebackBusy("another HealthPrep process is posting this sheet right now")
        landed = await _find_by_version(client, version_uuid(record.key))
        if landed is not None:
            ledger.complete(record.key, landed)
            if _key_digest(record.key) == digest:
                recovered = landed
        else:
            ledger.release(record.key)
    posted = [r for r in ledger.entries(prefix, doc.patient_id) if r.state == "posted"]
    latest = posted[-1] if posted else None
    # 2. The same content is already the latest version: nothing to do.
    if latest is not None and _key_digest(latest.key) == digest:
        outcome = "recovered" if recovered == latest.resource_id else "unchanged"
        return WritebackResult(outcome, latest.resource_id, version_uuid(latest.key))
    # 3. Post a new version, replacing the previous one if any.
    previous_id = latest.resource_id if latest is not None else None
    key = f"{prefix}{digest}|{previous_id or '-'}"
    ledger.claim(key, doc.patient_id)
    master = version_uuid(key)
    body = build_document_reference(
        doc,
        version_uuid=master,
        content_type=content_type,
        single_attachment=single_attachment,
        replaces=previous_id,
    )
    try:
        result = await client.create(body, return_representation=True)
    except FhirHttpError:
        ledger.release(key)  # the server answered: certainly not created
        raise
    # On a transport error the claim stays pending: the next run looks before posting.
    resource_id = result.resource_id or await _find_by_version(client, master)
    if resource_id is None:
        raise WritebackError("the server accepted the document but did not say its id")
    ledger.complete(key, resource_id)
    outcome = "replaced" if previous_id else "created"
    audit(
        AuditEvent(
            "writeback",
            tenant,
            connection,
            user=user,
            patient_id=doc.patient_id,
            detail={"outcome": outcome, "document": f"DocumentReference/{resource_id}"},
        )
    )
    return WritebackResult(outcome, resource_id, master)


async def _visit_encounter(
    client: FhirClient,
    patient_id: str,
    clinic_day: date | None,
    appointment_id: str | None,
    visit_start: str | None,
    tz: str | None,
) -> str:
    if clinic_day is None:
        raise NoEncounterYet()
    visit = VisitKey(clinic_day, appointment_id or None, visit_start, tz)
    try:
        found = await find_visit_encounter(client, patient_id, visit)
    except Forbidden as exc:
        raise NotPostable(ENCOUNTER_UNREADABLE) from exc
    if found is None:
        raise NoEncounterYet()
    return found


def _now() -> datetime:
    return datetime.now(UTC)
