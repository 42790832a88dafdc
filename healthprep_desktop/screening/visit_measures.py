"""Prep-sheet screenings that come straight from a measure module (no library entry): the
measure's own definitions decide them, over the rolling year that ends on the visit day.

Each is one function ``(VisitInput) -> ScreeningResult | None`` (None: the screening does not
concern this patient, so the sheet leaves it out), registered in :data:`VISIT_SCREENINGS`.
Modules per family: :mod:`.visit_children` (CMS117 immunization series, CMS155 weight and
counselling, CMS153 chlamydia) and :mod:`.visit_bone_heart` (CMS249 DXA indication, CMS347
population 4 and its statin exceptions). Differences from measure mode, everywhere: no
qualifying encounter is needed (the visit is the encounter) and ages are taken on the visit day
unless the measure's rule is about a birthday (CMS117: doses by the second birthday).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from healthprep_desktop.screening.library import Library
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.screening.record import PatientRecord


@dataclass(frozen=True, slots=True)
class VisitInput:
    ctx: MeasureContext  # the chart, the rolling year ending on the visit day, edition
    record: PatientRecord
    as_of: date
    library: Library
    results: tuple[ScreeningResult, ...]  # what the library's rules said, for cross-checks


VisitScreening = Callable[[VisitInput], ScreeningResult | None]

# Filled by the family modules at import (see _register below); order is the sheet's order.
VISIT_SCREENINGS: list[tuple[str, VisitScreening]] = []


def register(screening_id: str) -> Callable[[VisitScreening], VisitScreening]:
    def add(fn: VisitScreening) -> VisitScreening:
        if any(known == screening_id for known, _ in VISIT_SCREENINGS):
            raise ValueError(f"visit screening {screening_id!r} registered twice")
        VISIT_SCREENINGS.append((screening_id, fn))
        return fn

    return add


def visit_screenings(data: VisitInput) -> list[ScreeningResult]:
    """The measure-backed screenings for one patient; one that fails is left out (its error
    is a bug to fix, not a reason to lose the sheet)."""
    load_families()
    out: list[ScreeningResult] = []
    have = {r.screening_id for r in data.results}
    for screening_id, fn in VISIT_SCREENINGS:
        if screening_id in have:
            continue
        result = fn(data)
        if result is not None:
            out.append(result)
    return out


def load_families() -> None:
    # Imported here, not at the top: the family modules import this one to register.
    import healthprep_desktop.screening.visit_bone_heart
    import healthprep_desktop.screening.visit_children  # noqa: F401


__all__ = [
    "VISIT_SCREENINGS",
    "VisitInput",
    "VisitScreening",
    "load_families",
    "register",
    "visit_screenings",
]
