"""The prep sheet's inputs (SheetContext) and its decided content (SheetContent).

Plain dataclasses shared by the content builder (sheet_data.py) and both renderers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet_today import TodayItem

CONFIDENTIAL = "CONFIDENTIAL - contains PHI"
FALLBACK_MONTHS = 12  # the window for "since the last encounter" when there was none
DASH = "\u2014"


@dataclass(frozen=True, slots=True)
class Appointment:
    start: datetime | None = None
    provider: str | None = None
    location: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SectionCutoffs:
    """Months back from the as-of date per data section; 0 = since the last encounter;
    None = leave the section off the sheet."""

    labs: int | None = 12
    imaging: int | None = 24
    consults: int | None = 12
    hospital_stays: int | None = 24
    documents: int | None = 12


@dataclass(slots=True)
class SheetContext:
    record: PatientRecord
    results: Sequence[ScreeningResult]
    as_of: date
    appointment: Appointment | None = None
    clinic_name: str = ""
    cutoffs: SectionCutoffs = field(default_factory=SectionCutoffs)
    generated_at: datetime | None = None  # None = now
    source_system: str | None = None  # None = record.source
    warnings: Sequence[str] = ()
    max_rows: int = 25  # per data section; the rest are counted, not listed
    page_size: str = "letter"  # or "a4"
    tz: str | None = None  # the clinic's IANA zone for printed times; None = the workstation's
    # Synthetic patients: watermark and header say so. None = recognise the demo connection by
    # the record's source name (the demo clinic's connection, whatever the tenant is called).
    demo: bool | None = None


@dataclass(frozen=True, slots=True)
class PatientHeader:
    name: str
    birth_date: str
    age: str
    sex: str
    mrn: str
    appointment: str  # "Thu 1 Jul 2021, 09:30" in the clinic's zone, or "" when unknown
    provider: str
    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChecklistRow:
    name: str
    status: Status
    last_done: str
    next_due: str
    frequency: str
    evidence: str


@dataclass(frozen=True, slots=True)
class DataSection:
    key: str  # "problems", "medications", "labs", "imaging", "consults", "hospital_stays", ...
    title: str
    window: str | None  # "last 12 months", "since last visit 2021-03-02"; None = no cutoff
    columns: tuple[str, ...]
    widths: tuple[float, ...]  # relative column widths (PDF)
    rows: tuple[tuple[str, ...], ...]
    more: int = 0  # rows left out past SheetContext.max_rows


@dataclass(frozen=True, slots=True)
class SheetContent:
    clinic: str
    header: PatientHeader
    checklist: tuple[ChecklistRow, ...]
    not_applicable: tuple[tuple[str, str], ...]  # (screening, reason)
    sections: tuple[DataSection, ...]
    previsit: tuple[str, ...]
    warnings: tuple[str, ...]
    fetched_at: str
    source: str
    generated_at: str
    today: tuple[TodayItem, ...] = ()
    demo: bool = False
    # One line instead of a row per screening when birth date or sex is missing.
    undecidable: str = ""
    appointment_sort: str = ""  # ISO start in the clinic's zone, for the day print's order


DEMO_SOURCE = "Demo clinic (sandbox)"  # workers.demo.DEMO_CONNECTION (core: not imported)
DEMO_BANNER = "DEMO: synthetic patients"
