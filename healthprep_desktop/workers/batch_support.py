"""The batch's plain parts: its summary, the per-run context and readable failure reasons."""

from __future__ import annotations

import hashlib
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from healthprep_desktop.fhir.errors import (
    FhirError,
    FhirHttpError,
    FhirTransportError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
)
from healthprep_desktop.fhir.schedule import ScheduledVisit
from healthprep_desktop.screening.documents import OcrSettings
from healthprep_desktop.screening.library import default_library_path
from healthprep_desktop.screening.sheet_model import SectionCutoffs
from healthprep_desktop.store import TenantScope
from healthprep_desktop.workers.chart import stable_hash
from healthprep_desktop.workers.events import JobPhase


@dataclass
class BatchSummary:
    job_id: int
    clinic_day: date
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    phase: JobPhase = JobPhase.STARTING
    failures: dict[str, str] = field(default_factory=dict)  # patient id -> readable reason
    requests: int = 0
    seconds: float = 0.0
    sheet_ids: dict[str, int] = field(default_factory=dict)  # patient id -> stored sheet
    written_back: int = 0
    # Patient id -> why the stored sheet was not posted (the sheet itself is kept).
    not_posted: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # one sentence each, for the user

    @property
    def complete(self) -> bool:
        return self.phase is JobPhase.FINISHED and self.failed == 0


def failure_reason(exc: BaseException) -> str:
    """A readable failure reason without PHI: our own errors carry no resource content."""
    if isinstance(exc, NotFound):
        return "the EHR has no such patient (404)"
    if isinstance(exc, Forbidden):
        return "the EHR refused access to this chart (403): check the connection's scopes"
    if isinstance(exc, RateLimited):
        return "the EHR kept answering 'too many requests' (429)"
    if isinstance(exc, ServerError):
        return f"the EHR had a server error ({exc})"
    if isinstance(exc, FhirTransportError):
        return f"network error talking to the EHR ({exc})"
    if isinstance(exc, FhirHttpError | FhirError):
        return str(exc)[:300]
    if isinstance(exc, BrokenProcessPool):
        return "a background worker process died while preparing this patient"
    return f"internal error ({type(exc).__name__}); see the log"


@dataclass
class RunContext:
    scope: TenantScope
    params: dict[str, Any]
    options: dict[str, Any]
    library_json: str | None = None
    library_hash: str = ""
    options_hash: str = ""
    cutoffs: SectionCutoffs = field(default_factory=SectionCutoffs)
    ocr: OcrSettings = field(default_factory=OcrSettings)

    def __post_init__(self) -> None:
        custom = self.options.pop("library_json", None)
        self.library_json = custom
        source = custom if custom is not None else default_library_path().read_text("utf-8")
        self.library_hash = hashlib.sha256(source.encode("utf-8")).hexdigest()
        self.cutoffs = SectionCutoffs(
            labs=self.options.get("labs_months"),
            imaging=self.options.get("imaging_months"),
            consults=self.options.get("consults_months"),
            hospital_stays=self.options.get("hospital_months"),
            documents=self.options.get("documents_months"),
        )
        self.ocr = OcrSettings(
            enabled=bool(self.options.get("ocr_enabled", True)),
            max_pages=int(self.options.get("ocr_page_cap", 10)),
        )
        self.options_hash = stable_hash(self.options)


def visit_json(visit: ScheduledVisit) -> dict[str, Any]:
    return {
        "appointment": visit.appointment_id,
        "start": visit.start,
        "practitioners": list(visit.practitioners),
        "locations": list(visit.locations),
        "description": visit.description,
    }


def summary_to_json(summary: BatchSummary) -> dict[str, Any]:
    return {
        "job_id": summary.job_id,
        "clinic_day": summary.clinic_day.isoformat(),
        "total": summary.total,
        "done": summary.done,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "phase": summary.phase.value,
        "failures": summary.failures,
        "requests": summary.requests,
        "seconds": round(summary.seconds, 3),
        "written_back": summary.written_back,
        "not_posted": summary.not_posted,
        "notices": summary.notices,
    }
