"""What the batch does with a fetched chart: hash it, merge an incremental fetch into the last
copy, drop the app's own prep sheets from it, and rebuild cached document text."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from healthprep_desktop.fhir.record import FetchResult
from healthprep_desktop.fhir.writeback import version_uuid
from healthprep_desktop.screening.record import DocumentText, PatientRecord, TextMethod
from healthprep_desktop.store import TenantScope


def stable_hash(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def record_hash(record: PatientRecord) -> str:
    """What the sheet depends on from the chart: resources and the documents' contents."""
    resources = sorted(
        record.resources, key=lambda r: (str(r.get("resourceType")), str(r.get("id")))
    )
    docs = sorted((d.reference, d.content_hash) for d in record.documents)
    return stable_hash({"patient": record.patient, "resources": resources, "documents": docs})


def merge_incremental(
    previous: dict[str, Any], fresh: PatientRecord, patient_unchanged: bool
) -> None:
    """Fold an incremental fetch (only what changed since) into the previous chart."""
    merged = {
        (str(r.get("resourceType")), str(r.get("id"))): r for r in previous.get("resources", [])
    }
    for r in fresh.resources:
        merged[(str(r.get("resourceType")), str(r.get("id")))] = r
    fresh.resources = list(merged.values())
    if patient_unchanged or not fresh.patient:
        fresh.patient = previous.get("patient", fresh.patient)


def own_documents(scope: TenantScope, patient_id: str) -> tuple[set[str], set[str]]:
    """Ids and version identifiers of the prep sheets this app posted to the chart."""
    ids: set[str] = set()
    versions: set[str] = set()
    for entry in scope.ledger.all(patient_id=patient_id):
        versions.add(version_uuid(entry.idempotency_key))
        if entry.resource_id:
            ids.add(entry.resource_id)
    return ids, versions


def own_references(own: tuple[set[str], set[str]]) -> set[str]:
    """The app's own sheets as the chart fetch skips them: "DocumentReference/<id>" and the
    masterIdentifier values (their attachments are not fetched: they are not evidence)."""
    ids, versions = own
    return {f"DocumentReference/{i}" for i in ids} | versions


def drop_own_documents(
    record: PatientRecord, fetched: FetchResult, own: tuple[set[str], set[str]]
) -> None:
    """Our own prep sheets are not clinical evidence ("colonoscopy due" is no colonoscopy), and
    posting one must not make the chart look changed on the next run."""
    ids, versions = own

    def ours(resource: dict[str, Any]) -> bool:
        if resource.get("resourceType") != "DocumentReference":
            return False
        master = (resource.get("masterIdentifier") or {}).get("value")
        return resource.get("id") in ids or master in versions

    dropped = {f"DocumentReference/{r.get('id')}" for r in record.resources if ours(r)}
    if dropped:
        record.resources = [r for r in record.resources if not ours(r)]
        fetched.documents = [d for d in fetched.documents if d.reference not in dropped]


def document_from_prior(prior: dict[str, Any], text: str) -> DocumentText:
    return DocumentText(
        reference=prior["reference"],
        title=prior.get("title") or "",
        date=date.fromisoformat(prior["date"]) if prior.get("date") else None,
        content_type=prior.get("content_type") or "",
        content_hash=prior["content_hash"],
        text=text,
        method=TextMethod.TEXT_LAYER,
    )
