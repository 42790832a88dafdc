"""CMS951 cases: python -m tests.screening.measures.make.cms951 (from the repository root)."""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import Case, code_in, write_case

URL = "https://madie.cms.gov/Measure/KidneyHealthEvaluationFHIR"
GROUP = "64f0dfe956d636294b157faf"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
CONSULT = code_in("2.16.840.1.113883.3.464.1003.101.12.1008", "cpt")
DIABETES = code_in("2.16.840.1.113883.3.464.1003.103.12.1001", "icd-10")
EGFR = code_in("2.16.840.1.113883.3.6929.3.1000", "loinc")
UACR = code_in("2.16.840.1.113883.3.6929.3.1007", "loinc")
CKD5 = code_in("2.16.840.1.113883.3.526.3.1002", "icd-10")
ESRD = code_in("2.16.840.1.113883.3.526.3.353", "icd-10")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
UCUM = "http://unitsofmeasure.org"


def _counts(ipp: int, denom: int, denex: int, numer: int) -> list[tuple[str, dict[str, int]]]:
    return [
        (
            GROUP,
            {
                "initial-population": ipp,
                "denominator": denom,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


def lab(
    case: Case, code: tuple[str, str], when: str, value: float | None = 50.0, **more: Any
) -> None:
    if value is not None:
        more["valueQuantity"] = {"value": value, "unit": "mg/g", "system": UCUM, "code": "mg/g"}
    category = more.pop("category", "laboratory")
    obs = case.observation(code, when, category=category, **more)
    if not when:  # effectivePeriod instead
        del obs["effectiveDateTime"]


def panel(case: Case) -> None:
    lab(case, EGFR, "2026-05-01T08:00:00Z")
    lab(case, UACR, "2026-05-01T08:00:00Z")


def base(pid: str, birth: str = "1970-05-05", *, visit: bool = True, dm: bool = True) -> Case:
    case = Case(pid, birth=birth)
    if visit:
        case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    if dm:
        case.condition(DIABETES, "2015-02-01")
    return case


def main() -> None:
    cases = []
    ip = "Initial Population"
    # Age on the FIRST day of the period.
    c = base("cms951-age-18-on-jan1", birth="2008-01-01")
    panel(c)
    cases.append((ip, "age-18-birthday-on-first-day", c, _counts(1, 1, 0, 1)))
    c = base("cms951-age-17-on-jan1", birth="2008-01-02")
    cases.append((ip, "age-17-on-first-day-18-later", c, _counts(0, 0, 0, 0)))
    c = base("cms951-age-85-on-jan1", birth="1940-12-31")
    cases.append((ip, "age-85-on-first-day-86-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms951-age-86-on-jan1", birth="1940-01-01")
    cases.append((ip, "age-86-on-first-day", c, _counts(0, 0, 0, 0)))
    c = base("cms951-no-diabetes", dm=False)
    cases.append((ip, "no-diabetes", c, _counts(0, 0, 0, 0)))
    c = base("cms951-dm-recurrence", dm=False)
    c.condition(DIABETES, "2015-02-01", clinical="recurrence")
    cases.append((ip, "diabetes-recurrence-not-active", c, _counts(0, 0, 0, 0)))
    c = base("cms951-dm-active-abated-prior", dm=False)
    c.condition(DIABETES, "2015-02-01", abatement="2025-12-31")
    cases.append((ip, "diabetes-active-abated-before-period", c, _counts(0, 0, 0, 0)))
    c = base("cms951-dm-onset-dec31", dm=False)
    c.condition(DIABETES, "2026-12-31")
    cases.append((ip, "diabetes-onset-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms951-no-visit", visit=False)
    cases.append((ip, "no-visit", c, _counts(0, 0, 0, 0)))
    c = base("cms951-visit-in-progress", visit=False)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="in-progress")
    cases.append((ip, "in-progress-visit-not-finished", c, _counts(0, 0, 0, 0)))
    c = base("cms951-visit-consult", visit=False)
    c.encounter(CONSULT, "2026-01-01T00:00:00Z", "2026-01-01T00:30:00Z")
    cases.append((ip, "outpatient-consultation-first-instant", c, _counts(1, 1, 0, 0)))
    c = base("cms951-visit-dec31-date", visit=False)
    c.encounter(OFFICE, "2026-12-31", "2026-12-31")
    cases.append((ip, "visit-date-only-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms951-visit-ends-next-year", visit=False)
    c.encounter(OFFICE, "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z")
    cases.append((ip, "visit-ends-at-midnight-after-period", c, _counts(0, 0, 0, 0)))
    c = base("cms951-visit-starts-prior", visit=False)
    c.encounter(OFFICE, "2025-12-31T23:59:59Z", "2026-01-01T00:30:00Z")
    cases.append((ip, "visit-starts-second-before-period", c, _counts(0, 0, 0, 0)))
    c = base("cms951-visit-open-end", visit=False)
    enc = c.encounter(OFFICE, "2026-03-01T09:00:00Z")
    del enc["period"]["end"]
    cases.append((ip, "visit-without-end-not-during", c, _counts(0, 0, 0, 0)))

    nu = "Numerator"
    c = base("cms951-panel")
    panel(c)
    cases.append((nu, "egfr-and-uacr", c, _counts(1, 1, 0, 1)))
    c = base("cms951-egfr-only")
    lab(c, EGFR, "2026-05-01T08:00:00Z")
    cases.append((nu, "egfr-only", c, _counts(1, 1, 0, 0)))
    c = base("cms951-uacr-only")
    lab(c, UACR, "2026-05-01T08:00:00Z")
    cases.append((nu, "uacr-only", c, _counts(1, 1, 0, 0)))
    c = base("cms951-uacr-no-value")
    lab(c, EGFR, "2026-05-01T08:00:00Z")
    lab(c, UACR, "2026-05-01T08:00:00Z", None)
    cases.append((nu, "uacr-without-value", c, _counts(1, 1, 0, 0)))
    c = base("cms951-egfr-preliminary")
    lab(c, EGFR, "2026-05-01T08:00:00Z", status="preliminary")
    lab(c, UACR, "2026-05-01T08:00:00Z")
    cases.append((nu, "egfr-preliminary", c, _counts(1, 1, 0, 0)))
    c = base("cms951-corrected-no-category")
    lab(c, EGFR, "2026-05-01T08:00:00Z", status="corrected", category=None)
    lab(c, UACR, "2026-05-01T08:00:00Z", category=None)
    cases.append((nu, "corrected-without-category-counts", c, _counts(1, 1, 0, 1)))
    c = base("cms951-boundaries")
    lab(c, EGFR, "2026-01-01T00:00:00Z")
    lab(c, UACR, "2026-12-31T23:59:00Z")
    cases.append((nu, "tests-on-first-and-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms951-uacr-dec31-prior")
    lab(c, EGFR, "2026-01-01T00:00:00Z")
    lab(c, UACR, "2025-12-31T12:00:00Z")
    cases.append((nu, "uacr-day-before-period", c, _counts(1, 1, 0, 0)))
    c = base("cms951-uacr-jan1-next")
    lab(c, EGFR, "2026-06-01T00:00:00Z")
    lab(c, UACR, "2027-01-01T00:00:00Z")
    cases.append((nu, "uacr-day-after-period", c, _counts(1, 1, 0, 0)))
    c = base("cms951-egfr-period-straddles")
    lab(c, EGFR, "", effectivePeriod={"start": "2026-12-31", "end": "2027-01-01"})
    lab(c, UACR, "2026-06-01T00:00:00Z")
    cases.append((nu, "egfr-effective-period-ends-after-period", c, _counts(1, 1, 0, 0)))

    dx = "Denominator Exclusions"
    c = base("cms951-esrd")
    c.condition(ESRD, "2020-01-01")
    panel(c)
    cases.append((dx, "esrd-active", c, _counts(1, 1, 1, 0)))
    c = base("cms951-esrd-resolved")
    c.condition(ESRD, "2020-01-01", clinical="resolved", abatement="2026-06-01")
    cases.append((dx, "esrd-resolved-during-period-not-active", c, _counts(1, 1, 0, 0)))
    c = base("cms951-ckd5-dec31")
    c.condition(CKD5, "2026-12-31")
    cases.append((dx, "ckd5-onset-on-last-day", c, _counts(1, 1, 1, 0)))
    c = base("cms951-ckd5-next-year")
    c.condition(CKD5, "2027-01-01")
    cases.append((dx, "ckd5-onset-after-period", c, _counts(1, 1, 0, 0)))
    c = base("cms951-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    cases.append((dx, "hospice-encounter-in-period", c, _counts(1, 1, 1, 0)))
    c = base("cms951-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z")
    cases.append((dx, "palliative-care-encounter", c, _counts(1, 1, 1, 0)))
    for definition, name, case, groups in cases:
        write_case("CMS951", definition, name, case.bundle("CMS951", URL, groups))


if __name__ == "__main__":
    main()
