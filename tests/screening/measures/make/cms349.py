"""CMS349 cases: python -m tests.screening.measures.make.cms349 (from the repository root).

Expected counts are read off the CQL (CMS349FHIRHIVScreening 0.3.000), measurement period 2026:
ages 15-65 on 2026-01-01; an HIV test at any time before the end of 2026 while 15-65, with a
result; excluded when HIV started before 2026-01-01 (unless refuted); exception when the patient
died on or before the end of 2026.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import LOINC, SNOMED, Case, cc, code_in, write_case

CMS = "CMS349"
URL = "https://madie.cms.gov/Measure/CMS349FHIRHIVScreening"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
PEDS_PREVENTIVE = code_in("2.16.840.1.113883.3.464.1003.101.12.1024", "cpt")
TELEPHONE = ("http://www.ama-assn.org/go/cpt", "98966")  # Telephone Visits only
HIV_TEST = code_in("2.16.840.1.113762.1.4.1056.50", "loinc")
HIV_MU = (LOINC, "75622-1")
HIV_DX = code_in("2.16.840.1.113883.3.464.1003.120.12.1003", "icd-10")
NEGATIVE: dict[str, Any] = {"valueCodeableConcept": cc(SNOMED, "260385009")}
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

Groups = list[tuple[str, dict[str, int]]]


def _counts(ipp: int, denom: int, denex: int, numer: int, denexcep: int = 0) -> Groups:
    return [
        (
            "Group_1",
            {
                "initial-population": ipp,
                "denominator": denom,
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": denexcep,
            },
        )
    ]


IN = _counts(1, 1, 0, 0)
MET = _counts(1, 1, 0, 1)
EXCLUDED = _counts(1, 1, 1, 0)
EXCEPTED = _counts(1, 1, 0, 0, 1)
OUT = _counts(0, 0, 0, 0)


def base(pid: str, birth: str = "1990-05-05", **patient: Any) -> Case:
    case = Case(pid, birth=birth)
    case.patient.update(patient)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    return case


def hiv_test(
    case: Case, when: str, *, value: bool = True, code: tuple[str, str] = HIV_TEST, **more: Any
) -> None:
    fields: dict[str, Any] = dict(NEGATIVE) if value else {}
    fields.update(more)
    case.observation(code, when, category="laboratory", **fields)


def main() -> None:
    cases: list[tuple[str, str, Case, Groups]] = []

    def add(definition: str, name: str, case: Case, groups: Groups) -> None:
        cases.append((definition, name, case, groups))

    # Initial Population: AgeInYearsAt(start of MP) in [15, 65], a qualifying encounter.
    add("Initial Population", "age-15-on-first-day", base("cms349-age-15", "2011-01-01"), IN)
    add(
        "Initial Population",
        "age-14-at-start-turns-15-during-period",
        base("cms349-age-14", "2011-01-02"),
        OUT,
    )
    add(
        "Initial Population",
        "age-65-at-start-turns-66-on-last-day",
        base("cms349-age-65", "1960-12-31"),
        IN,
    )
    add("Initial Population", "age-66-on-first-day", base("cms349-age-66", "1960-01-01"), OUT)
    c = Case("cms349-peds", birth="2010-05-05")
    c.encounter(PEDS_PREVENTIVE, "2026-04-01T09:00:00Z", "2026-04-01T09:30:00Z")
    add("Initial Population", "preventive-visit-0-to-17", c, IN)
    c = Case("cms349-telephone", birth="1990-05-05")
    c.encounter(TELEPHONE, "2026-04-01T09:00:00Z", "2026-04-01T09:15:00Z")
    add("Initial Population", "telephone-visit-is-not-qualifying", c, OUT)
    c = Case("cms349-in-progress", birth="1990-05-05")
    c.encounter(OFFICE, "2026-04-01T09:00:00Z", status="in-progress")
    add("Initial Population", "in-progress-encounter", c, OUT)
    c = Case("cms349-visit-first-day", birth="1990-05-05")
    c.encounter(OFFICE, "2026-01-01T00:00:00Z", "2026-01-01T00:30:00Z")
    add("Initial Population", "encounter-on-first-day", c, IN)
    c = Case("cms349-visit-2025", birth="1990-05-05")
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T00:30:00Z")
    add("Initial Population", "encounter-starting-in-prior-year", c, OUT)
    add(
        "Initial Population",
        "no-qualifying-encounter",
        Case("cms349-none", birth="1990-05-05"),
        OUT,
    )

    # Numerator: HIV test with a value, final/amended/corrected, started before end of MP, at
    # age 15-65 on the test day; no lower bound on the date.
    c = base("cms349-test-2026")
    hiv_test(c, "2026-06-01T08:00:00Z")
    add("Numerator", "test-in-period", c, MET)
    c = base("cms349-test-2010")
    hiv_test(c, "2010-06-01T08:00:00Z")
    add("Numerator", "test-years-before-period", c, MET)
    c = base("cms349-test-dec31")
    hiv_test(c, "2026-12-31T23:00:00Z")
    add("Numerator", "test-on-last-day", c, MET)
    c = base("cms349-test-2027")
    hiv_test(c, "2027-01-01T00:30:00Z")
    add("Numerator", "test-after-period", c, IN)
    c = base("cms349-test-15th", birth="2005-06-15")
    hiv_test(c, "2020-06-15T08:00:00Z")
    add("Numerator", "test-on-15th-birthday", c, MET)
    c = base("cms349-test-14", birth="2005-06-15")
    hiv_test(c, "2020-06-14T08:00:00Z")
    add("Numerator", "test-day-before-15th-birthday", c, IN)
    c = base("cms349-test-65", birth="1960-06-15")
    hiv_test(c, "2026-06-14T08:00:00Z")
    add("Numerator", "test-day-before-66th-birthday", c, MET)
    c = base("cms349-test-66", birth="1960-06-15")
    hiv_test(c, "2026-06-15T08:00:00Z")
    add("Numerator", "test-on-66th-birthday", c, IN)
    c = base("cms349-test-novalue")
    hiv_test(c, "2026-06-01T08:00:00Z", value=False)
    add("Numerator", "test-without-result-value", c, IN)
    c = base("cms349-test-prelim")
    hiv_test(c, "2026-06-01T08:00:00Z", status="preliminary")
    add("Numerator", "test-preliminary", c, IN)
    c = base("cms349-test-amended")
    hiv_test(c, "2026-06-01T08:00:00Z", status="amended")
    add("Numerator", "test-amended", c, MET)
    c = base("cms349-test-mu-code")
    hiv_test(c, "2026-06-01T08:00:00Z", code=HIV_MU)
    add("Numerator", "test-meaningful-use-loinc-75622-1", c, MET)
    c = base("cms349-test-period-no-start")
    hiv_test(c, "2026-06-01T08:00:00Z")
    obs = c.resources[-1]
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"end": "2026-06-01T08:00:00Z"}
    add("Numerator", "test-period-without-start", c, IN)

    # Denominator Exclusions: HIV prevalence starts before day of start of MP, not refuted.
    c = base("cms349-hiv-dec31")
    c.condition(HIV_DX, "2025-12-31T23:00:00Z")
    hiv_test(c, "2026-06-01T08:00:00Z")
    add("Denominator Exclusions", "hiv-onset-day-before-period", c, EXCLUDED)
    c = base("cms349-hiv-jan1")
    c.condition(HIV_DX, "2026-01-01T00:30:00Z")
    add("Denominator Exclusions", "hiv-onset-on-first-day", c, IN)
    c = base("cms349-hiv-no-onset")
    c.condition(HIV_DX, None)
    add("Denominator Exclusions", "hiv-without-onset", c, EXCLUDED)
    c = base("cms349-hiv-refuted")
    c.condition(HIV_DX, "2020-01-01", verificationStatus=cc(VER, "refuted"))
    add("Denominator Exclusions", "hiv-refuted", c, IN)
    c = base("cms349-hiv-error")
    c.condition(HIV_DX, "2020-01-01", verificationStatus=cc(VER, "entered-in-error"))
    add("Denominator Exclusions", "hiv-entered-in-error-still-counts", c, EXCLUDED)
    c = base("cms349-hiv-resolved")
    c.condition(HIV_DX, "2010-01-01", clinical="resolved", abatement="2012-01-01")
    add("Denominator Exclusions", "hiv-resolved-history", c, EXCLUDED)

    # Denominator Exceptions: Patient.deceased on or before end of MP.
    c = base("cms349-died-dec31", deceasedDateTime="2026-12-31T23:00:00Z")
    add("Denominator Exceptions", "died-on-last-day", c, EXCEPTED)
    c = base("cms349-died-2027", deceasedDateTime="2027-01-01T00:30:00Z")
    add("Denominator Exceptions", "died-after-period", c, IN)
    c = base("cms349-died-tested", deceasedDateTime="2026-10-01T00:00:00Z")
    hiv_test(c, "2026-06-01T08:00:00Z")
    add("Denominator Exceptions", "died-after-test-counts-in-numerator", c, MET)
    c = base("cms349-died-boolean", deceasedBoolean=True)
    add("Denominator Exceptions", "deceased-boolean-without-date", c, IN)

    for definition, name, case, groups in cases:
        write_case(CMS, definition, name, case.bundle(CMS, URL, groups))


if __name__ == "__main__":
    main()
