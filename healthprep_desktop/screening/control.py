"""Control of outcome measures: is the latest result at goal?

A modality with a ``flag`` is an outcome measure (CMS122 HbA1c above 9 %, CMS165 blood
pressure at or above 140/90). Its representative result is read from the most recent day with
a usable result:

- ``above``: the lowest value of that day (CMS122); above the limit is not at goal.
- ``components_at_or_above``: the lowest value of each component on the most recent day that
  has all of them (CMS165, see rules_bp); any component at or above its limit is not at goal,
  and the finding names that component ("diastolic 91 ≥ 90"), never the pair as a whole.

The engine turns a finding into Status.NOT_AT_GOAL when the result lies inside the modality's
window (a result out of the window leaves the screening Due or Overdue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from healthprep_desktop.screening import explain
from healthprep_desktop.screening.facts import Fact
from healthprep_desktop.screening.library import Flag
from healthprep_desktop.screening.rules_bp import COMPONENT_NAMES, lowest_by_day


@dataclass(frozen=True, slots=True)
class Finding:
    """The representative result of an outcome measure and whether it is at goal."""

    day: date
    at_goal: bool
    reading: str  # "Blood pressure 113/91 on 2021-05-01", "HbA1c 9.4 % on 2021-03-01"
    problem: str = ""  # "diastolic 91 ≥ 90 (CMS165 goal: below 140/90)"; empty at goal

    @property
    def text(self) -> str:
        return f"{self.reading}: {self.problem}" if self.problem else self.reading


def assess(flag: Flag, name: str, facts: Sequence[Fact]) -> Finding | None:
    """The finding for the most recent usable result among ``facts`` (None: none usable)."""
    if flag.components_at_or_above:
        return _components(flag, name, facts)
    if flag.above is not None:
        return _above(flag, flag.above, name, facts)
    return None


def _above(flag: Flag, limit: float, name: str, facts: Sequence[Fact]) -> Finding | None:
    valued = [f for f in facts if f.value_number is not None and f.day is not None]
    if not valued:
        return None
    day = max(f.day for f in valued if f.day is not None)
    same_day = [f for f in valued if f.day == day]
    low_fact = min(same_day, key=lambda f: f.value_number or 0.0)
    low = low_fact.value_number
    assert low is not None
    unit = f" {low_fact.value_unit}" if low_fact.value_unit else ""
    reading = f"{name} {explain.number(low)}{unit} on {day.isoformat()}"
    if low <= limit:
        return Finding(day, True, reading)
    problem = f"{explain.number(low)} > {explain.number(limit)}{unit} ({flag.label})"
    return Finding(day, False, reading, problem)


def _components(flag: Flag, name: str, facts: Sequence[Fact]) -> Finding | None:
    limits = flag.components_at_or_above
    days = lowest_by_day(facts, (code for code, _ in limits))
    if not days:
        return None
    day = max(days)
    low = days[day]
    values = "/".join(explain.number(low[code]) for code, _ in limits)
    reading = f"{name} {values} on {day.isoformat()}"
    high = [
        f"{COMPONENT_NAMES.get(code, code)} {explain.number(low[code])} ≥ {explain.number(limit)}"
        for code, limit in limits
        if low[code] >= limit
    ]
    if not high:
        return Finding(day, True, reading)
    return Finding(day, False, reading, f"{explain.join_and(high)} ({flag.label})")


__all__ = ["Finding", "assess"]
