"""The registry of measure-backed prep-sheet screenings: the input they read and the table
they join (see :mod:`.visit_measures` for what they are and how the sheet uses them). Kept apart
so the family modules can register without importing the module that runs them."""

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


__all__ = ["VISIT_SCREENINGS", "VisitInput", "VisitScreening", "register"]
