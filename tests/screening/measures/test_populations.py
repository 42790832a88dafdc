"""Proportion scoring as a table: raw criteria in, reported populations out. No FHIR."""

from __future__ import annotations

import pytest

from healthprep_desktop.screening.measures.base import GroupOutcome, Membership
from healthprep_desktop.screening.measures.populations import counts

#   ipp denom denex numer denexcep numex -> ipp denom denex denexcep numer numex
TABLE = [
    ((0, 1, 1, 1, 1, 1), (0, 0, 0, 0, 0, 0)),  # nothing counts outside the IPP
    ((1, 0, 1, 1, 1, 1), (1, 0, 0, 0, 0, 0)),  # nothing below a missing denominator
    ((1, 1, 0, 0, 0, 0), (1, 1, 0, 0, 0, 0)),
    ((1, 1, 1, 1, 1, 0), (1, 1, 1, 0, 0, 0)),  # exclusion wins over numerator and exception
    ((1, 1, 0, 1, 1, 0), (1, 1, 0, 0, 1, 0)),  # numerator wins over exception
    ((1, 1, 0, 0, 1, 0), (1, 1, 0, 1, 0, 0)),  # exception only when the numerator is unmet
    ((1, 1, 0, 1, 0, 1), (1, 1, 0, 0, 1, 1)),  # numerator exclusion inside the numerator
    ((1, 1, 0, 0, 0, 1), (1, 1, 0, 0, 0, 0)),  # ... and nowhere else
]
CODES = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
    "numerator-exclusion",
)


@pytest.mark.parametrize(("raw", "want"), TABLE)
def test_scoring_rules(raw: tuple[int, ...], want: tuple[int, ...]) -> None:
    ipp, denom, denex, numer, denexcep, numex = (bool(x) for x in raw)
    outcome = GroupOutcome([Membership(ipp, denom, denex, numer, denexcep, numex)])
    assert tuple(counts(outcome)[c] for c in CODES) == want


def test_episodes_are_counted() -> None:
    outcome = GroupOutcome(
        [
            Membership(True, True, numerator=True, episode="Encounter/1"),
            Membership(True, True, denominator_exception=True, episode="Encounter/2"),
            Membership(True, True, denominator_exclusion=True, episode="Encounter/3"),
        ]
    )
    got = counts(outcome)
    assert got["initial-population"] == 3 and got["denominator"] == 3
    assert got["numerator"] == 1 and got["denominator-exception"] == 1
    assert got["denominator-exclusion"] == 1
