"""CQL date/time semantics for measure logic: points with precision, intervals with null bounds.

The measures compare FHIR dates and dateTimes the way CQL does, which differs from the visit-day
engine's day ranges in three ways that decide test cases:

- **Precision is uncertainty.** "2026-03" is any instant in March; a comparison that the
  uncertainty cannot decide is *unknown* (``None``), and a ``where`` clause drops unknowns.
  A :class:`Point` therefore carries the earliest and latest instant it can denote.
- **Null bounds.** ``Interval[x, null]`` (closed) runs to the end of time: an active Condition
  with no abatement is ongoing. ``Interval[x, null)`` (open) has an *unknown* end: an inactive
  Condition without an abatement date. ``Interval(null, x]`` has an unknown start: a Period with
  only an end (FHIRHelpers.ToInterval).
- **"day of"** compares calendar days, so a date-only value and a dateTime compare cleanly.

All instants are normalised to UTC, the offset the measurement period is evaluated in here; a
dateTime without an offset is taken as UTC. Three-valued results (True / False / None) follow
CQL; callers treat None as "not met", as a CQL ``where`` does.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

Tri = bool | None

_MS = timedelta(milliseconds=1)
MIN_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True, slots=True)
class Point:
    """A CQL Date or DateTime: every instant it may denote lies in [lo, hi] (UTC)."""

    lo: datetime
    hi: datetime

    @classmethod
    def exact(cls, instant: datetime) -> Point:
        return cls(instant, instant)

    @classmethod
    def of_day(cls, day: date) -> Point:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return cls(start, start + timedelta(days=1) - _MS)

    @property
    def day_lo(self) -> date:
        return self.lo.date()

    @property
    def day_hi(self) -> date:
        return self.hi.date()

    @property
    def is_day_exact(self) -> bool:
        return self.day_lo == self.day_hi

    def __str__(self) -> str:
        if self.lo == self.hi:
            return self.lo.isoformat()
        if self.is_day_exact:
            return self.day_lo.isoformat()
        return f"{self.lo.isoformat()}..{self.hi.isoformat()}"


def parse_point(value: Any) -> Point | None:
    """A FHIR date, dateTime or instant string as a Point; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@lru_cache(maxsize=65536)
def _parse_text(value: str) -> Point | None:
    # Charts repeat the same timestamps across resources; Points are immutable, so share them.
    text = value.strip()
    m = _DATE_RE.match(text)
    if m:
        year = int(m.group(1))
        try:
            if m.group(3):
                return Point.of_day(date(year, int(m.group(2)), int(m.group(3))))
            if m.group(2):
                month = int(m.group(2))
                last = calendar.monthrange(year, month)[1]
                return Point(
                    Point.of_day(date(year, month, 1)).lo, Point.of_day(date(year, month, last)).hi
                )
            return Point(Point.of_day(date(year, 1, 1)).lo, Point.of_day(date(year, 12, 31)).hi)
        except ValueError:
            return None
    m = _DATETIME_RE.match(text)
    if not m:
        return None
    try:
        year, month, day, hour = (int(m.group(i)) for i in range(1, 5))
        minute = int(m.group(5) or 0)
        second = int(m.group(6) or 0)
        # CQL DateTime stops at milliseconds (an engine drops finer digits): 23:59:59.9995 is
        # still 23:59:59.999, inside a period that ends then.
        fraction = (m.group(7) or "")[:3].ljust(6, "0")
        zone = m.group(8)
        tz = UTC
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        local = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=tz)
    except ValueError:
        return None
    instant = local.astimezone(UTC)
    # Precision: seconds given -> ms exact; minutes only -> the whole minute; hours -> the hour.
    if m.group(6) is not None:
        return Point.exact(instant)
    if m.group(5) is not None:
        return Point(instant, instant + timedelta(minutes=1) - _MS)
    return Point(instant, instant + timedelta(hours=1) - _MS)


def parse_date(value: Any) -> date | None:
    """A FHIR date (birthDate) as a calendar date; partial dates give None."""
    if not isinstance(value, str):
        return None
    m = _DATE_RE.match(value.strip()[:10])
    if not m or not m.group(3):
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# Interval bounds: a Point, or one of two markers for a null bound.
class _Unbounded:
    """A closed null bound: the beginning or the end of time."""

    def __repr__(self) -> str:
        return "UNBOUNDED"


