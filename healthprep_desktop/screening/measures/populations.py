"""Proportion scoring for one patient: which populations an episode finally counts in.

The raw truth of each criterion comes from a measure module; these rules (the QM IG's
proportion-measure semantics, as measure engines apply them) decide what is reported:

- nothing counts outside the initial population; the denominator is within it;
- a denominator exclusion removes the episode from the numerator and from exceptions;
- a numerator removes the episode from exceptions (exceptions are only for the unmet);
- a numerator exclusion counts only inside the numerator.
"""

from __future__ import annotations

from dataclasses import replace

from healthprep_desktop.screening.measures.base import GroupOutcome, Membership

# Measure-population codes in the order a MeasureReport lists them.
CODES = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
    "numerator-exclusion",
)


def scored(m: Membership) -> Membership:
    ipp = m.initial_population
    denom = ipp and m.denominator
    denex = denom and m.denominator_exclusion
    numer = denom and not denex and m.numerator
    denexcep = denom and not denex and not numer and m.denominator_exception
    numex = numer and m.numerator_exclusion
    return replace(
        m,
        initial_population=ipp,
        denominator=denom,
        denominator_exclusion=denex,
        numerator=numer,
        denominator_exception=denexcep,
        numerator_exclusion=numex,
    )


def _flag(m: Membership, code: str) -> bool:
    return {
        "initial-population": m.initial_population,
        "denominator": m.denominator,
        "denominator-exclusion": m.denominator_exclusion,
        "denominator-exception": m.denominator_exception,
        "numerator": m.numerator,
        "numerator-exclusion": m.numerator_exclusion,
    }[code]


def counts(outcome: GroupOutcome) -> dict[str, int]:
    """Population code -> count (episodes for an episode-based measure, else 0 or 1)."""
    final = [scored(m) for m in outcome.episodes]
    return {code: sum(1 for m in final if _flag(m, code)) for code in CODES}


__all__ = ["CODES", "counts", "scored"]
