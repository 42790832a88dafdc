"""Who a screening applies to: age on the boundary day, sex from any source, missing facts."""

from __future__ import annotations

from datetime import date

import pytest
from engine_fixtures import (
    CPT,
    birthsex,
    patient,
    procedure,
    run,
    us_core_sex,
)

from healthprep_desktop.screening.model import Status


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (date(2021, 6, 29), Status.NOT_APPLICABLE),  # 39 the day before the 40th birthday
        (date(2021, 6, 30), Status.DUE),  # 40 on the birthday itself
        (date(2021, 7, 1), Status.DUE),
    ],
)
def test_breast_lower_age_boundary(as_of: date, status: Status) -> None:
    result = run(patient("1981-06-30", "female"), as_of=as_of)["breast_cancer"]
    assert result.status is status
    if status is Status.NOT_APPLICABLE:
        assert result.reason == "not eligible: age 39 (eligible 40-74)"


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (date(2021, 6, 29), Status.DUE),  # still 74
        (date(2021, 6, 30), Status.NOT_APPLICABLE),  # 75 today: aged out
    ],
)
def test_breast_upper_age_boundary(as_of: date, status: Status) -> None:
    assert run(patient("1946-06-30", "female"), as_of=as_of)["breast_cancer"].status is status


def test_colorectal_starts_at_45_on_the_birthday() -> None:
    assert run(patient("1976-06-30", "male"))["colorectal_cancer"].status is Status.DUE
    assert run(patient("1976-07-01", "male"))["colorectal_cancer"].status is Status.NOT_APPLICABLE


def test_feb_29_birthday_turns_over_on_march_first() -> None:
    pat = patient("1976-02-29", "male")
    assert run(pat, as_of=date(2021, 2, 28))["colorectal_cancer"].status is Status.NOT_APPLICABLE
    assert run(pat, as_of=date(2021, 3, 1))["colorectal_cancer"].status is Status.DUE


def test_sex_from_the_us_core_sex_extension_only() -> None:
    pat = patient("1970-01-01", None, extensions=[us_core_sex("248152002")])
    results = run(pat)
    assert results["breast_cancer"].status is Status.DUE
    assert results["cervical_cancer"].status is Status.DUE
    assert results["abdominal_aortic_aneurysm"].status is Status.NOT_APPLICABLE


def test_sex_from_birthsex_only() -> None:
    pat = patient("1952-01-01", None, extensions=[birthsex("M")])
    results = run(pat)
    assert results["breast_cancer"].reason == "not eligible: female only"
    # Male sex is known, so AAA reaches its smoking-history gate (nothing recorded).
    assert results["abdominal_aortic_aneurysm"].status is Status.INSUFFICIENT_DATA


def test_us_core_sex_decides_over_gender() -> None:
    # CMS124/CMS125 (2026) test Patient.sex, read from us-core-sex: it wins over gender.
    man_by_gender = patient("1970-01-01", "male", extensions=[us_core_sex("248152002")])
    results = run(man_by_gender)
    assert results["breast_cancer"].status is Status.DUE
    assert results["abdominal_aortic_aneurysm"].reason == "not eligible: male only"
    woman_by_gender = patient("1970-01-01", "female", extensions=[us_core_sex("248153007")])
    assert run(woman_by_gender)["breast_cancer"].reason == "not eligible: female only"


def test_gender_decides_over_birthsex() -> None:
    # Neither eCQM edition reads us-core-birthsex: gender states the sex here.
    pat = patient("1980-01-01", "male", extensions=[birthsex("F")])
    assert run(pat)["cervical_cancer"].reason == "not eligible: female only"
    # Birth sex decides only when gender says neither female nor male.
    other = patient("1980-01-01", "other", extensions=[birthsex("F")])
    assert run(other)["cervical_cancer"].status is Status.DUE


def test_unknown_sex_is_insufficient_for_sex_specific_rules_only() -> None:
    results = run(patient("1970-01-01", "unknown"))
    assert results["breast_cancer"].status is Status.INSUFFICIENT_DATA
    assert "sex not recorded" in (results["breast_cancer"].reason or "")
    assert results["colorectal_cancer"].status is Status.DUE


def test_missing_birth_date_is_insufficient() -> None:
    results = run(patient(None, "female"))
    for sid in ("breast_cancer", "colorectal_cancer", "hiv", "influenza_vaccine"):
        assert results[sid].status is Status.INSUFFICIENT_DATA
        assert results[sid].reason == "birth date missing"
        assert results[sid].explanation == "Insufficient data: birth date missing"


def test_year_only_birth_date_at_a_boundary_is_insufficient() -> None:
    # Born "1981": 39 or 40 on 2021-06-30, so the breast rule cannot decide.
    results = run(patient("1981", "female"))
    assert results["breast_cancer"].status is Status.INSUFFICIENT_DATA
    assert results["cervical_cancer"].status is Status.DUE  # 39-40 is inside 21-64 either way
    assert run(patient("1975", "female"))["breast_cancer"].status is Status.DUE


def test_deceased_patient_is_not_applicable_everywhere() -> None:
    for pat in (patient("1960-01-01", deceased=True), patient("1960-01-01", deceased="2020-05-01")):
        for result in run(pat).values():
            assert result.status is Status.NOT_APPLICABLE
            assert result.reason == "patient is deceased"
    # Died after the as-of date: still alive on that day.
    later = run(patient("1960-01-01", deceased="2022-01-01"))
    assert later["colorectal_cancer"].status is Status.DUE


def test_results_are_deterministic_and_order_independent() -> None:
    pat = patient("1960-01-01", "female")
    resources = [
        procedure(CPT, "45378", "2015-03-01"),
        procedure(CPT, "45378", "2018-03-01"),
        procedure(CPT, "77067", "2020-01-01"),
    ]
    first = run(pat, *resources)
    again = run(pat, *reversed(resources))
    assert [r.to_json() for r in first.values()] == [r.to_json() for r in again.values()]
    assert first["colorectal_cancer"].last_done == date(2018, 3, 1)


def test_every_result_has_a_one_line_explanation() -> None:
    for result in run(patient("1960-01-01", "female")).values():
        assert result.explanation and "\n" not in result.explanation
        assert result.frequency
        assert result.to_json()["status"] == result.status.value
