"""Date arithmetic for screening rules: FHIR dates, ages, look-backs, Feb 29, time zones.

Conventions (every rule in the engine relies on them):

- **A FHIR date or dateTime becomes a closed range of local calendar days.** "2019-04-02" is one
  day; "2019-04" is 2019-04-01..2019-04-30; "2019" is the whole year. A dateTime with a time and
  an offset is converted to the clinic's time zone when one is given (``tz``); with ``tz=None``
  the date is taken as written in the source (the EHR writes its own local offset, so the date
  on the chart is the date the clinic saw). A dateTime without an offset is local time already.
- **Period**: start..end; either side may be missing.
- **Age** is whole years on a day: the birthday itself counts (born 1971-06-30 is 50 on
  2021-06-30). Someone born on Feb 29 turns a year older on Mar 1 in a common year, exactly as
  CQL's ``AgeInYearsAt`` computes it (month/day comparison).
- **Adding years or months** clamps to the end of the month: 2020-02-29 + 1 year = 2021-02-28,
  2021-01-31 + 1 month = 2021-02-28.
- **A window of N years (or months, days) ending on day D** starts the day *after* D minus N, as
  CQL measure intervals do (a 1-year period ending 2021-06-30 is 2020-07-01..2021-06-30): an
  event exactly N years before D is outside it (``window_start``). An event stays current until
  the first day whose window no longer holds it (``falls_out_of_window``): its "next due" date,
  which is the event plus N except when month-end clamping moves it (2020-02-29 + 1 year is
  current through 2021-02-28 and due 2021-03-01).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, slots=True)
class DayRange:
    """A closed range of local calendar days; ``None`` on a side means open/unknown."""

    start: date | None
    end: date | None

    @property
    def latest(self) -> date | None:
        """The date a single event is filed under: the end when known, else the start."""
        return self.end if self.end is not None else self.start


def parse_day_range(value: Any, tz: tzinfo | None = None) -> DayRange | None:
    """A FHIR date/dateTime/instant string as the range of local days it covers."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if "T" not in text:
        m = _DATE_RE.match(text)
        if not m:
            return None
        year = int(m.group(1))
        try:
            if m.group(3):
                d = date(year, int(m.group(2)), int(m.group(3)))
                return DayRange(d, d)
            if m.group(2):
                month = int(m.group(2))
                last = calendar.monthrange(year, month)[1]
                return DayRange(date(year, month, 1), date(year, month, last))
            return DayRange(date(year, 1, 1), date(year, 12, 31))
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if tz is not None and moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    d = moment.date()
    return DayRange(d, d)


def parse_date(value: Any, tz: tzinfo | None = None) -> date | None:
    """The first day a FHIR date/dateTime covers (a birth date "1970" gives 1970-01-01)."""
    rng = parse_day_range(value, tz)
    return rng.start if rng else None


def period_range(period: Any, tz: tzinfo | None = None) -> DayRange | None:
    """A FHIR Period: from the first day of ``start`` to the last day of ``end``."""
    if not isinstance(period, dict):
        return None
    start = parse_day_range(period.get("start"), tz)
    end = parse_day_range(period.get("end"), tz)
    if start is None and end is None:
        return None
    return DayRange(start.start if start else None, end.end if end else None)


def choice_range(
    resource: dict[str, Any], prefix: str, tz: tzinfo | None = None
) -> DayRange | None:
    """``<prefix>DateTime`` / ``<prefix>Period`` / ``<prefix>Instant`` / ``<prefix>Date``."""
    for suffix in ("DateTime", "Instant", "Date"):
        value = resource.get(prefix + suffix)
        if value is not None:
            return parse_day_range(value, tz)
    return period_range(resource.get(prefix + "Period"), tz)


def add_years(d: date, years: int) -> date:
    """``d`` plus whole years, Feb 29 clamped to Feb 28 in a common year."""
    year = d.year + years
    day = min(d.day, calendar.monthrange(year, d.month)[1])
    return date(year, d.month, day)


def add_months(d: date, months: int) -> date:
    """``d`` plus whole months, the day clamped to the end of the target month."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def shift(d: date, *, years: int = 0, months: int = 0, days: int = 0) -> date:
    out = d
    if years:
        out = add_years(out, years)
    if months:
        out = add_months(out, months)
    if days:
        out = out + timedelta(days=days)
    return out


def window_start(end: date, *, years: int = 0, months: int = 0, days: int = 0) -> date:
    """The first day of the window of the given length that ends on ``end`` (inclusive)."""
    return shift(end, years=-years, months=-months, days=-days) + timedelta(days=1)


def falls_out_of_window(day: date, *, years: int = 0, months: int = 0, days: int = 0) -> date:
    """The first window end whose window (see ``window_start``) no longer holds ``day``."""
    out = shift(day, years=years, months=months, days=days)
    # Month-end clamping can put ``out`` a day or three early (Feb 29, the 31st): step on.
    while window_start(out, years=years, months=months, days=days) <= day:
        out += timedelta(days=1)
    return out


def age_on(birth: date, on: date) -> int:
    """Whole years from ``birth`` to ``on``; the birthday itself counts."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_range_on(birth: DayRange, on: date) -> tuple[int, int]:
    """The youngest and oldest age possible for an imprecise birth date ("1970", "1970-05")."""
    assert birth.start is not None and birth.end is not None
    return age_on(birth.end, on), age_on(birth.start, on)


MAX_AGE_YEARS = 120  # an older birth date is a data-entry error (the oldest person lived 122)


def plausible_birth(birth: DayRange | None, on: date) -> DayRange | None:
    """``birth`` unless it is impossible on ``on``: wholly after that day, or wholly more than
    MAX_AGE_YEARS before it (exactly 120 years, on the birthday, is still plausible). An
    implausible birth date is treated as missing, never as a negative or absurd age."""
    if birth is None or birth.start is None or birth.end is None:
        return birth
    if birth.start > on or birth.end < add_years(on, -MAX_AGE_YEARS):
        return None
    return birth


def birth_date_warning(value: Any, on: date) -> str | None:
    """The sheet's data warning for a Patient.birthDate that is readable but implausible."""
    birth = parse_day_range(value)
    if birth is None or plausible_birth(birth, on) is not None:
        return None
    return f"Birth date {str(value).strip()[:40]} is implausible: treated as missing"


def end_of_year(d: date) -> date:
    return date(d.year, 12, 31)


def start_of_year(d: date) -> date:
    return date(d.year, 1, 1)


def flu_season_start(on: date, month: int = 8, day: int = 1) -> date:
    """The start of the influenza season that ``on`` falls in (by default Aug 1, per ACIP)."""
    this_year = date(on.year, month, day)
    return this_year if on >= this_year else date(on.year - 1, month, day)
