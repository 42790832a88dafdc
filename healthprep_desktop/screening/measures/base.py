"""What every measure module shares: the measurement period, the evaluation context, outcomes.

A measure module is one function, ``evaluate(ctx) -> list[GroupOutcome]``, one outcome per
group of the Measure resource in its order. Each outcome holds one :class:`Membership` per
episode (exactly one for a patient-based measure) with the raw truth of each population
definition as the CQL computes it; :mod:`.populations` then applies the scoring rules (a
numerator only counts inside the denominator, and so on), so modules never pre-empt them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from healthprep_desktop.screening.measures.chart import Chart
from healthprep_desktop.screening.measures.cqltime import Point, Span, age_in_months, age_in_years
from healthprep_desktop.screening.measures.qicore import Edition


@dataclass(frozen=True, slots=True)
class MeasurementPeriod:
    """Interval[first day 00:00:00.000, last day 23:59:59.999] (UTC); a calendar year in
    measure mode, a rolling year ending on the visit day for the prep sheet."""

    first_day: date
    last_day: date
    # Worked out once: every definition of every measure reads them.
    start: Point = field(init=False, compare=False, repr=False)
    end: Point = field(init=False, compare=False, repr=False)
    span: Span = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        start = Point.exact(
            datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC)
        )
        end = Point.exact(Point.of_day(self.last_day).hi)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "span", Span(start, end))

    @classmethod
    def calendar_year(cls, year: int) -> MeasurementPeriod:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @property
    def year(self) -> int:
        return self.first_day.year


@dataclass(slots=True)
class Membership:
    """The truth of each population criterion for one episode (or the patient)."""

    initial_population: bool = False
    denominator: bool = False
    denominator_exclusion: bool = False
    numerator: bool = False
    denominator_exception: bool = False
    numerator_exclusion: bool = False
    episode: str | None = None  # "Encounter/abc" for episode-based measures


@dataclass(slots=True)
class GroupOutcome:
    episodes: list[Membership]
    # Population code -> references of the resources that decided it (evidence, no PHI).
    evidence: dict[str, list[str]] = field(default_factory=dict)
    # Stratifier criteria name -> truth (patient-based measures).
    strata: dict[str, bool] = field(default_factory=dict)


def patient_outcome(
    *,
    ipp: bool,
    denom: bool,
    denex: bool = False,
    numer: bool = False,
    denexcep: bool = False,
    numex: bool = False,
    evidence: dict[str, list[str]] | None = None,
    strata: dict[str, bool] | None = None,
) -> GroupOutcome:
    return GroupOutcome(
        [Membership(ipp, denom, denex, numer, denexcep, numex)],
        evidence or {},
        strata or {},
    )


class MeasureContext:
    """The chart and the period, with the few helpers every measure uses."""

    def __init__(self, chart: Chart, period: MeasurementPeriod, edition: Edition) -> None:
        self.chart = chart
        self.period = period
        self.edition: Edition = edition

    def age_at(self, day: date) -> int | None:
        birth = self.chart.birth_date
        return None if birth is None else age_in_years(birth, day)

    def age_months_at(self, day: date) -> int | None:
        birth = self.chart.birth_date
        return None if birth is None else age_in_months(birth, day)

    @property
    def age_at_end(self) -> int | None:
        """AgeInYearsAt(date from end of "Measurement Period")."""
        return self.age_at(self.period.last_day)

    @property
    def age_at_start(self) -> int | None:
        return self.age_at(self.period.first_day)


Evaluate = Callable[[MeasureContext], list[GroupOutcome]]


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    cms: str  # "CMS125"
    title: str  # what the sheet and docs call it
    edition: Edition  # which shared-library edition its CQL includes
    evaluate: Evaluate


__all__ = [
    "Evaluate",
    "GroupOutcome",
    "MeasureContext",
    "MeasureSpec",
    "MeasurementPeriod",
    "Membership",
    "patient_outcome",
]
