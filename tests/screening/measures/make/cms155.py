"""CMS155 cases: python -m tests.screening.measures.make.cms155 (from the repository root).

The base child is born 2016-05-05 (10 at the end of 2026) with an office visit in the period.
Every case states all three groups (shared IPP / denominator / exclusions).
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import LOINC, Case, code_in, write_case

URL = "https://madie.cms.gov/Measure/CMS155FHIRWeightAssessandCounselforKids"
V = "2.16.840.1.113883.3.464.1003."
OFFICE = code_in(V + "101.12.1001", "cpt")
HOSPICE_ENC = code_in(V + "1003")
NUTRITION = code_in(V + "195.12.1003")
ACTIVITY = code_in(V + "118.12.1035")
PREGNANCY = code_in("2.16.840.1.113883.3.526.3.378")
HEIGHT = (LOINC, "8302-2")
WEIGHT = (LOINC, "29463-7")
BMI = (LOINC, "39156-5")
BMI_PERCENTILE = (LOINC, "59576-9")
UCUM = "http://unitsofmeasure.org"
Groups = list[tuple[str, dict[str, int]]]


def _counts(ipp: int, denex: int = 0, n1: int = 0, n2: int = 0, n3: int = 0) -> Groups:
    return [
        (
            f"Group_{i}",
            {
                "initial-population": ipp,
                "denominator": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
        for i, numer in ((1, n1), (2, n2), (3, n3))
    ]


def vital(
    case: Case, code: tuple[str, str], when: str, value: float | None, unit: str, **more: Any
) -> None:
    fields: dict[str, Any] = {"category": "vital-signs"}
    if value is not None:
        fields["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    fields.update(more)
    case.observation(code, when, **fields)


def vitals(case: Case, when: str = "2026-03-01T09:10:00Z", skip: str = "") -> None:
    if skip != "bmi":
        vital(case, BMI, when, 17.5, "kg/m2")
    if skip != "height":
        vital(case, HEIGHT, when, 140.0, "cm")
    if skip != "weight":
        vital(case, WEIGHT, when, 34.3, "kg")


def base(pid: str, birth: str = "2016-05-05") -> Case:
    case = Case(pid, birth=birth)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    return case


def main() -> None:
    cases: list[tuple[str, str, Case, Groups]] = []

    def add(definition: str, name: str, case: Case, groups: Groups) -> None:
        cases.append((definition, name, case, groups))

    ip = "Initial Population"
    add(ip, "age-3-on-last-day", base("cms155-age-3", birth="2023-12-31"), _counts(1))
    add(ip, "age-2-turns-3-next-year", base("cms155-age-2", birth="2024-01-01"), _counts(0))
    add(ip, "age-17", base("cms155-age-17", birth="2009-01-01"), _counts(1))
    add(ip, "age-18-on-last-day", base("cms155-age-18", birth="2008-12-31"), _counts(0))
    add(ip, "no-qualifying-encounter", Case("cms155-no-visit", birth="2016-05-05"), _counts(0))
    c = Case("cms155-in-progress", birth="2016-05-05")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="in-progress")
    add(ip, "in-progress-encounter", c, _counts(0))

    n1 = "Numerator 1"
    c = base("cms155-vitals")
    vitals(c)
    add(n1, "bmi-height-weight-in-period", c, _counts(1, n1=1))
    c = base("cms155-no-height")
    vitals(c, skip="height")
    add(n1, "height-missing", c, _counts(1))
    c = base("cms155-height-2025")
    vitals(c, skip="height")
    vital(c, HEIGHT, "2025-12-31T23:00:00Z", 140.0, "cm")
    add(n1, "height-day-before-period", c, _counts(1))
    c = base("cms155-vitals-last-day")
    vitals(c, when="2026-12-31T23:00:00Z")
    add(n1, "vitals-on-last-day", c, _counts(1, n1=1))
    c = base("cms155-weight-no-value")
    vitals(c, skip="weight")
    vital(c, WEIGHT, "2026-03-01T09:10:00Z", None, "kg", dataAbsentReason={"text": "refused"})
    add(n1, "weight-without-value", c, _counts(1))
    c = base("cms155-bmi-prelim")
    vitals(c, skip="bmi")
    vital(c, BMI, "2026-03-01T09:10:00Z", 17.5, "kg/m2", status="preliminary")
    add(n1, "bmi-preliminary", c, _counts(1))
    c = base("cms155-bmi-percentile-only")
    vitals(c, skip="bmi")
    vital(c, BMI_PERCENTILE, "2026-03-01T09:10:00Z", 55.0, "%")
    add(n1, "pediatric-percentile-not-us-core-bmi", c, _counts(1))
    c = base("cms155-bmi-tagged")
    vitals(c, skip="bmi")
    vital(
        c,
        ("http://example.org/local", "BMI"),
        "2026-03-01T09:10:00Z",
        17.5,
        "kg/m2",
        meta={"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-bmi"]},
    )
    add(n1, "bmi-by-profile-tag", c, _counts(1, n1=1))

    n2 = "Numerator 2"
    c = base("cms155-nutrition-last-day")
    c.procedure(NUTRITION, "2026-12-31T23:00:00Z")
    add(n2, "nutrition-counseling-on-last-day", c, _counts(1, n2=1))
    c = base("cms155-nutrition-2027")
    c.procedure(NUTRITION, "2027-01-01T00:30:00Z")
    add(n2, "nutrition-counseling-after-period", c, _counts(1))
    c = base("cms155-nutrition-in-progress")
    c.procedure(NUTRITION, "2026-06-01T10:00:00Z", status="in-progress")
    add(n2, "nutrition-counseling-in-progress", c, _counts(1))

    n3 = "Numerator 3"
    c = base("cms155-activity")
    c.procedure(ACTIVITY, "2026-01-01T00:00:00Z")
    add(n3, "activity-counseling-on-first-day", c, _counts(1, n3=1))
    c = base("cms155-activity-not-done")
    c.procedure(ACTIVITY, "2026-06-01T10:00:00Z", status="not-done")
    add(n3, "activity-counseling-not-done", c, _counts(1))
    c = base("cms155-all-three")
    vitals(c)
    c.procedure(NUTRITION, "2026-03-01T09:20:00Z")
    c.procedure(ACTIVITY, "2026-03-01T09:20:00Z")
    add(n3, "all-three-numerators", c, _counts(1, 0, 1, 1, 1))

    de = "Denominator Exclusions"
    c = base("cms155-pregnant")
    c.condition(PREGNANCY, "2025-11-01T00:00:00Z")
    c.procedure(NUTRITION, "2026-03-01T09:20:00Z")
    add(de, "pregnancy-active-into-period", c, _counts(1, 1, 0, 0, 0))
    c = base("cms155-pregnancy-ended", birth="2010-05-05")
    c.condition(
        PREGNANCY, "2025-03-01T00:00:00Z", clinical="resolved", abatement="2025-12-31T12:00:00Z"
    )
    add(de, "pregnancy-resolved-before-period", c, _counts(1))
    c = base("cms155-pregnancy-ends-jan1", birth="2010-05-05")
    c.condition(
        PREGNANCY, "2025-03-01T00:00:00Z", clinical="resolved", abatement="2026-01-01T00:00:00Z"
    )
    add(de, "pregnancy-resolved-on-first-day", c, _counts(1, 1))
    c = base("cms155-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    add(de, "hospice-encounter-in-period", c, _counts(1, 1))

    for definition, name, case, groups in cases:
        write_case("CMS155", definition, name, case.bundle("CMS155", URL, groups))


if __name__ == "__main__":
    main()
