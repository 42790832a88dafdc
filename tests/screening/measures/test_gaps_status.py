"""DEQM gap status per measure group: open / closed / prospective / none, at each boundary."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import pytest

from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.measures import MeasurementPeriod, measure_defs
from healthprep_desktop.screening.measures.base import GroupOutcome, Membership, patient_outcome
from healthprep_desktop.screening.measures.gaps_status import (
    INVERSE_MEASURES,
    GapStatus,
    due_again_in_period,
    episode_gap,
    group_gap,
    improvement_notation,
    measure_due_dates,
)
from healthprep_desktop.screening.measures.registry import MEASURES
from healthprep_desktop.screening.model import ScreeningResult, Status

PERIOD = MeasurementPeriod.calendar_year(2026)
LAST = PERIOD.last_day
OPEN, CLOSED, PROSPECTIVE = GapStatus.OPEN, GapStatus.CLOSED, GapStatus.PROSPECTIVE


@pytest.mark.parametrize(
    ("membership", "positive", "inverse"),
    [
        # Outside the initial population, or in it but not the denominator: nothing owed.
        (Membership(), None, None),
        (Membership(initial_population=True), None, None),
        # A denominator flag without the initial population does not count (scoring rules).
        (Membership(denominator=True, numerator=True), None, None),
        (Membership(True, True), OPEN, CLOSED),
        (Membership(True, True, numerator=True), CLOSED, OPEN),
        # Excluded or excepted: no gap, whatever the numerator says.
        (Membership(True, True, denominator_exclusion=True), None, None),
        (Membership(True, True, denominator_exclusion=True, numerator=True), None, None),
        (Membership(True, True, denominator_exception=True), None, None),
        # An exception does not hide a met numerator (exceptions are only for the unmet).
        (Membership(True, True, numerator=True, denominator_exception=True), CLOSED, OPEN),
        # A numerator exclusion takes the episode out of the numerator (CMS249: the DXA scan
        # was appropriate): no open gap for an inverse measure.
        (Membership(True, True, numerator=True, numerator_exclusion=True), OPEN, CLOSED),
    ],
)
def test_episode_gap_positive_and_inverse(
    membership: Membership, positive: GapStatus | None, inverse: GapStatus | None
) -> None:
    assert episode_gap(membership, inverse=False) is positive
    assert episode_gap(membership, inverse=True) is inverse


@pytest.mark.parametrize(
    ("next_due", "as_of", "expected"),
    [
        (None, date(2026, 6, 1), False),
        (LAST, date(2026, 6, 1), True),  # due on the period's last day
        (LAST + timedelta(days=1), date(2026, 6, 1), False),  # the day after: next period
        (date(2026, 6, 2), date(2026, 6, 1), True),
        (date(2026, 5, 1), date(2026, 6, 1), True),  # already due by the guideline
        (LAST, LAST, True),  # reported on the last day: still actionable
        (LAST, LAST + timedelta(days=1), False),  # the period is over: the report is final
    ],
)
def test_due_again_in_period_boundaries(next_due: date | None, as_of: date, expected: bool) -> None:
    assert due_again_in_period(next_due, as_of, PERIOD) is expected


def test_group_gap_closed_turns_prospective_only_for_positive_measures() -> None:
    met = patient_outcome(ipp=True, denom=True, numer=True)
    unmet = patient_outcome(ipp=True, denom=True)
    day = date(2026, 6, 1)

    def status(cms: str, outcome: GroupOutcome, due: date | None) -> GapStatus | None:
        gap = group_gap(cms, "Group_1", outcome, next_due=due, as_of=day, period=PERIOD)
        return None if gap is None else gap.status

    assert status("CMS125", met, date(2026, 11, 1)) is PROSPECTIVE
    assert status("CMS125", met, date(2027, 1, 1)) is CLOSED
    assert status("CMS125", met, None) is CLOSED
    assert status("CMS125", unmet, date(2026, 11, 1)) is OPEN  # open stays open
    # Inverse: the numerator (HbA1c > 9 %) is the gap; a due test never makes it prospective.
    assert status("CMS122", met, date(2026, 11, 1)) is OPEN
    assert status("CMS122", unmet, date(2026, 11, 1)) is CLOSED
    assert status("CMS125", patient_outcome(ipp=False, denom=False), date(2026, 11, 1)) is None
    # Without a report day there is no prospective gap.
    assert group_gap("CMS125", "Group_1", met, next_due=date(2026, 11, 1)).status is CLOSED  # type: ignore[union-attr]


def test_episode_based_group_is_open_when_any_episode_is() -> None:
    # CMS22: one episode per qualifying encounter.
    outcome = GroupOutcome(
        [
            Membership(True, True, numerator=True, episode="Encounter/a"),
            Membership(True, True, episode="Encounter/b"),
            Membership(True, True, denominator_exclusion=True, episode="Encounter/c"),
        ]
    )
    gap = group_gap("CMS22", "Group_1", outcome)
    assert gap is not None and gap.status is OPEN
    assert gap.open_episodes == ("Encounter/b",)
    closed = GroupOutcome([Membership(True, True, numerator=True, episode="Encounter/a")])
    assert group_gap("CMS22", "Group_1", closed).status is CLOSED  # type: ignore[union-attr]
    excluded = GroupOutcome([Membership(True, True, True, episode="Encounter/c")])
    assert group_gap("CMS22", "Group_1", excluded) is None


def test_improvement_notation_matches_the_measure_definitions() -> None:
    # The shared Measure exports disagree with themselves (see gaps_status); each measure
    # module's docstring says whether it is inverse, and the table must agree with all of them.
    for cms, spec in MEASURES.items():
        doc = (sys.modules[spec.evaluate.__module__].__doc__ or "").lower()
        assert ("inverse measure" in doc) == (cms in INVERSE_MEASURES), cms
    assert set(INVERSE_MEASURES) <= set(measure_defs())
    assert improvement_notation("CMS122") == "decrease"
    assert improvement_notation("CMS249") == "decrease"
    assert improvement_notation("CMS130") == "increase"


def _result(
    screening: str, status: Status, due: date | None, variant: str | None = None
) -> ScreeningResult:
    return ScreeningResult(screening, screening, status, "", variant_id=variant, next_due=due)


def test_measure_due_dates_follow_the_library_sources() -> None:
    library = default_library()
    due = measure_due_dates(
        [
            _result("colorectal_cancer", Status.COMPLETE, date(2027, 3, 1)),
            _result("breast_cancer", Status.NOT_APPLICABLE, date(2026, 5, 1)),  # not scheduled
            _result("lung_cancer", Status.COMPLETE, date(2026, 5, 1)),  # no CMS measure
            # Two variants of one group name CMS131; the earliest date wins.
            _result("diabetic_eye_exam", Status.DUE_SOON, date(2026, 9, 1), "diabetic_eye_exam"),
            _result(
                "diabetic_eye_exam",
                Status.COMPLETE,
                date(2026, 7, 1),
                "diabetic_eye_exam_retinopathy",
            ),
            _result("no_such_screening", Status.COMPLETE, date(2026, 5, 1)),
        ],
        library,
    )
    assert due == {"CMS130": date(2027, 3, 1), "CMS131": date(2026, 7, 1)}
