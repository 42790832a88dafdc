"""A chart's documents: which DocumentReferences are worth their attachment, and fetching it.

An attachment is a request of its own (a Binary read), so only documents a rule or a sheet
section can use are fetched: not those entered in error, and not the app's own prep sheets (they
are not clinical evidence, and the batch leaves them out of the chart anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.parsing import JSON

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


class DocumentWarnings(Protocol):
    """Where fetch problems and new ETags go (the record fetch's report)."""

    warnings: list[str]
    etags: dict[str, str]


def is_useful(doc: JSON, skip: Collection[str]) -> bool:
    """Whether a rule or a section can use the document's text.

    `skip`: the app's own posted sheets, as "DocumentReference/<id>" or masterIdentifier values.
    """
    if doc.get("status") == "entered-in-error":
        return False
    if f"DocumentReference/{doc.get('id')}" in skip:
        return False
    master = (doc.get("masterIdentifier") or {}).get("value")
    return not (master and master in skip)


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


async def fetch_documents(
    client: FhirClient,
    refs: list[JSON],
    etags: dict[str, str],
    report: DocumentWarnings,
    skip: Collection[str] = (),
) -> list[RawDocument]:
    wanted = [d for d in refs if is_useful(d, skip)]
    return list(await asyncio.gather(*(_fetch_document(client, d, etags, report) for d in wanted)))


async def _fetch_document(
    client: FhirClient, doc: JSON, etags: dict[str, str], report: DocumentWarnings
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
