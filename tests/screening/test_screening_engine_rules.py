"""Rule families with their own logic: smoking-history gates (lung, AAA), cervical HPV from 30,
HIV age at test, tobacco and depression results, immunization schedules."""

from __future__ import annotations

from datetime import date

import pytest
from engine_fixtures import (
    CPT,
    LOINC,
    SNOMED,
    immunization,
    observation,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.model import Status

CURRENT = (SNOMED, "449868002")
FORMER = (SNOMED, "8517006")
NEVER = (SNOMED, "266919005")


def smoking(value: tuple[str, str], when: str = "2021-01-01") -> dict:
    return observation(LOINC, "72166-2", when, value_code=value)


def pack_years(n: float) -> dict:
    return observation(SNOMED, "401201003", "2021-01-01", value=n, unit="{pack-years}")


def quit_on(day: str) -> dict:
    return observation(LOINC, "74010-0", "2021-01-01", value_date=day)


def lung(*resources: dict, birth: str = "1960-01-01") -> object:
    return run(patient(birth, "male"), *resources)["lung_cancer"]


def test_lung_screening_needs_pack_years() -> None:
    result = lung(smoking(CURRENT))
    assert result.status is Status.INSUFFICIENT_DATA
    assert result.reason == "pack-years not recorded (current smoker; eligible at 20+ pack-years)"
    assert lung(smoking(CURRENT), pack_years(30)).status is Status.DUE
    assert lung(smoking(CURRENT), pack_years(19)).status is Status.NOT_APPLICABLE


def test_lung_screening_without_smoking_history() -> None:
    assert lung().status is Status.INSUFFICIENT_DATA
    assert lung().reason == "smoking history not recorded"
    assert lung(smoking(NEVER)).status is Status.NOT_APPLICABLE


def test_former_smoker_quit_within_fifteen_years() -> None:
    assert lung(smoking(FORMER), pack_years(25), quit_on("2010-01-01")).status is Status.DUE
    assert lung(smoking(FORMER), pack_years(25), quit_on("2006-07-01")).status is Status.DUE
    gone = lung(smoking(FORMER), pack_years(25), quit_on("2006-06-30"))  # exactly 15 years
    assert gone.status is Status.NOT_APPLICABLE
    assert "more than 15 years" in (gone.reason or "")
    unknown = lung(smoking(FORMER), pack_years(25))
    assert unknown.status is Status.INSUFFICIENT_DATA
    assert "quit date" in (unknown.reason or "")


def test_lung_screening_yearly_ldct() -> None:
    ldct = procedure(CPT, "71271", "2020-09-01")
    done = lung(smoking(CURRENT), pack_years(40), ldct)
    assert done.status is Status.COMPLETE
    assert done.next_due == date(2021, 9, 1)
    assert lung(smoking(CURRENT), pack_years(40), ldct, birth="1940-01-01").status is (
        Status.NOT_APPLICABLE
    )


def test_aaa_once_for_men_who_ever_smoked() -> None:
    man = patient("1951-01-01", "male")
    # A former smoker whose latest status says "never" still has a smoking history.
    history = [smoking(FORMER, "2015-01-01"), smoking(NEVER, "2021-01-01")]
    assert run(man, *history)["abdominal_aortic_aneurysm"].status is Status.DUE
    assert run(man, smoking(NEVER))["abdominal_aortic_aneurysm"].status is Status.NOT_APPLICABLE
    done = run(man, smoking(CURRENT), procedure(CPT, "76706", "2017-03-03"))
    assert done["abdominal_aortic_aneurysm"].status is Status.COMPLETE
    assert done["abdominal_aortic_aneurysm"].next_due is None
    woman = patient("1951-01-01", "female")
    assert run(woman, smoking(CURRENT))["abdominal_aortic_aneurysm"].status is (
        Status.NOT_APPLICABLE
    )


def test_cervical_hpv_counts_only_from_age_30() -> None:
    woman = patient("1990-01-15", "female")  # 31 on the as-of date, 30 on 2020-01-15
    hpv_at_29 = observation(LOINC, "21440-3", "2019-12-01", value_code=(SNOMED, "260385009"))
    hpv_at_30 = observation(LOINC, "21440-3", "2020-02-01", value_code=(SNOMED, "260385009"))
    assert run(woman, hpv_at_29)["cervical_cancer"].status is Status.DUE
    result = run(woman, hpv_at_30)["cervical_cancer"]
    assert result.status is Status.COMPLETE
    assert result.next_due == date(2025, 2, 1)


def test_cervical_cytology_three_years() -> None:
    woman = patient("1980-01-01", "female")
    pap = observation(LOINC, "10524-7", "2018-07-01", value_code=(SNOMED, "260385009"))
    result = run(woman, pap)["cervical_cancer"]
    assert result.status is Status.DUE_SOON
    assert result.next_due == date(2021, 7, 1)
    no_result = observation(LOINC, "10524-7", "2020-07-01")
    assert run(woman, no_result)["cervical_cancer"].status is Status.DUE


def test_hiv_test_must_fall_between_15_and_65() -> None:
    teen = patient("2005-01-01", "female")  # 16 now
    at_14 = observation(LOINC, "56888-1", "2019-06-01", value_code=(SNOMED, "260385009"))
    assert run(teen, at_14)["hiv"].status is Status.DUE
    at_15 = observation(LOINC, "56888-1", "2020-06-01", value_code=(SNOMED, "260385009"))
    result = run(teen, at_15)["hiv"]
    assert result.status is Status.COMPLETE
    assert result.explanation == "HIV test 2020-06-01 (LOINC 56888-1); done, no repeat needed"


def test_tobacco_screening_needs_a_user_or_non_user_answer() -> None:
    pat = patient("1980-01-01")
    assert run(pat, smoking(NEVER, "2021-02-02"))["tobacco_use"].status is Status.COMPLETE
    unknown = smoking((SNOMED, "266927001"), "2021-02-02")  # consumption unknown
    assert run(pat, unknown)["tobacco_use"].status is Status.DUE


def test_depression_screen_needs_a_score() -> None:
    pat = patient("1980-01-01")
    phq9 = observation(LOINC, "44261-6", "2020-12-01", value=4)
    assert run(pat, phq9)["depression"].status is Status.COMPLETE
    blank = observation(LOINC, "44261-6", "2020-12-01")
    assert run(pat, blank)["depression"].status is Status.DUE
    assert run(patient("2010-01-01"))["depression"].status is Status.NOT_APPLICABLE  # 11


@pytest.mark.parametrize(
    ("given", "as_of", "status"),
    [
        ("2020-09-15", date(2021, 6, 30), Status.COMPLETE),  # this season (Aug 2020 - Jul 2021)
        ("2020-09-15", date(2021, 7, 15), Status.DUE_SOON),  # next season starts Aug 1
        ("2020-09-15", date(2021, 8, 15), Status.DUE),  # a new season, no dose yet: Due
        ("2020-09-15", date(2021, 7, 31), Status.DUE_SOON),  # the last day of the season
        ("2021-08-02", date(2021, 8, 15), Status.COMPLETE),
    ],
)
def test_influenza_by_season(given: str, as_of: date, status: Status) -> None:
    result = run(patient("1980-01-01"), immunization("140", given), as_of=as_of)
    assert result["influenza_vaccine"].status is status


def test_zoster_needs_two_doses() -> None:
    pat = patient("1960-01-01")
    one = run(pat, immunization("187", "2020-05-01"))["zoster_vaccine"]
    assert one.status is Status.DUE
    assert one.explanation == "Zoster (RZV): 1 of 2 doses (2020-05-01)"
    two = run(pat, immunization("187", "2020-05-01"), immunization("187", "2020-08-01"))
    assert two["zoster_vaccine"].status is Status.COMPLETE
    live = run(pat, immunization("121", "2015-05-01"))["zoster_vaccine"]
    assert live.status is Status.DUE  # the live vaccine no longer counts


def test_pneumococcal_series() -> None:
    pat = patient("1960-01-01")
    assert run(pat, immunization("216", "2020-01-01"))["pneumococcal_vaccine"].status is (
        Status.COMPLETE
    )
    only_pcv15 = run(pat, immunization("215", "2020-01-01"))["pneumococcal_vaccine"]
    assert only_pcv15.status is Status.DUE
    series = run(pat, immunization("215", "2020-01-01"), immunization("33", "2021-01-05"))
    assert series["pneumococcal_vaccine"].status is Status.COMPLETE
    assert run(patient("1975-01-01"))["pneumococcal_vaccine"].status is Status.NOT_APPLICABLE


def test_td_every_ten_years() -> None:
    result = run(patient("1980-01-01"), immunization("115", "2011-07-01"))["td_tdap_vaccine"]
    assert result.status is Status.DUE_SOON
    assert result.explanation.startswith("Td/Tdap 2011-07-01 (CVX 115); next due 2021-07-01")
    today = run(patient("1980-01-01"), immunization("115", "2011-06-30"))["td_tdap_vaccine"]
    assert today.status is Status.DUE
    assert today.explanation == "Td/Tdap 2011-06-30 (CVX 115); due today (2021-06-30)"
