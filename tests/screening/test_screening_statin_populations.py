"""CMS347's other populations: LDL >= 190 or familial hypercholesterolemia (20-75), and
diabetes (40-75); each without the more specific population above it."""

from __future__ import annotations

from typing import Any

from engine_fixtures import LOINC, code_in, condition, observation, patient, run

from healthprep_desktop.screening.model import Status

FH = "2.16.840.1.113762.1.4.1047.100"
LDL = "2.16.840.1.113883.3.526.3.1573"
DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
ASCVD = "2.16.840.1.113762.1.4.1047.46"


def lipids(birth: str, *resources: dict[str, Any]) -> Any:
    return run(patient(birth, "male"), *resources)["lipids_statin"]


def test_ldl_at_190_selects_the_high_ldl_population() -> None:
    ldl = observation(*code_in(LDL, LOINC), "2020-03-01", value=190, unit="mg/dL")
    result = lipids("1980-01-01", ldl)  # 41 on the as-of date
    assert result.variant_id == "statin_therapy_ldl190"
    assert result.status is Status.DUE


def test_ldl_just_under_190_stays_with_lipid_screening() -> None:
    ldl = observation(*code_in(LDL, LOINC), "2020-03-01", value=189.9, unit="mg/dL")
    result = lipids("1970-01-01", ldl)
    assert result.variant_id == "lipid_screening"
    assert result.status is Status.COMPLETE  # the LDL result is itself a lipid test


def test_ldl_in_another_unit_does_not_meet_the_mg_dl_threshold() -> None:
    ldl = observation(*code_in(LDL, LOINC), "2020-03-01", value=5.2, unit="mmol/L")
    assert lipids("1970-01-01", ldl).variant_id == "lipid_screening"


def test_familial_hypercholesterolemia_from_age_20() -> None:
    fh = condition(*code_in(FH), "2010-01-01")
    assert lipids("2001-06-30", fh).variant_id == "statin_therapy_ldl190"  # 20 today
    assert lipids("2001-06-30", fh).status is Status.DUE
    assert lipids("2001-07-01", fh).status is Status.NOT_APPLICABLE  # 19 until tomorrow


def test_diabetes_population_is_40_to_75() -> None:
    dm = condition(*code_in(DIABETES), "2015-01-01")
    assert lipids("1981-06-30", dm).variant_id == "statin_therapy_diabetes"  # 40 today
    assert lipids("1981-06-30", dm).status is Status.DUE
    assert lipids("1945-06-30", dm).status is Status.NOT_APPLICABLE  # 76


def test_ascvd_outranks_high_ldl_and_diabetes() -> None:
    dm = condition(*code_in(DIABETES), "2015-01-01")
    fh = condition(*code_in(FH), "2010-01-01")
    cvd = condition(*code_in(ASCVD), "2018-01-01")
    assert lipids("1960-01-01", dm, fh, cvd).variant_id == "statin_therapy"
    assert lipids("1960-01-01", dm, fh).variant_id == "statin_therapy_ldl190"
