"""Encounters as acute-care exclusions read them (CMS165: readings during an inpatient stay or
an emergency visit do not count). Built for every Encounter of a chart by facts.collect_facts,
coded or not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from healthprep_desktop.screening.dates import parse_day_range


class Reading(Protocol):
    """What an encounter needs of a fact (facts.Fact has these): no import of facts here."""

    @property
    def encounter_ref(self) -> str: ...

    @property
    def moment(self) -> datetime | None: ...

    @property
    def day(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class EncounterInfo:
    """Every Encounter of the chart, coded or not: what acute-care exclusions read."""

    reference: str
    status: str
    classes: frozenset[str]  # Encounter.class codes (R4 Coding, R5 CodeableConcepts)
    type_sets: frozenset[str]  # ids of the library code sets holding its type
    start: datetime | date | None
    end: datetime | date | None

    def holds(self, fact: Reading) -> bool:
        """Whether ``fact`` (an Observation) was taken during this encounter: its
        ``encounter`` reference names it, or its time falls inside the encounter's period (to
        the second when both state a time with an offset, else by the day)."""
        ref = fact.encounter_ref
        if ref and (ref == self.reference or ref.endswith("/" + self.reference)):
            return True
        if self.start is None:
            return False
        end = self.end
        if end is None and self.status != "in-progress":
            end = self.start  # no end and not ongoing: the day it started
        moment = fact.moment
        if (
            moment is not None
            and moment.tzinfo is not None
            and isinstance(self.start, datetime)
            and self.start.tzinfo is not None
            and (end is None or (isinstance(end, datetime) and end.tzinfo is not None))
        ):
            return self.start <= moment and (end is None or moment <= end)
        day = fact.day
        if day is None:
            return False
        return _day(self.start) <= day and (end is None or day <= _day(end))


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def instant(value: Any) -> datetime | date | None:
    """A FHIR dateTime as written: a datetime when it states a time, else its first day."""
    if not isinstance(value, str) or not value.strip():
        return None
    if "T" in value:
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    rng = parse_day_range(value)
    return rng.start if rng else None


__all__ = ["EncounterInfo", "instant"]
