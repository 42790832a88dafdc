"""CMS165 cases: python -m tests.screening.measures.make.cms165 (from the repository root).

Expectations come from CMS165FHIRControllingHighBloodPressure 0.5.000 read literally, including
its "Qualifying ... Blood Pressure Reading" union whose first branch has no period restriction.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    JSON,
    LOINC,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/CMS165FHIRControllingHighBloodPressure"
CMS = "CMS165"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
HYPERTENSION = code_in("2.16.840.1.113883.3.464.1003.104.12.1011", "icd-10")
INPATIENT = code_in("2.16.840.1.113883.3.666.5.307")
ED = code_in("2.16.840.1.113883.3.464.1003.101.12.1010")
PREGNANCY = code_in("2.16.840.1.113883.3.526.3.378", "icd-10")
ESRD = code_in("2.16.840.1.113883.3.526.3.353", "icd-10")
KIDNEY_TRANSPLANT = code_in("2.16.840.1.113883.3.464.1003.109.12.1012")
DIALYSIS = code_in("2.16.840.1.113883.3.464.1003.109.12.1013")
ESRD_MONTHLY = code_in("2.16.840.1.113883.3.464.1003.109.12.1014")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
FRAILTY_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1088")
BP_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

Groups = list[tuple[str, dict[str, int]]]


def _counts(ipp: int, denex: int = 0, numer: int = 0) -> Groups:
    return [
        (
            "Group_1",
            {
                "initial-population": ipp,
                "denominator": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


def base(pid: str, birth: str = "1966-05-05", onset: str = "2020-01-01T00:00:00Z") -> Case:
    """In the initial population: 60, essential hypertension since 2020, an office visit."""
    case = Case(pid, birth=birth, sex=MALE)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    case.condition(HYPERTENSION, onset)
    return case


def _mmhg(value: float) -> JSON:
    return {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}


def bp(
    case: Case,
    when: str,
    systolic: float | None,
    diastolic: float | None,
    *,
    status: str = "final",
    encounter: JSON | None = None,
    code: tuple[str, str] = (LOINC, "85354-9"),
    profile: bool = True,
) -> JSON:
    components = []
    if systolic is not None:
        components.append({"code": cc(LOINC, "8480-6"), "valueQuantity": _mmhg(systolic)})
    if diastolic is not None:
        components.append({"code": cc(LOINC, "8462-4"), "valueQuantity": _mmhg(diastolic)})
    more: dict[str, Any] = {"component": components}
    if profile:
        more["meta"] = {"profile": [BP_PROFILE]}
    if encounter is not None:
        more["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
    return case.observation(code, when, category="vital-signs", status=status, **more)


def stay(case: Case, code: tuple[str, str], start: str, end: str, klass: str) -> JSON:
    enc = case.encounter(code, start, end)
    enc["class"] = {"system": ACT, "code": klass}
    return enc


def initial_population_cases() -> list[tuple[str, str, Case, Groups]]:
    out: list[tuple[str, str, Case, Groups]] = []
    ip = "Initial Population"
    out.append((ip, "age-18-birthday-on-last-day", base("cms165-age-18", "2008-12-31"), _counts(1)))
    out.append((ip, "age-17-turns-18-next-year", base("cms165-age-17", "2009-01-01"), _counts(0)))
    out.append((ip, "age-85-on-last-day", base("cms165-age-85", "1941-12-31"), _counts(1)))
    out.append((ip, "age-86-on-last-day", base("cms165-age-86", "1940-12-31"), _counts(0)))
    c = base("cms165-htn-jun30", onset="2026-06-30T23:00:00Z")
    out.append((ip, "hypertension-onset-june-30", c, _counts(1)))
    c = base("cms165-htn-jul1", onset="2026-07-01T00:00:00Z")
    out.append((ip, "hypertension-onset-july-1-window-end-exclusive", c, _counts(0)))
    c = Case("cms165-htn-abated", birth="1966-05-05", sex=MALE)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    c.condition(
        HYPERTENSION, "2015-01-01T00:00:00Z", clinical="resolved", abatement="2025-12-31T12:00:00Z"
    )
    out.append((ip, "hypertension-resolved-before-period", c, _counts(0)))
    c = Case("cms165-htn-refuted", birth="1966-05-05", sex=MALE)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    c.condition(HYPERTENSION, "2020-01-01T00:00:00Z", verificationStatus=cc(VER, "refuted"))
    out.append((ip, "hypertension-refuted", c, _counts(0)))
    c = Case("cms165-no-visit", birth="1966-05-05", sex=MALE)
    c.condition(HYPERTENSION, "2020-01-01T00:00:00Z")
    out.append((ip, "no-qualifying-encounter", c, _counts(0)))
    return out


def numerator_cases() -> list[tuple[str, str, Case, Groups]]:
    out: list[tuple[str, str, Case, Groups]] = []
    n = "Numerator"
    c = base("cms165-139-89")
    bp(c, "2026-10-01T10:00:00Z", 139, 89)
    out.append((n, "139-over-89-controlled", c, _counts(1, numer=1)))
    c = base("cms165-140-80")
    bp(c, "2026-10-01T10:00:00Z", 140, 80)
    out.append((n, "systolic-140-not-controlled", c, _counts(1)))
    c = base("cms165-130-90")
    bp(c, "2026-10-01T10:00:00Z", 130, 90)
    out.append((n, "diastolic-90-not-controlled", c, _counts(1)))
    c = base("cms165-no-bp")
    out.append((n, "no-blood-pressure", c, _counts(1)))
    c = base("cms165-lowest-of-day")
    bp(c, "2026-10-01T08:00:00Z", 150, 95)
    bp(c, "2026-10-01T16:00:00Z", 135, 85)
    out.append((n, "lowest-reading-of-the-day", c, _counts(1, numer=1)))
    c = base("cms165-mixed-lowest")
    bp(c, "2026-10-01T08:00:00Z", 138, 95)
    bp(c, "2026-10-01T16:00:00Z", 145, 85)
    out.append((n, "lowest-systolic-and-diastolic-from-different-readings", c, _counts(1, numer=1)))
    c = base("cms165-recent-high")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    bp(c, "2026-11-01T09:10:00Z", 150, 95)
    out.append((n, "most-recent-day-high", c, _counts(1)))
    c = base("cms165-recent-low")
    bp(c, "2026-03-01T09:10:00Z", 150, 95)
    bp(c, "2026-11-01T09:10:00Z", 120, 70)
    out.append((n, "most-recent-day-low", c, _counts(1, numer=1)))
    c = base("cms165-prelim")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    bp(c, "2026-11-01T09:10:00Z", 150, 95, status="preliminary")
    out.append((n, "preliminary-latest-reading-ignored", c, _counts(1, numer=1)))
    c = base("cms165-missing-diastolic")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    bp(c, "2026-11-01T09:10:00Z", 120, None)
    out.append((n, "latest-day-reading-without-diastolic", c, _counts(1)))
    c = base("cms165-separate")
    c.observation((LOINC, "8480-6"), "2026-11-01T09:10:00Z", valueQuantity=_mmhg(120))
    c.observation((LOINC, "8462-4"), "2026-11-01T09:10:00Z", valueQuantity=_mmhg(70))
    out.append((n, "separate-systolic-diastolic-observations-not-a-panel", c, _counts(1)))
    c = base("cms165-profile-other-code")
    bp(c, "2026-11-01T09:10:00Z", 120, 70, code=(LOINC, "55284-4"))
    out.append((n, "profile-tagged-reading-other-code", c, _counts(1, numer=1)))
    c = base("cms165-untagged-panel")
    bp(c, "2026-11-01T09:10:00Z", 120, 70, profile=False)
    out.append((n, "panel-code-without-profile-tag", c, _counts(1, numer=1)))
    # Readings during inpatient / ED stays.
    c = base("cms165-inpatient")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    enc = stay(c, INPATIENT, "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z", "IMP")
    bp(c, "2026-11-02T09:00:00Z", 150, 95, encounter=enc)
    out.append((n, "reading-during-inpatient-stay-excluded", c, _counts(1, numer=1)))
    c = base("cms165-inpatient-discharge-day")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    enc = stay(c, INPATIENT, "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z", "IMP")
    bp(c, "2026-11-03T20:00:00Z", 150, 95, encounter=enc)
    out.append((n, "reading-later-on-discharge-day-excluded", c, _counts(1, numer=1)))
    c = base("cms165-inpatient-day-after")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    enc = stay(c, INPATIENT, "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z", "IMP")
    bp(c, "2026-11-04T08:00:00Z", 150, 95, encounter=enc)
    out.append((n, "reading-day-after-discharge-counts", c, _counts(1)))
    c = base("cms165-inpatient-no-ref")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    stay(c, INPATIENT, "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z", "IMP")
    bp(c, "2026-11-02T09:00:00Z", 150, 95)
    out.append((n, "reading-during-stay-without-encounter-reference-counts", c, _counts(1)))
    c = base("cms165-ed")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    enc = stay(c, ED, "2026-11-01T10:00:00Z", "2026-11-01T14:00:00Z", "EMER")
    bp(c, "2026-11-01T11:00:00Z", 150, 95, encounter=enc)
    out.append((n, "reading-during-ed-visit-excluded", c, _counts(1, numer=1)))
    # The union's first branch has no period restriction (literal CQL).
    c = base("cms165-after-period")
    bp(c, "2026-03-01T09:10:00Z", 120, 70)
    bp(c, "2027-01-05T09:10:00Z", 150, 95)
    out.append((n, "reading-after-period-is-most-recent", c, _counts(1)))
    c = base("cms165-prior-year")
    bp(c, "2025-06-01T09:10:00Z", 120, 70)
    out.append((n, "reading-in-prior-year-only", c, _counts(1, numer=1)))
    return out


def exclusion_cases() -> list[tuple[str, str, Case, Groups]]:
    out: list[tuple[str, str, Case, Groups]] = []
    d = "Denominator Exclusions"
    c = base("cms165-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    bp(c, "2026-10-01T10:00:00Z", 120, 70)
    out.append((d, "hospice-encounter", c, _counts(1, denex=1)))
    c = base("cms165-pregnancy")
    c.condition(PREGNANCY, "2026-05-01T00:00:00Z")
    out.append((d, "pregnancy-in-period", c, _counts(1, denex=1)))
    c = base("cms165-pregnancy-2025")
    c.condition(
        PREGNANCY, "2025-03-01T00:00:00Z", clinical="resolved", abatement="2025-12-31T12:00:00Z"
    )
    out.append((d, "pregnancy-ended-before-period", c, _counts(1)))
    c = base("cms165-esrd")
    c.condition(ESRD, "2018-01-01T00:00:00Z")
    out.append((d, "end-stage-renal-disease", c, _counts(1, denex=1)))
    c = base("cms165-transplant")
    c.procedure(KIDNEY_TRANSPLANT, "2010-01-01T00:00:00Z")
    out.append((d, "kidney-transplant-years-ago", c, _counts(1, denex=1)))
    c = base("cms165-dialysis-dec31")
    c.procedure(DIALYSIS, "2026-12-31T23:00:00Z")
    out.append((d, "dialysis-on-last-day", c, _counts(1, denex=1)))
    c = base("cms165-dialysis-2027")
    c.procedure(DIALYSIS, "2027-01-01T00:30:00Z")
    out.append((d, "dialysis-after-period", c, _counts(1)))
    c = base("cms165-dialysis-not-done")
    c.procedure(DIALYSIS, "2026-05-01T00:00:00Z", status="not-done")
    out.append((d, "dialysis-not-done", c, _counts(1)))
    c = base("cms165-esrd-enc-dec31")
    c.encounter(ESRD_MONTHLY, "2026-12-31T20:00:00Z", "2027-01-30T20:00:00Z")
    out.append((d, "esrd-monthly-services-start-last-day", c, _counts(1, denex=1)))
    c = base("cms165-esrd-enc-2027")
    c.encounter(ESRD_MONTHLY, "2027-01-01T00:30:00Z", "2027-01-30T20:00:00Z")
    out.append((d, "esrd-monthly-services-start-after-period", c, _counts(1)))
    c = base("cms165-frail-81", birth="1945-06-01")
    c.encounter(FRAILTY_ENC, "2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z")
    out.append((d, "age-81-frailty-only", c, _counts(1, denex=1)))
    c = base("cms165-frail-80", birth="1946-06-01")
    c.encounter(FRAILTY_ENC, "2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z")
    out.append((d, "age-80-frailty-without-advanced-illness", c, _counts(1)))
    c = base("cms165-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z")
    out.append((d, "palliative-care-encounter", c, _counts(1, denex=1)))
    c = base("cms165-nursing-home", birth="1955-01-01")
    c.observation(
        (LOINC, "71802-3"),
        "2026-02-01T09:00:00Z",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "160734000"),
    )
    out.append((d, "age-71-lives-in-nursing-home", c, _counts(1, denex=1)))
    return out


def main() -> None:
    for definition, name, case, groups in (
        initial_population_cases() + numerator_cases() + exclusion_cases()
    ):
        write_case(CMS, definition, name, case.bundle(CMS, URL, groups))


if __name__ == "__main__":
    main()
