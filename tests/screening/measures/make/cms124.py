"""CMS124 cases: python -m tests.screening.measures.make.cms124 (from the repository root).

Expected counts are read off the CQL (CMS124FHIRCervicalCancerScreening 0.4.000), measurement
period 2026: women 24-64 on 2026-12-31; cytology from 2024-01-01; HPV from 2022-01-01 at age
30+ on the test day; both need a result value.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    FEMALE,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

CMS = "CMS124"
URL = "https://madie.cms.gov/Measure/CMS124FHIRCervicalCancerScreening"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
TELEPHONE = code_in("2.16.840.1.113883.3.464.1003.101.12.1080")
AWV = ("http://snomed.info/sct", "444971000124105")  # Annual Wellness Visit only
PAP = code_in("2.16.840.1.113883.3.464.1003.108.12.1017", "loinc")
HPV = code_in("2.16.840.1.113883.3.464.1003.110.12.1059", "loinc")
HYSTERECTOMY = code_in("2.16.840.1.113883.3.464.1003.198.12.1014", "snomed")
ABSENCE = code_in("2.16.840.1.113883.3.464.1003.111.12.1016", "icd-10")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
NEGATIVE: dict[str, Any] = {"valueCodeableConcept": cc(SNOMED, "260385009")}
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

Groups = list[tuple[str, dict[str, int]]]


def _counts(ipp: int, denom: int, denex: int, numer: int) -> Groups:
    return [
        (
            "Group_1",
            {
                "initial-population": ipp,
                "denominator": denom,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


IN = _counts(1, 1, 0, 0)
MET = _counts(1, 1, 0, 1)
EXCLUDED = _counts(1, 1, 1, 0)
OUT = _counts(0, 0, 0, 0)


def base(pid: str, birth: str = "1980-05-05", sex: str | None = FEMALE) -> Case:
    case = Case(pid, birth=birth, sex=sex)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    return case


def lab(case: Case, code: tuple[str, str], when: str, *, value: bool = True, **more: Any) -> None:
    fields: dict[str, Any] = dict(NEGATIVE) if value else {}
    fields.update(more)
    case.observation(code, when, category="laboratory", **fields)


def main() -> None:
    cases: list[tuple[str, str, Case, Groups]] = []

    def add(definition: str, name: str, case: Case, groups: Groups) -> None:
        cases.append((definition, name, case, groups))

    # Initial Population: 24-64 at end of MP, Patient.sex female, a qualifying encounter.
    add(
        "Initial Population", "age-24-birthday-on-last-day", base("cms124-age-24", "2002-12-31"), IN
    )
    add("Initial Population", "age-23-turns-24-next-year", base("cms124-age-23", "2003-01-01"), OUT)
    add("Initial Population", "age-64", base("cms124-age-64", "1962-01-01"), IN)
    add("Initial Population", "age-65-on-last-day", base("cms124-age-65", "1961-12-31"), OUT)
    add("Initial Population", "male-sex-extension", base("cms124-male", sex=MALE), OUT)
    c = Case("cms124-gender-only", birth="1980-05-05", sex=None, gender="female")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    add("Initial Population", "female-gender-without-sex-extension", c, OUT)
    c = Case("cms124-awv", birth="1980-05-05")
    c.encounter(AWV, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    add("Initial Population", "annual-wellness-visit-is-not-qualifying", c, OUT)
    c = Case("cms124-telephone", birth="1980-05-05")
    c.encounter(TELEPHONE, "2026-12-31T22:00:00Z", "2026-12-31T22:15:00Z")
    add("Initial Population", "telephone-visit-on-last-day", c, IN)
    c = Case("cms124-visit-2025", birth="1980-05-05")
    c.encounter(OFFICE, "2025-12-31T09:00:00Z", "2025-12-31T09:30:00Z")
    add("Initial Population", "encounter-in-prior-year", c, OUT)
    c = Case("cms124-visit-cancelled", birth="1980-05-05")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="cancelled")
    add("Initial Population", "cancelled-encounter", c, OUT)

    # Numerator: cytology latest() during day of [2024-01-01, 2026-12-31], value present.
    c = base("cms124-pap-2024")
    lab(c, PAP, "2024-01-01T08:00:00Z")
    add("Numerator", "cytology-first-day-of-lookback", c, MET)
    c = base("cms124-pap-2023")
    lab(c, PAP, "2023-12-31T23:00:00Z")
    add("Numerator", "cytology-one-day-too-early", c, IN)
    c = base("cms124-pap-dec31")
    lab(c, PAP, "2026-12-31T23:00:00Z")
    add("Numerator", "cytology-on-last-day", c, MET)
    c = base("cms124-pap-2027")
    lab(c, PAP, "2027-01-01T00:30:00Z")
    add("Numerator", "cytology-after-period", c, IN)
    c = base("cms124-pap-novalue")
    lab(c, PAP, "2025-05-01T08:00:00Z", value=False)
    add("Numerator", "cytology-without-result-value", c, IN)
    c = base("cms124-pap-prelim")
    lab(c, PAP, "2025-05-01T08:00:00Z", status="preliminary")
    add("Numerator", "cytology-preliminary", c, IN)
    c = base("cms124-pap-corrected")
    lab(c, PAP, "2025-05-01T08:00:00Z", status="corrected")
    add("Numerator", "cytology-corrected", c, MET)
    c = base("cms124-pap-period")
    obs = c.observation(PAP, "2023-12-20T08:00:00Z", category="laboratory", **NEGATIVE)
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"start": "2023-12-20T08:00:00Z", "end": "2024-01-02T08:00:00Z"}
    add("Numerator", "cytology-period-ending-in-lookback-uses-end", c, MET)
    # HPV: latest() during day of [2022-01-01, 2026-12-31], age >= 30 on that day, value.
    c = base("cms124-hpv-2022")
    lab(c, HPV, "2022-01-01T08:00:00Z")
    add("Numerator", "hpv-first-day-of-lookback", c, MET)
    c = base("cms124-hpv-2021")
    lab(c, HPV, "2021-12-31T23:00:00Z")
    add("Numerator", "hpv-one-day-too-early", c, IN)
    c = base("cms124-hpv-age-30", birth="1993-06-15")
    lab(c, HPV, "2023-06-15T08:00:00Z")
    add("Numerator", "hpv-on-30th-birthday", c, MET)
    c = base("cms124-hpv-age-29", birth="1993-06-15")
    lab(c, HPV, "2023-06-14T08:00:00Z")
    add("Numerator", "hpv-day-before-30th-birthday", c, IN)
    c = base("cms124-hpv-novalue")
    lab(c, HPV, "2025-05-01T08:00:00Z", value=False)
    add("Numerator", "hpv-without-result-value", c, IN)
    c = base("cms124-hpv-cancelled")
    lab(c, HPV, "2025-05-01T08:00:00Z", status="cancelled")
    add("Numerator", "hpv-cancelled", c, IN)

    # Denominator Exclusions.
    c = base("cms124-hyst-dec31")
    c.procedure(HYSTERECTOMY, "2026-12-31T23:00:00Z")
    lab(c, PAP, "2025-05-01T08:00:00Z")
    add("Denominator Exclusions", "hysterectomy-on-last-day", c, EXCLUDED)
    c = base("cms124-hyst-2027")
    c.procedure(HYSTERECTOMY, "2027-01-01T00:30:00Z")
    add("Denominator Exclusions", "hysterectomy-after-period", c, IN)
    c = base("cms124-hyst-old")
    c.procedure(HYSTERECTOMY, "2005-03-01T08:00:00Z")
    add("Denominator Exclusions", "hysterectomy-years-ago", c, EXCLUDED)
    c = base("cms124-hyst-notdone")
    c.procedure(HYSTERECTOMY, "2020-03-01T08:00:00Z", status="not-done")
    add("Denominator Exclusions", "hysterectomy-not-done", c, IN)
    c = base("cms124-absence-dec31")
    c.condition(ABSENCE, "2026-12-31T23:00:00Z")
    add("Denominator Exclusions", "absence-of-cervix-onset-on-last-day", c, EXCLUDED)
    c = base("cms124-absence-2027")
    c.condition(ABSENCE, "2027-01-01T00:30:00Z")
    add("Denominator Exclusions", "absence-of-cervix-onset-after-period", c, IN)
    c = base("cms124-absence-no-onset")
    c.condition(ABSENCE, None)
    add("Denominator Exclusions", "absence-of-cervix-without-onset", c, EXCLUDED)
    c = base("cms124-absence-entered-in-error")
    c.condition(ABSENCE, "2015-01-01", verificationStatus=cc(VER, "entered-in-error"))
    add("Denominator Exclusions", "absence-of-cervix-entered-in-error", c, IN)
    c = base("cms124-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    add("Denominator Exclusions", "hospice-encounter-in-period", c, EXCLUDED)
    c = base("cms124-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-07-01T00:00:00Z", "2026-07-01T01:00:00Z")
    add("Denominator Exclusions", "palliative-care-encounter", c, EXCLUDED)

    for definition, name, case, groups in cases:
        write_case(CMS, definition, name, case.bundle(CMS, URL, groups))


if __name__ == "__main__":
    main()
