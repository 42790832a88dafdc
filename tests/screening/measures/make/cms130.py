"""CMS130 cases: python -m tests.screening.measures.make.cms130 (from the repository root).

Expected counts are read off the CQL (CMS130FHIRColorectalCancerScreening 0.4.000), measurement
period 2026: ages on 2026-12-31; FOBT in 2026; sDNA-FIT from 2024-01-01; flexible sigmoidoscopy
and CT colonography from 2022-01-01; colonoscopy from 2017-01-01.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    LOINC,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

CMS = "CMS130"
URL = "https://madie.cms.gov/Measure/CMS130FHIRColorectalCancerScreening"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
FOBT = code_in("2.16.840.1.113883.3.464.1003.198.12.1011", "loinc")
SDNA = code_in("2.16.840.1.113883.3.464.1003.108.12.1039", "loinc")
CT_COLO = code_in("2.16.840.1.113883.3.464.1003.108.12.1038", "loinc")
SIGMOID = code_in("2.16.840.1.113883.3.464.1003.198.12.1010", "cpt")
COLONOSCOPY = code_in("2.16.840.1.113883.3.464.1003.108.12.1020", "cpt")
COLONOSCOPY_SNOMED = code_in("2.16.840.1.113883.3.464.1003.108.12.1020", "snomed")
NEOPLASM = code_in("2.16.840.1.113883.3.464.1003.108.12.1001", "icd-10")
COLECTOMY = code_in("2.16.840.1.113883.3.464.1003.198.12.1019", "snomed")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
POSITIVE: dict[str, Any] = {
    "valueCodeableConcept": cc(SNOMED, "10828004")
}  # Positive (qualifier value)
NEGATIVE: dict[str, Any] = {
    "valueCodeableConcept": cc(SNOMED, "260385009")
}  # Negative (qualifier value)
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _counts(ipp: int, denom: int, denex: int, numer: int) -> list[tuple[str, dict[str, int]]]:
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


def base(pid: str, birth: str = "1970-05-05", sex: str | None = MALE) -> Case:
    case = Case(pid, birth=birth, sex=sex)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    return case


def lab(case: Case, code: tuple[str, str], when: str, **more: Any) -> None:
    fields: dict[str, Any] = dict(NEGATIVE)
    fields.update(more)
    case.observation(code, when, category="laboratory", **fields)


def main() -> None:
    cases: list[tuple[str, str, Case, list[tuple[str, dict[str, int]]]]] = []

    def add(definition: str, name: str, case: Case, groups: Any) -> None:
        cases.append((definition, name, case, groups))

    # Initial Population: AgeInYearsAt(end of MP) in [46, 75] and a qualifying encounter.
    add(
        "Initial Population", "age-46-birthday-on-last-day", base("cms130-age-46", "1980-12-31"), IN
    )
    add("Initial Population", "age-45-turns-46-next-year", base("cms130-age-45", "1981-01-01"), OUT)
    add("Initial Population", "age-75", base("cms130-age-75", "1951-01-01"), IN)
    add("Initial Population", "age-76-on-last-day", base("cms130-age-76", "1950-12-31"), OUT)
    add("Initial Population", "female-also-eligible", base("cms130-female", sex="248152002"), IN)
    add(
        "Initial Population",
        "no-qualifying-encounter",
        Case("cms130-no-visit", birth="1970-05-05"),
        OUT,
    )
    c = Case("cms130-visit-2025", birth="1970-05-05", sex=MALE)
    c.encounter(OFFICE, "2025-12-31T09:00:00Z", "2025-12-31T09:30:00Z")
    add("Initial Population", "encounter-on-last-day-of-prior-year", c, OUT)
    c = Case("cms130-visit-spans-year", birth="1970-05-05", sex=MALE)
    c.encounter(OFFICE, "2026-12-31T23:00:00Z", "2027-01-01T01:00:00Z")
    add("Initial Population", "encounter-ends-after-period", c, OUT)
    c = Case("cms130-visit-planned", birth="1970-05-05", sex=MALE)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="planned")
    add("Initial Population", "planned-encounter", c, OUT)

    # Numerator: FOBT during day of MP (latest of effective), value present, lab performed.
    c = base("cms130-fobt-jan1")
    lab(c, FOBT, "2026-01-01T08:00:00Z")
    add("Numerator", "fobt-on-first-day", c, MET)
    c = base("cms130-fobt-dec31-prior")
    lab(c, FOBT, "2025-12-31T23:00:00Z")
    add("Numerator", "fobt-on-last-day-of-prior-year", c, IN)
    c = base("cms130-fobt-dec31")
    lab(c, FOBT, "2026-12-31T23:00:00Z", **POSITIVE)
    add("Numerator", "fobt-positive-on-last-day", c, MET)
    c = base("cms130-fobt-novalue")
    c.observation(FOBT, "2026-05-01T08:00:00Z", category="laboratory")
    add("Numerator", "fobt-without-result-value", c, IN)
    c = base("cms130-fobt-prelim")
    lab(c, FOBT, "2026-05-01T08:00:00Z", status="preliminary")
    add("Numerator", "fobt-preliminary", c, IN)
    c = base("cms130-fobt-amended")
    lab(c, FOBT, "2026-05-01T08:00:00Z", status="amended")
    add("Numerator", "fobt-amended", c, MET)
    c = base("cms130-fobt-period-latest")
    obs = c.observation(FOBT, "2025-12-20T08:00:00Z", category="laboratory", **NEGATIVE)
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"start": "2025-12-20T08:00:00Z", "end": "2026-01-02T08:00:00Z"}
    add("Numerator", "fobt-period-ending-in-period-uses-end", c, MET)
    c = base("cms130-fobt-period-open")
    obs = c.observation(FOBT, "2025-12-20T08:00:00Z", category="laboratory", **NEGATIVE)
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"start": "2025-12-20T08:00:00Z"}
    add("Numerator", "fobt-period-without-end-uses-start", c, IN)
    # sDNA FIT: [2024-01-01, end of MP].
    c = base("cms130-sdna-2024")
    lab(c, SDNA, "2024-01-01T08:00:00Z")
    add("Numerator", "sdna-fit-first-day-of-two-year-lookback", c, MET)
    c = base("cms130-sdna-2023")
    lab(c, SDNA, "2023-12-31T23:00:00Z")
    add("Numerator", "sdna-fit-one-day-too-early", c, IN)
    c = base("cms130-sdna-novalue")
    c.observation(SDNA, "2025-05-01T08:00:00Z", category="laboratory")
    add("Numerator", "sdna-fit-without-result-value", c, IN)
    # Flexible sigmoidoscopy: [2022-01-01, end of MP].
    c = base("cms130-sigmoid-2022")
    c.procedure(SIGMOID, "2022-01-01T08:00:00Z")
    add("Numerator", "sigmoidoscopy-first-day-of-four-year-lookback", c, MET)
    c = base("cms130-sigmoid-2021")
    c.procedure(SIGMOID, "2021-12-31T23:00:00Z")
    add("Numerator", "sigmoidoscopy-one-day-too-early", c, IN)
    # CT colonography: [2022-01-01, end of MP], imaging category.
    c = base("cms130-ctc-2022")
    c.observation(CT_COLO, "2022-01-01T08:00:00Z", category="imaging")
    add("Numerator", "ct-colonography-first-day-of-four-year-lookback", c, MET)
    c = base("cms130-ctc-2021")
    c.observation(CT_COLO, "2021-12-31T23:00:00Z", category="imaging")
    add("Numerator", "ct-colonography-one-day-too-early", c, IN)
    c = base("cms130-ctc-nocat")
    c.observation(CT_COLO, "2025-06-01T08:00:00Z")
    add("Numerator", "ct-colonography-without-imaging-category", c, IN)
    # Colonoscopy: [2017-01-01, end of MP].
    c = base("cms130-colo-2017")
    c.procedure(COLONOSCOPY, "2017-01-01T08:00:00Z")
    add("Numerator", "colonoscopy-first-day-of-nine-year-lookback", c, MET)
    c = base("cms130-colo-2016")
    c.procedure(COLONOSCOPY, "2016-12-31T23:00:00Z")
    add("Numerator", "colonoscopy-one-day-too-early", c, IN)
    c = base("cms130-colo-period")
    proc = c.procedure(COLONOSCOPY_SNOMED, "2016-12-31T08:00:00Z")
    del proc["performedDateTime"]
    proc["performedPeriod"] = {"start": "2016-12-31T22:00:00Z", "end": "2017-01-01T01:00:00Z"}
    add("Numerator", "colonoscopy-period-ending-on-first-day", c, MET)
    c = base("cms130-colo-dec31")
    c.procedure(COLONOSCOPY, "2026-12-31T23:00:00Z")
    add("Numerator", "colonoscopy-on-last-day", c, MET)
    c = base("cms130-colo-2027")
    c.procedure(COLONOSCOPY, "2027-01-01T00:30:00Z")
    add("Numerator", "colonoscopy-after-period", c, IN)
    c = base("cms130-colo-inprogress")
    c.procedure(COLONOSCOPY, "2025-01-01T08:00:00Z", status="in-progress")
    add("Numerator", "colonoscopy-not-completed", c, IN)

    # Denominator Exclusions.
    c = base("cms130-neoplasm-dec31")
    c.condition(NEOPLASM, "2026-12-31T23:00:00Z")
    c.procedure(COLONOSCOPY, "2025-01-01T08:00:00Z")
    add("Denominator Exclusions", "colon-cancer-onset-on-last-day", c, EXCLUDED)
    c = base("cms130-neoplasm-2027")
    c.condition(NEOPLASM, "2027-01-01T00:30:00Z")
    add("Denominator Exclusions", "colon-cancer-onset-after-period", c, IN)
    c = base("cms130-neoplasm-resolved")
    c.condition(NEOPLASM, "2015-01-01", clinical="resolved", abatement="2016-01-01")
    add("Denominator Exclusions", "colon-cancer-resolved-history-counts", c, EXCLUDED)
    c = base("cms130-neoplasm-refuted")
    c.condition(NEOPLASM, "2020-01-01", verificationStatus=cc(VER, "refuted"))
    add("Denominator Exclusions", "colon-cancer-refuted", c, IN)
    c = base("cms130-colectomy-dec31")
    c.procedure(COLECTOMY, "2026-12-31T23:00:00Z")
    add("Denominator Exclusions", "total-colectomy-on-last-day", c, EXCLUDED)
    c = base("cms130-colectomy-2027")
    c.procedure(COLECTOMY, "2027-01-01T00:30:00Z")
    add("Denominator Exclusions", "total-colectomy-after-period", c, IN)
    c = base("cms130-colectomy-open")
    proc = c.procedure(COLECTOMY, "2020-01-01T08:00:00Z")
    del proc["performedDateTime"]
    proc["performedPeriod"] = {"start": "2020-01-01T08:00:00Z"}
    add("Denominator Exclusions", "total-colectomy-period-without-end", c, IN)
    c = base("cms130-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    add("Denominator Exclusions", "hospice-encounter-in-period", c, EXCLUDED)
    c = base("cms130-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-07-01T00:00:00Z", "2026-07-01T01:00:00Z")
    add("Denominator Exclusions", "palliative-care-encounter", c, EXCLUDED)
    c = base("cms130-nursing-home", birth="1960-12-31")
    c.observation(
        (LOINC, "71802-3"),
        "2026-02-01T08:00:00Z",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "160734000"),
    )
    add("Denominator Exclusions", "age-66-living-in-nursing-home", c, EXCLUDED)
    c = base("cms130-nursing-home-65", birth="1961-01-01")
    c.observation(
        (LOINC, "71802-3"),
        "2026-02-01T08:00:00Z",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "160734000"),
    )
    add("Denominator Exclusions", "age-65-living-in-nursing-home", c, IN)

    for definition, name, case, groups in cases:
        write_case(CMS, definition, name, case.bundle(CMS, URL, groups))


if __name__ == "__main__":
    main()
