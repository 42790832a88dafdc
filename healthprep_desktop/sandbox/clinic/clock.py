"""Dates and times for the synthetic clinic: relative dates and the clinic's local time zone.

The clinic keeps US Central time. Its UTC offset follows the US daylight-saving rule (second
Sunday of March to first Sunday of November), computed here rather than read from the OS time-zone
database, so the same seed gives the same timestamps on every platform (Windows ships no tz data).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

CLINIC_TIME_ZONE = "America/Chicago"
_STANDARD = timedelta(hours=-6)
_DAYLIGHT = timedelta(hours=-5)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    first_sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    return first_sunday + timedelta(weeks=n - 1)


def utc_offset(day: date) -> timedelta:
    """The clinic's UTC offset on a day (changes happen at 02:00, outside clinic hours)."""
    if _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1):
        return _DAYLIGHT
    return _STANDARD


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=timezone(utc_offset(day)))


def stamp(day: date, hour: int = 9, minute: int = 0) -> str:
    """FHIR dateTime/instant with the clinic's offset, e.g. 2026-12-01T09:00:00-06:00."""
    return local(day, time(hour, minute)).isoformat()


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February falls back to 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_EPOCH_MONDAY = date(2020, 1, 6)


def weekday_index(day: date) -> int:
    """Weekdays since a fixed Monday: consecutive clinic days get consecutive numbers."""
    weeks, rest = divmod((day - _EPOCH_MONDAY).days, 7)
    return weeks * 5 + min(rest, 5)
