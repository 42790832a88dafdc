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

import logging

# Importing the families registers their screenings, in this order on the sheet.
import healthprep_desktop.screening.visit_bone_heart
import healthprep_desktop.screening.visit_children  # noqa: F401
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.screening.visit_registry import (
    VISIT_SCREENINGS,
    VisitInput,
    VisitScreening,
    register,
)

log = logging.getLogger(__name__)


def visit_screenings(data: VisitInput) -> list[ScreeningResult]:
    """The measure-backed screenings for one patient; one that fails is left out (its error
    is a bug to fix, not a reason to lose the sheet)."""
    out: list[ScreeningResult] = []
    have = {r.screening_id for r in data.results}
    for screening_id, fn in VISIT_SCREENINGS:
        if screening_id in have:
            continue
        try:
            result = fn(data)
        except Exception as exc:  # a malformed chart must not cost the patient the whole sheet
            log.warning("visit screening %s failed: %s", screening_id, type(exc).__name__)
            continue
        if result is not None:
            out.append(result)
    return out


__all__ = ["VISIT_SCREENINGS", "VisitInput", "VisitScreening", "register", "visit_screenings"]
