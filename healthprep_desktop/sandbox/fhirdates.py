"""FHIR date, dateTime and instant values as half-open ranges, and the date search prefixes.

A value's range follows its precision: "2020" is the whole year, "2020-05-01" the whole day,
"2020-05-01T10:00:00" one second. Times are compared on their wall clock with the offset
dropped: a clinic's "2026-12-01" schedule must find every appointment that day whatever offset
the EHR writes, which is how clinicians (and Epic's date searches) read dates.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_DAY = 86400.0
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")

Range = tuple[float, float]
UNBOUNDED: Range = (float("-inf"), float("inf"))


def _day_seconds(year: int, month: int, day: int) -> float:
    return date(year, month, day).toordinal() * _DAY


def parse_range(value: str) -> Range | None:
    """The range a FHIR date/dateTime/instant covers, or None when it is not one."""
    match = _DATE.match(value.strip())
    if match is None:
        return None
    year_s, month_s, day_s, hour_s, minute_s, second_s = match.groups()
    try:
        year = int(year_s)
        if month_s is None:
            return _day_seconds(year, 1, 1), _day_seconds(year + 1, 1, 1)
        month = int(month_s)
        if day_s is None:
            nxt = (year + 1, 1) if month == 12 else (year, month + 1)
            return _day_seconds(year, month, 1), _day_seconds(nxt[0], nxt[1], 1)
        start = _day_seconds(year, month, int(day_s))
        if hour_s is None:
            return start, start + _DAY
        start += int(hour_s) * 3600 + int(minute_s) * 60
        if second_s is None:
            return start, start + 60
        start += int(second_s)
        return start, start + 1
    except ValueError:  # e.g. month 13
        return None


def period_range(start: str | None, end: str | None) -> Range | None:
    """A Period's range; an open end is unbounded on that side."""
    lo_range = parse_range(start) if start else None
    hi_range = parse_range(end) if end else None
    if lo_range is None and hi_range is None:
        return None
    lo = lo_range[0] if lo_range else UNBOUNDED[0]
    hi = hi_range[1] if hi_range else UNBOUNDED[1]
    return lo, max(lo, hi)


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def matches(prefix: str, search: Range, target: Range) -> bool:
    """FHIR R4 search semantics (section 3.1.1.5.6) for one search range against one target."""
    s_lo, s_hi = search
    t_lo, t_hi = target
    contains = s_lo <= t_lo and t_hi <= s_hi
    if prefix == "eq":
        return contains
    if prefix == "ne":
        return not contains
    if prefix == "gt":
        return t_hi > s_hi
    if prefix == "lt":
        return t_lo < s_lo
    if prefix == "ge":
        return t_hi > s_hi or contains
    if prefix == "le":
        return t_lo < s_lo or contains
    if prefix == "sa":
        return t_lo >= s_hi
    if prefix == "eb":
        return t_hi <= s_lo
    if prefix == "ap":  # approximately: overlap, widened by a tenth of the range or a day
        slack = max((s_hi - s_lo) * 0.1, _DAY)
        return t_lo < s_hi + slack and t_hi > s_lo - slack
    raise ValueError(prefix)


def bounds(prefix: str, search: Range) -> Range:
    """The widest range a target may start/end in to match; used to pick schedule days."""
    s_lo, s_hi = search
    if prefix in ("eq", "ap"):
        return search
    if prefix in ("gt", "ge", "sa"):
        return s_lo, UNBOUNDED[1]
    if prefix in ("lt", "le", "eb"):
        return UNBOUNDED[0], s_hi
    return UNBOUNDED


def days_in(span: Range, limit: int) -> list[date] | None:
    """The calendar days a bounded range touches, or None when unbounded or wider than limit."""
    lo, hi = span
    if lo == UNBOUNDED[0] or hi == UNBOUNDED[1]:
        return None
    first = int(lo // _DAY)
    last = math.ceil(hi / _DAY) - 1  # hi is exclusive (and too large for an epsilon)
    if last - first + 1 > limit or last < first:
        return None
    return [date.fromordinal(n) for n in range(first, last + 1)]


def to_datetime(seconds: float) -> datetime:
    """Inverse of the wall-clock seconds used above (for sorting and display)."""
    day = int(seconds // _DAY)
    return datetime.combine(date.fromordinal(day), datetime.min.time()) + timedelta(
        seconds=seconds - day * _DAY
    )
