"""What the screening engine and the prep sheet read: one patient's chart as fetched.

Resources stay as FHIR R4 JSON dicts. The fhir package validates them with the fhir.resources
R4B models when it fetches them (reporting and dropping invalid ones); the engine then reads only
the handful of fields it needs, so a chart is never parsed into models twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]


class TextMethod(StrEnum):
    TEXT_LAYER = "text-layer"  # embedded PDF text
    OCR = "ocr"  # tesseract over a rendered page
    PLAIN = "plain"
    HTML = "html"
    RTF = "rtf"
    NONE = "none"  # nothing could be read; see DocumentText.warning


@dataclass(frozen=True, slots=True)
class DocumentText:
    """Text extracted from one DocumentReference attachment."""

    reference: str  # "DocumentReference/<id>"
    title: str  # description, or the type's display
    date: date | None
    content_type: str
    content_hash: str  # sha256 of the attachment bytes: the text-cache key
    text: str
    method: TextMethod
    pages: int = 0
    ocr_pages: int = 0
    warning: str | None = None  # e.g. "corrupt PDF", "encrypted PDF", "over the size limit"


@dataclass(slots=True)
class PatientRecord:
    patient: JSON
    resources: list[JSON] = field(default_factory=list)
    documents: list[DocumentText] = field(default_factory=list)
    fetched_at: datetime | None = None
    source: str | None = None  # the source system's name or FHIR base URL
    warnings: list[str] = field(default_factory=list)  # missing data, skipped resources (no PHI)

    @property
    def patient_id(self) -> str:
        return str(self.patient.get("id", ""))

    def of_type(self, resource_type: str) -> list[JSON]:
        return [r for r in self.resources if r.get("resourceType") == resource_type]
