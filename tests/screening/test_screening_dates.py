"""Date rules the engine relies on: age on the boundary day, Feb 29, partial dates, time zones."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthprep_desktop.screening.dates import (
    DayRange,
    add_months,
    add_years,
    age_on,
    age_range_on,
    choice_range,
    flu_season_start,
    parse_day_range,
    period_range,
)


@pytest.mark.parametrize(
    ("on", "expected"),
    [(date(2021, 6, 29), 49), (date(2021, 6, 30), 50), (date(2021, 7, 1), 50)],
)
def test_age_turns_on_the_birthday_itself(on: date, expected: int) -> None:
    assert age_on(date(1971, 6, 30), on) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2021, 2, 28), 20),  # common year: not yet
        (date(2021, 3, 1), 21),
        (date(2024, 2, 28), 23),
        (date(2024, 2, 29), 24),  # leap year: on the day
    ],
)
def test_feb_29_birthday(on: date, expected: int) -> None:
    assert age_on(date(2000, 2, 29), on) == expected


def test_add_years_and_months_clamp_to_month_end() -> None:
    assert add_years(date(2020, 2, 29), 1) == date(2021, 2, 28)
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)
    assert add_years(date(2021, 6, 30), -10) == date(2011, 6, 30)
    assert add_months(date(2021, 1, 31), 1) == date(2021, 2, 28)
    assert add_months(date(2021, 12, 15), 1) == date(2022, 1, 15)
    assert add_months(date(2021, 3, 31), -13) == date(2020, 2, 29)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(min_value=0, max_value=100),
)
def test_age_on_nth_anniversary_is_n(birth: date, years: int) -> None:
    anniversary = add_years(birth, years)
    if (birth.month, birth.day) == (2, 29) and anniversary.day == 28:
        # Clamped to Feb 28 in a common year: the birthday counts from Mar 1.
        assert age_on(birth, anniversary) == years - 1
        assert age_on(birth, anniversary + timedelta(days=1)) == years
    else:
        assert age_on(birth, anniversary) == years
        if years:
            assert age_on(birth, anniversary - timedelta(days=1)) == years - 1


def test_partial_dates_cover_their_whole_period() -> None:
    assert parse_day_range("2019") == DayRange(date(2019, 1, 1), date(2019, 12, 31))
    assert parse_day_range("2019-02") == DayRange(date(2019, 2, 1), date(2019, 2, 28))
    assert parse_day_range("2020-02") == DayRange(date(2020, 2, 1), date(2020, 2, 29))
    assert parse_day_range("2019-04-02") == DayRange(date(2019, 4, 2), date(2019, 4, 2))
    assert age_range_on(DayRange(date(1981, 1, 1), date(1981, 12, 31)), date(2021, 6, 30)) == (
        39,
        40,
    )


@pytest.mark.parametrize("bad", ["", "yesterday", "2019-13-01", "2019-02-30", None, 20190101])
def test_unreadable_dates_are_none(bad: object) -> None:
    assert parse_day_range(bad) is None


def test_datetime_near_midnight_uses_the_clinic_zone() -> None:
    late = "2021-06-30T23:30:00-05:00"
    assert parse_day_range(late) == DayRange(date(2021, 6, 30), date(2021, 6, 30))  # as written
    assert parse_day_range(late, UTC).start == date(2021, 7, 1)
    assert parse_day_range(late, ZoneInfo("America/Chicago")).start == date(2021, 6, 30)
    utc = "2021-07-01T02:00:00Z"
    assert parse_day_range(utc, ZoneInfo("America/New_York")).start == date(2021, 6, 30)
    assert parse_day_range(utc).start == date(2021, 7, 1)
    # No offset: already local time, never shifted.
    assert parse_day_range("2021-06-30T23:59:59", UTC).start == date(2021, 6, 30)


def test_period_and_choice_ranges() -> None:
    period = {"start": "2011-06-29T22:00:00Z", "end": "2011-06-30T01:00:00Z"}
    assert period_range(period) == DayRange(date(2011, 6, 29), date(2011, 6, 30))
    assert period_range(period).latest == date(2011, 6, 30)  # end when present
    assert period_range({"start": "2011-06-29"}).latest == date(2011, 6, 29)  # else start
    assert period_range({}) is None
    res = {"performedPeriod": period}
    assert choice_range(res, "performed") == DayRange(date(2011, 6, 29), date(2011, 6, 30))
    assert choice_range({"effectiveInstant": "2020-01-01T00:00:00Z"}, "effective") is not None
    assert choice_range({"performedString": "last spring"}, "performed") is None


def test_flu_season_starts_on_august_first() -> None:
    assert flu_season_start(date(2021, 6, 30)) == date(2020, 8, 1)
    assert flu_season_start(date(2021, 8, 1)) == date(2021, 8, 1)
    assert flu_season_start(date(2021, 7, 31)) == date(2020, 8, 1)
