"""Blood pressure readings (CMS165, CMS22): what counts as one, and which are left out.

A reading exists only on a day with both a systolic and a diastolic value: from the components
(LOINC 8480-6 systolic, 8462-4 diastolic) of a blood pressure panel (85354-9, 55284-4), or from
separate systolic and diastolic Observations of the same day, in any mix. A day with a
systolic value only, or a diastolic value only, holds no blood pressure.

The representative reading of a day is its lowest systolic and its lowest diastolic, each taken
on its own (CMS165: 150/80 and 130/95 on one day give 130/80).

Readings taken during an acute inpatient stay or an emergency visit do not count for control
(CMS165): the Observation's ``encounter`` names such an Encounter (by ``Encounter.class`` or by
its type's value set), or its time falls inside such an Encounter's period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from healthprep_desktop.screening.encounters import EncounterInfo
from healthprep_desktop.screening.facts import Fact

SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
COMPONENT_NAMES: Mapping[str, str] = {SYSTOLIC: "systolic", DIASTOLIC: "diastolic"}


@dataclass(frozen=True, slots=True)
class Reading:
    """The representative reading of one day: the lowest of each component."""

    day: date
    systolic: float
    diastolic: float


def component_values(fact: Fact) -> dict[str, float]:
    """LOINC component code -> value a fact states: panel components, else the value of a
    systolic or diastolic Observation coded as such."""
    out = {code: v for code, v in fact.components.items() if code in COMPONENT_NAMES}
    if fact.value_number is not None:
        for (_system, code), _display in fact.codings:
            if code in COMPONENT_NAMES and code not in out:
                out[code] = fact.value_number
    return out


def lowest_by_day(facts: Iterable[Fact], codes: Iterable[str]) -> dict[date, dict[str, float]]:
    """Per day, the lowest value of each of ``codes``, for days that have all of them."""
    wanted = tuple(codes)
    days: dict[date, dict[str, float]] = {}
    for fact in facts:
        day = fact.day
        if day is None:
            continue
        lowest = days.setdefault(day, {})
        for code, value in component_values(fact).items():
            if code in wanted and (code not in lowest or value < lowest[code]):
                lowest[code] = value
    return {day: low for day, low in days.items() if all(c in low for c in wanted)}


def readings(facts: Iterable[Fact]) -> dict[date, Reading]:
    """The days holding a whole blood pressure, with their representative reading."""
    return {
        day: Reading(day, low[SYSTOLIC], low[DIASTOLIC])
        for day, low in lowest_by_day(facts, (SYSTOLIC, DIASTOLIC)).items()
    }


def acute_encounters(
    encounters: Mapping[str, EncounterInfo], classes: frozenset[str], set_ids: Iterable[str]
) -> list[EncounterInfo]:
    """The chart's encounters whose class or type marks acute care (inpatient, emergency)."""
    sets = frozenset(set_ids)
    return [e for e in encounters.values() if e.classes & classes or e.type_sets & sets]


def taken_during(fact: Fact, stays: Iterable[EncounterInfo]) -> bool:
    return any(stay.holds(fact) for stay in stays)


__all__ = [
    "COMPONENT_NAMES",
    "DIASTOLIC",
    "SYSTOLIC",
    "Reading",
    "acute_encounters",
    "component_values",
    "lowest_by_day",
    "readings",
    "taken_during",
]
