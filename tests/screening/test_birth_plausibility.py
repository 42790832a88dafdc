"""Implausible birth dates (after the as-of day, or more than 120 years before it) count as
missing: age-based screenings say Insufficient data, the sheet shows no age and warns."""

from __future__ import annotations

from datetime import date

import pytest
from engine_fixtures import AS_OF, patient, run

from healthprep_desktop.screening.dates import DayRange, birth_date_warning, plausible_birth
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet_data import build_content
from healthprep_desktop.screening.sheet_model import SheetContext
from healthprep_desktop.screening.sheet_text import render_sheet_text
from healthprep_desktop.screening.visit_status import refine

ON = date(2021, 6, 30)


def _day(d: date) -> DayRange:
    return DayRange(d, d)


@pytest.mark.parametrize(
    ("birth", "plausible"),
    [
        (date(2021, 6, 30), True),  # born today
        (date(2021, 7, 1), False),  # tomorrow
        (date(2999, 1, 1), False),
        (date(1901, 6, 30), True),  # 120 years exactly, on the birthday
        (date(1901, 6, 29), False),  # a day more than 120 years
        (date(1900, 6, 30), False),  # 121 years
        (date(1960, 1, 1), True),
    ],
)
def test_the_birth_date_rule(birth: date, plausible: bool) -> None:
    got = plausible_birth(_day(birth), ON)
    assert (got is not None) is plausible
    warning = birth_date_warning(birth.isoformat(), ON)
    if plausible:
        assert warning is None
    else:
        assert warning == f"Birth date {birth.isoformat()} is implausible: treated as missing"


def test_imprecise_birth_dates() -> None:
    # A year that has not ended yet may still hold the birthday; a future year may not.
    assert plausible_birth(DayRange(date(2021, 1, 1), date(2021, 12, 31)), ON) is not None
    assert plausible_birth(DayRange(date(2022, 1, 1), date(2022, 12, 31)), ON) is None
    # 1901 may be 120 years ago (a birthday after June 30); 1900 is 121 at least.
    assert plausible_birth(DayRange(date(1901, 1, 1), date(1901, 12, 31)), ON) is not None
    assert plausible_birth(DayRange(date(1900, 1, 1), date(1900, 12, 31)), ON) is None
    assert birth_date_warning("1960", ON) is None
    assert birth_date_warning("not a date", ON) is None  # unreadable: "missing" says it
    assert plausible_birth(None, ON) is None


@pytest.mark.parametrize("birth", ["2999-01-01", "1850-03-04", "2021-07-01"])
def test_engine_treats_an_implausible_birth_date_as_missing(birth: str) -> None:
    results = run(patient(birth, "female"))
    aged = [r for r in results.values() if r.screening_id in ("breast_cancer", "colorectal_cancer")]
    assert aged, sorted(results)
    for result in aged:
        assert result.status is Status.INSUFFICIENT_DATA, result
        assert "birth date" in (result.reason or ""), result


def test_a_120_year_old_on_her_birthday_keeps_her_age() -> None:
    results = run(patient("1901-06-30", "female"))
    assert results["breast_cancer"].status is Status.NOT_APPLICABLE
    assert "120" in (results["breast_cancer"].reason or results["breast_cancer"].explanation)


def test_sheet_shows_no_age_and_warns() -> None:
    record = PatientRecord(patient=patient("2999-01-01", "male"), resources=[], documents=[])
    lib = default_library()
    from healthprep_desktop.screening.engine import evaluate

    results = refine(evaluate(record, AS_OF, lib), record, AS_OF, lib)
    ctx = SheetContext(record=record, results=results, as_of=AS_OF)
    content = build_content(ctx)
    assert content.header.age == ""
    assert "Birth date 2999-01-01 is implausible: treated as missing" in content.warnings
    assert not any("Birth date missing" in w for w in content.warnings)
    text = render_sheet_text(ctx)
    assert "-97" not in text and "age -" not in text.lower(), text
