"""CMS122 cases: python -m tests.screening.measures.make.cms122 (from the repository root).

An inverse measure: the numerator is poor control (> 9 %, no value, or no test in the period).
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import CPT, LOINC, Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/CMS122FHIRDiabetesAssessGreaterThan9Percent"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
TELEPHONE = code_in("2.16.840.1.113883.3.464.1003.101.12.1080")
DIABETES = code_in("2.16.840.1.113883.3.464.1003.103.12.1001", "icd-10")
HBA1C = code_in("2.16.840.1.113883.3.464.1003.198.12.1013", "loinc")
GMI = (LOINC, "97506-0")
MNT_INITIAL = (CPT, "97802")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
FRAILTY_DX = code_in("2.16.840.1.113883.3.464.1003.113.12.1074")
ADVANCED_ILLNESS = code_in("2.16.840.1.113883.3.464.1003.110.12.1082")
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


def _pct(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}


def a1c(case: Case, when: str, value: float | None, **more: Any) -> None:
    code = more.pop("code", HBA1C)
    if value is not None:
        more["valueQuantity"] = _pct(value)
    obs = case.observation(code, when, category="laboratory", **more)
    if not when:  # effectivePeriod instead of effectiveDateTime
        del obs["effectiveDateTime"]


def base(
    pid: str,
    birth: str = "1970-05-05",
    *,
    visit: bool = True,
    diabetes: bool = True,
) -> Case:
    case = Case(pid, birth=birth)
    if visit:
        case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    if diabetes:
        case.condition(DIABETES, "2015-02-01", category="encounter-diagnosis")
    return case


def main() -> None:
    cases = []
    ip = "Initial Population"
    # Age on the last day of the period: 18 and 75 are in, 17 and 76 out.
    c = base("cms122-age-18", birth="2008-12-31")
    a1c(c, "2026-04-01T08:00:00Z", 7.0)
    cases.append((ip, "age-18-birthday-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms122-age-17", birth="2009-01-01")
    cases.append((ip, "age-17-turns-18-next-year", c, _counts(0, 0, 0, 0)))
    c = base("cms122-age-75", birth="1951-01-01")
    a1c(c, "2026-04-01T08:00:00Z", 7.0)
    cases.append((ip, "age-75", c, _counts(1, 1, 0, 0)))
    c = base("cms122-age-76", birth="1950-12-31")
    cases.append((ip, "age-76-on-last-day", c, _counts(0, 0, 0, 0)))
    # Diabetes diagnosis: prevalence overlaps day of the period, verified.
    c = base("cms122-no-diabetes", diabetes=False)
    cases.append((ip, "no-diabetes-diagnosis", c, _counts(0, 0, 0, 0)))
    c = base("cms122-dm-resolved-dec31", diabetes=False)
    c.condition(
        DIABETES,
        "2015-02-01",
        clinical="resolved",
        abatement="2025-12-31",
        category="encounter-diagnosis",
    )
    cases.append((ip, "diabetes-abated-day-before-period", c, _counts(0, 0, 0, 0)))
    c = base("cms122-dm-resolved-jan1", diabetes=False)
    c.condition(
        DIABETES,
        "2015-02-01",
        clinical="resolved",
        abatement="2026-01-01",
        category="encounter-diagnosis",
    )
    cases.append((ip, "diabetes-abated-on-first-day", c, _counts(1, 1, 0, 1)))
    c = base("cms122-dm-onset-dec31", diabetes=False)
    c.condition(DIABETES, "2026-12-31", category="encounter-diagnosis")
    cases.append((ip, "diabetes-onset-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms122-dm-onset-next-year", diabetes=False)
    c.condition(DIABETES, "2027-01-01", category="encounter-diagnosis")
    cases.append((ip, "diabetes-onset-after-period", c, _counts(0, 0, 0, 0)))
    c = base("cms122-dm-refuted", diabetes=False)
    c.condition(
        DIABETES,
        "2015-02-01",
        category="encounter-diagnosis",
        verificationStatus=cc(VER, "refuted"),
    )
    cases.append((ip, "diabetes-refuted", c, _counts(0, 0, 0, 0)))
    # Qualifying Encounters: finished, period during day of the period.
    c = base("cms122-visit-cancelled", visit=False)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="cancelled")
    cases.append((ip, "cancelled-encounter", c, _counts(0, 0, 0, 0)))
    c = base("cms122-visit-dec31", visit=False)
    c.encounter(OFFICE, "2026-12-31T22:00:00Z", "2026-12-31T23:00:00Z")
    cases.append((ip, "encounter-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms122-visit-spans-new-year", visit=False)
    c.encounter(OFFICE, "2026-12-31T22:00:00Z", "2027-01-01T01:00:00Z")
    cases.append((ip, "encounter-ends-after-period", c, _counts(0, 0, 0, 0)))
    c = base("cms122-visit-starts-dec31-prior", visit=False)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z")
    cases.append((ip, "encounter-starts-before-period", c, _counts(0, 0, 0, 0)))
    c = base("cms122-visit-mnt", visit=False)
    c.encounter(MNT_INITIAL, "2026-05-01T09:00:00Z", "2026-05-01T09:15:00Z")
    cases.append((ip, "medical-nutrition-therapy-97802", c, _counts(1, 1, 0, 1)))
    c = base("cms122-visit-telephone", visit=False)
    c.encounter(TELEPHONE, "2026-05-01T09:00:00Z", "2026-05-01T09:15:00Z")
    cases.append((ip, "telephone-visit", c, _counts(1, 1, 0, 1)))

    nu = "Numerator"
    c = base("cms122-no-test")
    cases.append((nu, "no-glycemic-status-assessment", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-9-0")
    a1c(c, "2026-06-01T08:00:00Z", 9.0)
    cases.append((nu, "a1c-exactly-9-not-elevated", c, _counts(1, 1, 0, 0)))
    c = base("cms122-a1c-9-1")
    a1c(c, "2026-06-01T08:00:00Z", 9.1)
    cases.append((nu, "a1c-9-1-elevated", c, _counts(1, 1, 0, 1)))
    c = base("cms122-recent-low")
    a1c(c, "2026-02-01T08:00:00Z", 10.5)
    a1c(c, "2026-08-01T08:00:00Z", 7.2)
    cases.append((nu, "most-recent-controlled-after-elevated", c, _counts(1, 1, 0, 0)))
    c = base("cms122-recent-high")
    a1c(c, "2026-08-01T08:00:00Z", 10.5)
    a1c(c, "2026-02-01T08:00:00Z", 7.2)
    cases.append((nu, "most-recent-elevated-after-controlled", c, _counts(1, 1, 0, 1)))
    c = base("cms122-same-day-lowest")
    a1c(c, "2026-08-01T08:00:00Z", 10.5)
    a1c(c, "2026-08-01T15:00:00Z", 8.5)
    cases.append((nu, "same-day-lowest-reading-counts", c, _counts(1, 1, 0, 0)))
    c = base("cms122-no-value")
    a1c(c, "2026-08-01T08:00:00Z", None)
    a1c(c, "2026-03-01T08:00:00Z", 6.5)
    cases.append((nu, "most-recent-without-result", c, _counts(1, 1, 0, 1)))
    c = base("cms122-same-day-no-value")
    a1c(c, "2026-08-01T08:00:00Z", 6.5)
    a1c(c, "2026-08-01T10:00:00Z", None)
    cases.append((nu, "same-day-null-value-sorts-first", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-dec31-prior")
    a1c(c, "2025-12-31T12:00:00Z", 6.5)
    cases.append((nu, "a1c-day-before-period-only", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-jan1")
    a1c(c, "2026-01-01T00:00:00Z", 6.5)
    cases.append((nu, "a1c-on-first-day", c, _counts(1, 1, 0, 0)))
    c = base("cms122-a1c-dec31")
    a1c(c, "2026-12-31T23:30:00Z", 6.5)
    cases.append((nu, "a1c-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms122-a1c-period-ends-next-year")
    a1c(c, "", 6.5, effectivePeriod={"start": "2026-12-30", "end": "2027-01-01"})
    cases.append((nu, "a1c-effective-period-ends-after-period", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-period-ends-jan2")
    a1c(c, "", 6.5, effectivePeriod={"start": "2025-12-20", "end": "2026-01-02"})
    cases.append((nu, "a1c-effective-period-ends-in-period", c, _counts(1, 1, 0, 0)))
    c = base("cms122-a1c-preliminary")
    a1c(c, "2026-06-01T08:00:00Z", 6.5, status="preliminary")
    cases.append((nu, "a1c-preliminary-does-not-count", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-eie")
    a1c(c, "2026-06-01T08:00:00Z", 6.5, status="entered-in-error")
    cases.append((nu, "a1c-entered-in-error", c, _counts(1, 1, 0, 1)))
    c = base("cms122-a1c-amended")
    a1c(c, "2026-06-01T08:00:00Z", 6.5, status="amended")
    cases.append((nu, "a1c-amended-counts", c, _counts(1, 1, 0, 0)))
    c = base("cms122-gmi-high")
    a1c(c, "2026-06-01T08:00:00Z", 9.5, code=GMI)
    cases.append((nu, "gmi-elevated", c, _counts(1, 1, 0, 1)))
    c = base("cms122-gmi-low")
    a1c(c, "2026-06-01T08:00:00Z", 7.5, code=GMI)
    cases.append((nu, "gmi-controlled", c, _counts(1, 1, 0, 0)))

    dx = "Denominator Exclusions"
    c = base("cms122-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    cases.append((dx, "hospice-encounter-in-period", c, _counts(1, 1, 1, 0)))
    c = base("cms122-hospice-2025")
    c.encounter(HOSPICE_ENC, "2025-05-01T00:00:00Z", "2025-12-31T00:00:00Z")
    cases.append((dx, "hospice-encounter-ended-before-period", c, _counts(1, 1, 0, 1)))
    c = base("cms122-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z")
    cases.append((dx, "palliative-care-encounter", c, _counts(1, 1, 1, 0)))
    c = base("cms122-frail-66", birth="1960-12-31")
    c.condition(FRAILTY_DX, "2026-02-01")
    c.condition(ADVANCED_ILLNESS, "2025-03-01")
    cases.append((dx, "age-66-frailty-and-advanced-illness", c, _counts(1, 1, 1, 0)))
    c = base("cms122-frail-65", birth="1961-01-01")
    c.condition(FRAILTY_DX, "2026-02-01")
    c.condition(ADVANCED_ILLNESS, "2025-03-01")
    cases.append((dx, "age-65-frailty-and-advanced-illness", c, _counts(1, 1, 0, 1)))
    for definition, name, case, groups in cases:
        write_case("CMS122", definition, name, case.bundle("CMS122", URL, groups))


if __name__ == "__main__":
    main()
