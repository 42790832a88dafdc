"""Windows of N years (or months) ending on day D start the day after D minus N (CQL measure
intervals): an event exactly N before the as-of date is outside; next due on the as-of day is
Due; Due Soon runs from the day after the as-of date to the end of the due-soon window."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from engine_fixtures import (
    CPT,
    ICD10CM,
    LOINC,
    SNOMED,
    code_in,
    condition,
    observation,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.model import Status

AS_OF = date(2021, 6, 30)
MAN_60 = "1961-01-15"
PREGNANCY = "2.16.840.1.113883.3.526.3.378"
FORMER = (SNOMED, "8517006")


def colonoscopy(day: str) -> object:
    return run(patient(MAN_60, "male"), procedure(CPT, "45378", day))["colorectal_cancer"]


@pytest.mark.parametrize(
    ("done", "status", "next_due"),
    [
        ("2011-06-29", Status.OVERDUE, date(2021, 6, 29)),
        ("2011-06-30", Status.DUE, date(2021, 6, 30)),  # D - 10 years: outside, due today
        ("2011-07-01", Status.DUE_SOON, date(2021, 7, 1)),  # D - 10 years + 1 day: counts
        ("2011-07-30", Status.DUE_SOON, date(2021, 7, 30)),  # the due-soon window's far edge
        ("2011-07-31", Status.COMPLETE, date(2021, 7, 31)),  # one day past it
    ],
)
def test_ten_year_interval_boundaries(done: str, status: Status, next_due: date) -> None:
    result = colonoscopy(done)
    assert result.status is status
    assert result.next_due == next_due


def test_due_today_explanation_says_so() -> None:
    result = colonoscopy("2011-06-30")
    assert "due today" in result.explanation
    assert result.last_done == date(2011, 6, 30)


def test_yearly_hba1c_window_boundary() -> None:
    dx = condition(ICD10CM, "E11.9")

    def a1c(day: str) -> object:
        obs = observation(LOINC, "4548-4", day, value=7.0, unit="%")
        return run(patient("1975-01-01"), dx, obs)["diabetes_hba1c"]

    assert a1c("2020-06-30").status is Status.DUE
    assert a1c("2020-07-01").status is Status.DUE_SOON


def test_recent_exclusion_lookback_starts_the_day_after() -> None:
    htn = condition(ICD10CM, "I10")
    reading = observation(LOINC, "85354-9", "2021-05-01", components={"8480-6": 128, "8462-4": 78})
    code = code_in(PREGNANCY, ICD10CM)

    def with_pregnancy_ending(day: str) -> Status:
        preg = condition(*code, "2019-10-01", clinical="resolved", abatement=day)
        return run(patient("1985-01-01"), htn, reading, preg)["blood_pressure"].status

    assert with_pregnancy_ending("2020-07-01") is Status.NOT_APPLICABLE  # inside the year
    assert with_pregnancy_ending("2020-06-30") is Status.COMPLETE  # exactly a year: outside


def test_quit_fifteen_years_ago_is_outside_the_window() -> None:
    def lung(quit: str) -> Status:
        return run(
            patient("1960-01-01", "male"),
            observation(LOINC, "72166-2", "2021-01-01", value_code=FORMER),
            observation(SNOMED, "401201003", "2021-01-01", value=25, unit="{pack-years}"),
            observation(LOINC, "74010-0", "2021-01-01", value_date=quit),
        )["lung_cancer"].status

    assert lung("2006-07-01") is Status.DUE
    assert lung("2006-06-30") is Status.NOT_APPLICABLE


def test_window_helpers() -> None:
    from healthprep_desktop.screening.dates import falls_out_of_window, window_start

    assert window_start(AS_OF, years=10) == date(2011, 7, 1)
    assert window_start(AS_OF, months=1) == date(2021, 5, 31)
    assert falls_out_of_window(date(2011, 7, 1), years=10) == date(2021, 7, 1)
    # Feb 29: a window ending 2021-02-28 starts 2020-02-29, so the event is current that day
    # and falls out the next.
    assert window_start(date(2021, 2, 28), years=1) == date(2020, 2, 29)
    assert falls_out_of_window(date(2020, 2, 29), years=1) == date(2021, 3, 1)
    assert falls_out_of_window(date(2021, 3, 31), months=1) == date(2021, 5, 1)
    for day in (date(2020, 2, 29), date(2021, 3, 31), date(2019, 12, 31)):
        for years, months in ((1, 0), (0, 1), (0, 6), (3, 0)):
            out = falls_out_of_window(day, years=years, months=months)
            assert window_start(out, years=years, months=months) > day
            assert window_start(out - timedelta(days=1), years=years, months=months) <= day


def test_feb_29_yearly_event_is_due_the_day_it_leaves_the_window() -> None:
    dx = condition(ICD10CM, "E11.9")
    obs = observation(LOINC, "4548-4", "2020-02-29", value=7.0, unit="%")
    on_28 = run(patient("1975-01-01"), dx, obs, as_of=date(2021, 2, 28))["diabetes_hba1c"]
    assert on_28.status is Status.DUE_SOON
    assert on_28.next_due == date(2021, 3, 1)
    on_1 = run(patient("1975-01-01"), dx, obs, as_of=date(2021, 3, 1))["diabetes_hba1c"]
    assert on_1.status is Status.DUE