class _Unknown:
    """An open null bound: the boundary exists but is not known."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNBOUNDED = _Unbounded()
UNKNOWN = _Unknown()
Bound = Point | _Unbounded | _Unknown


@dataclass(frozen=True, slots=True)
class Span:
    """A CQL Interval<DateTime>, reduced to its start and end points after closing the bounds."""

    start: Bound
    end: Bound

    @classmethod
    def at(cls, point: Point) -> Span:
        return cls(point, point)

    @classmethod
    def closed(cls, low: Point | None, high: Point | None) -> Span:
        """Interval[low, high]: a null side runs to the beginning or end of time."""
        return cls(low if low is not None else UNBOUNDED, high if high is not None else UNBOUNDED)

    @classmethod
    def days(cls, first: date, last: date) -> Span:
        return cls(Point.of_day(first), Point.of_day(last))

    def start_point(self) -> Point | None:
        """`start of` this interval: None when unknown."""
        if isinstance(self.start, Point):
            return self.start
        return Point.exact(MIN_INSTANT) if self.start is UNBOUNDED else None

    def end_point(self) -> Point | None:
        if isinstance(self.end, Point):
            return self.end
        return Point.exact(MAX_INSTANT) if self.end is UNBOUNDED else None


def fhir_period(period: Any) -> Span | None:
    """FHIRHelpers.ToInterval(Period): Interval[start, end]; a missing start is unknown."""
    if not isinstance(period, dict):
        return None
    start = parse_point(period.get("start"))
    end = parse_point(period.get("end"))
    if start is None and end is None:
        return None
    if start is None:
        assert end is not None  # both missing returned above
        return Span(UNKNOWN, end)
    return Span.closed(start, end)


# ---- comparisons -------------------------------------------------------------------------------


def _cmp_lt(a: Point | None, b: Point | None) -> Tri:
    if a is None or b is None:
        return None
    if a.hi < b.lo:
        return True
    if a.lo >= b.hi:
        return False
    return None


def _cmp_le(a: Point | None, b: Point | None) -> Tri:
    if a is None or b is None:
        return None
    if a.hi <= b.lo:
        return True
    if a.lo > b.hi:
        return False
    return None


def _day_le(a: Point | None, b: Point | None) -> Tri:
    if a is None or b is None:
        return None
    if a.day_hi <= b.day_lo:
        return True
    if a.day_lo > b.day_hi:
        return False
    return None


def _day_lt(a: Point | None, b: Point | None) -> Tri:
    if a is None or b is None:
        return None
    if a.day_hi < b.day_lo:
        return True
    if a.day_lo >= b.day_hi:
        return False
    return None


def same_day(a: Point | None, b: Point | None) -> Tri:
    """`a same day as b`."""
    if a is None or b is None:
        return None
    if a.is_day_exact and b.is_day_exact:
        return a.day_lo == b.day_lo
    if a.day_hi < b.day_lo or b.day_hi < a.day_lo:
        return False
    return None


def and3(*values: Tri) -> Tri:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def or3(*values: Tri) -> Tri:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def not3(value: Tri) -> Tri:
    return None if value is None else not value


def before(a: Point | None, b: Point | None, *, day: bool = False) -> Tri:
    """`a before b` (optionally `before day of`)."""
    return _day_lt(a, b) if day else _cmp_lt(a, b)


def on_or_before(a: Point | None, b: Point | None, *, day: bool = False) -> Tri:
    return _day_le(a, b) if day else _cmp_le(a, b)


def after(a: Point | None, b: Point | None, *, day: bool = False) -> Tri:
    return before(b, a, day=day)


def on_or_after(a: Point | None, b: Point | None, *, day: bool = False) -> Tri:
    return on_or_before(b, a, day=day)


def in_span(p: Point | None, span: Span | None, *, day: bool = False) -> Tri:
    """`p during span` for a point (`in`): start <= p <= end."""
    if p is None or span is None:
        return None
    return and3(
        on_or_before(span.start_point(), p, day=day), on_or_before(p, span.end_point(), day=day)
    )


def during(inner: Span | None, outer: Span | None, *, day: bool = False) -> Tri:
    """`inner during outer` (included in): outer.start <= inner.start and inner.end <= outer.end."""
    if inner is None or outer is None:
        return None
    return and3(
        on_or_before(outer.start_point(), inner.start_point(), day=day),
        on_or_before(inner.end_point(), outer.end_point(), day=day),
    )


def overlaps(a: Span | None, b: Span | None, *, day: bool = False) -> Tri:
    """`a overlaps b`: a.start <= b.end and a.end >= b.start."""
    if a is None or b is None:
        return None
    return and3(
        on_or_before(a.start_point(), b.end_point(), day=day),
        on_or_before(b.start_point(), a.end_point(), day=day),
    )


def ends_during(a: Span | None, b: Span | None, *, day: bool = False) -> Tri:
    if a is None:
        return None
    return in_span(a.end_point(), b, day=day)


def starts_during(a: Span | None, b: Span | None, *, day: bool = False) -> Tri:
    if a is None:
        return None
    return in_span(a.start_point(), b, day=day)


# ---- arithmetic --------------------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """CQL date + N years: Feb 29 clamps to Feb 28 in a common year."""
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return date(year, day.month, min(day.day, last))


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def shift_point(p: Point, *, years: int = 0, months: int = 0, days: int = 0) -> Point:
    """A point moved by a calendar quantity, keeping its time of day and precision."""

    def move(t: datetime) -> datetime:
        d = add_months(add_years(t.date(), years), months) + timedelta(days=days)
        return t.replace(year=d.year, month=d.month, day=d.day)

    return Point(move(p.lo), move(p.hi))


def age_in_years(birth: date, on: date) -> int:
    """AgeInYearsAt: whole years; the birthday itself counts."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def age_in_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    return months


def age_in_days(birth: date, on: date) -> int:
    return (on - birth).days


__all__ = [
    "MAX_INSTANT",
    "MIN_INSTANT",
    "UNBOUNDED",
    "UNKNOWN",
    "Bound",
    "Point",
    "Span",
    "Tri",
    "add_months",
    "add_years",
    "after",
    "age_in_days",
    "age_in_months",
    "age_in_years",
    "and3",
    "before",
    "during",
    "ends_during",
    "fhir_period",
    "in_span",
    "not3",
    "on_or_after",
    "on_or_before",
    "or3",
    "overlaps",
    "parse_date",
    "parse_point",
    "same_day",
    "shift_point",
    "starts_during",
]
