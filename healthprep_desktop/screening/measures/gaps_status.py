"""Gaps in care: the Da Vinci DEQM gap status of one measure group for one patient.

DEQM (Gaps in Care Reporting) names three statuses
(http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status):

- **open-gap**: the patient is in the denominator and the care the measure asks for is
  missing. For a measure whose higher score is better (improvementNotation ``increase``, most
  of them) that is "not in the numerator"; for an inverse measure (``decrease``: CMS122 HbA1c
  poor control, CMS249 DXA scans without risk factors) the numerator itself is the gap.
- **closed-gap**: in the denominator and the care is done (inverse: the numerator is not met).
- **prospective-gap**: closed today but it will open before the period ends; the rule is in
  :func:`due_again_in_period`.

A patient outside the denominator (not in the initial population, or excluded / excepted)
has no gap at all (None): nothing is owed for that measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from healthprep_desktop.screening.library_model import Library
from healthprep_desktop.screening.measures.base import GroupOutcome, MeasurementPeriod, Membership
from healthprep_desktop.screening.measures.populations import scored
from healthprep_desktop.screening.model import ScreeningResult, Status

GAPS_STATUS_SYSTEM = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"

# The inverse measures among those we compute. The shared Measure resources cannot be trusted
# for this: CMS122's export says "increase" (its own description says a lower rate is better),
# and the qicore-2024 exports carry code "decrease" with display "increase" on measures that are
# plainly "higher is better" (CMS349 even adds "Higher score indicates better quality"). So the
# table follows the measures' definitions, as cms122.py and cms249.py document them.
INVERSE_MEASURES = frozenset({"CMS122", "CMS249"})


class GapStatus(StrEnum):
    OPEN = "open-gap"
    CLOSED = "closed-gap"
    PROSPECTIVE = "prospective-gap"

    @property
    def display(self) -> str:
        return {"open-gap": "Open Gap", "closed-gap": "Closed Gap"}.get(
            self.value, "Prospective Gap"
        )


def improvement_notation(cms: str) -> str:
    """``increase`` (a higher score is better) or ``decrease`` (an inverse measure)."""
    return "decrease" if cms in INVERSE_MEASURES else "increase"


def episode_gap(membership: Membership, *, inverse: bool) -> GapStatus | None:
    """The gap of one episode (or of the patient, for a patient-based measure), after the
    proportion scoring rules (populations.scored): exclusions and exceptions owe nothing."""
    m = scored(membership)
    if not m.denominator or m.denominator_exclusion or m.denominator_exception:
        return None
    counted = m.numerator and not m.numerator_exclusion
    if inverse:
        return GapStatus.OPEN if counted else GapStatus.CLOSED
    return GapStatus.CLOSED if counted else GapStatus.OPEN


def due_again_in_period(next_due: date | None, as_of: date, period: MeasurementPeriod) -> bool:
    """Will a closed gap open again before the period ends?

    The measure looks back from the end of the period, so care done now keeps the gap closed
    for the measure; the guideline the prep sheet follows may ask for it again sooner (e.g. a
    screening every 2 years against a 27-month look-back). When the screening engine's next due
    date for the same care falls on or before the period's last day, and the period has not
    ended on the report's day, the gap is prospective: it is worth acting on before the period
    closes. A due date already passed counts too (the guideline says it is due now). Once the
    period is over nothing is prospective: the report is final.
    """
    if next_due is None or as_of > period.last_day:
        return False
    return next_due <= period.last_day


@dataclass(frozen=True, slots=True)
class GroupGap:
    cms: str
    group_id: str
    status: GapStatus
    # Episode-based measures (CMS22, one episode per encounter): the episodes with an open gap.
    open_episodes: tuple[str, ...] = ()


def group_gap(
    cms: str,
    group_id: str,
    outcome: GroupOutcome,
    *,
    next_due: date | None = None,
    as_of: date | None = None,
    period: MeasurementPeriod | None = None,
) -> GroupGap | None:
    """One group's gap: open when any episode is open, else closed (or prospective, see
    :func:`due_again_in_period`; never for an inverse measure, where doing the care again is
    not what closes the gap), else None."""
    inverse = cms in INVERSE_MEASURES
    statuses = [(m.episode, episode_gap(m, inverse=inverse)) for m in outcome.episodes]
    if any(s is GapStatus.OPEN for _, s in statuses):
        episodes = tuple(e for e, s in statuses if s is GapStatus.OPEN and e)
        return GroupGap(cms, group_id, GapStatus.OPEN, episodes)
    if not any(s is GapStatus.CLOSED for _, s in statuses):
        return None
    if (
        not inverse
        and as_of is not None
        and period is not None
        and due_again_in_period(next_due, as_of, period)
    ):
        return GroupGap(cms, group_id, GapStatus.PROSPECTIVE)
    return GroupGap(cms, group_id, GapStatus.CLOSED)


_CMS_REF = re.compile(r"^(CMS\d+)\b")
# Results whose next-due date says nothing about the care being done on time.
_NO_SCHEDULE = frozenset({Status.NOT_APPLICABLE, Status.INSUFFICIENT_DATA})


def measure_due_dates(results: Iterable[ScreeningResult], library: Library) -> dict[str, date]:
    """CMS id -> the earliest next-due date of the screenings the library ties to that measure
    (a screening's ``sources`` of type CMS name it, e.g. "CMS130 Colorectal Cancer Screening")."""
    due: dict[str, date] = {}
    for result in results:
        if result.next_due is None or result.status in _NO_SCHEDULE:
            continue
        try:
            screening = library.by_id(result.variant_id or result.screening_id)
        except KeyError:
            continue
        for source in screening.sources:
            found = _CMS_REF.match(source.ref) if source.type == "CMS" else None
            if found is None:
                continue
            cms = found.group(1)
            if cms not in due or result.next_due < due[cms]:
                due[cms] = result.next_due
    return due


__all__ = [
    "GAPS_STATUS_SYSTEM",
    "IMPROVEMENT_SYSTEM",
    "INVERSE_MEASURES",
    "GapStatus",
    "GroupGap",
    "due_again_in_period",
    "episode_gap",
    "group_gap",
    "improvement_notation",
    "measure_due_dates",
]
