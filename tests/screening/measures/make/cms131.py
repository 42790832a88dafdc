"""CMS131 cases: python -m tests.screening.measures.make.cms131 (from the repository root)."""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/DiabetesEyeExamFHIR"
GROUP = "661d83160f0a9077c1d5a547"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
OPHTHALMOLOGICAL = code_in("2.16.840.1.113883.3.526.3.1285", "cpt")
DIABETES = code_in("2.16.840.1.113883.3.464.1003.103.12.1001", "icd-10")
RETINOPATHY = code_in("2.16.840.1.113883.3.526.3.327", "icd-10")
EYE_EXAM = code_in("2.16.840.1.113883.3.464.1003.115.12.1088")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
FRAILTY_DX = code_in("2.16.840.1.113883.3.464.1003.113.12.1074")
ADVANCED_ILLNESS = code_in("2.16.840.1.113883.3.464.1003.110.12.1082")
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


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


def exam(case: Case, when: str, **more: Any) -> None:
    category = more.pop("category", "exam")
    obs = case.observation(EYE_EXAM, when, category=category, **more)
    if not when:  # effectivePeriod instead
        del obs["effectiveDateTime"]


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
    c = base("cms131-age-18", birth="2008-12-31")
    exam(c, "2026-04-01T08:00:00Z")
    cases.append((ip, "age-18-birthday-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms131-age-17", birth="2009-01-01")
    cases.append((ip, "age-17-turns-18-next-year", c, _counts(0, 0, 0, 0)))
    c = base("cms131-age-75", birth="1951-01-01")
    cases.append((ip, "age-75", c, _counts(1, 1, 0, 0)))
    c = base("cms131-age-76", birth="1950-12-31")
    cases.append((ip, "age-76-on-last-day", c, _counts(0, 0, 0, 0)))
    c = base("cms131-no-diabetes", dm=False)
    cases.append((ip, "no-diabetes", c, _counts(0, 0, 0, 0)))
    c = base("cms131-dm-abated-dec31", dm=False)
    c.condition(DIABETES, "2015-02-01", clinical="resolved", abatement="2025-12-31")
    cases.append((ip, "diabetes-abated-day-before-period", c, _counts(0, 0, 0, 0)))
    c = base("cms131-dm-abated-jan1", dm=False)
    c.condition(DIABETES, "2015-02-01", clinical="resolved", abatement="2026-01-01")
    cases.append((ip, "diabetes-abated-on-first-day", c, _counts(1, 1, 0, 0)))
    c = base("cms131-dm-refuted", dm=False)
    c.condition(DIABETES, "2015-02-01", verificationStatus=cc(VER, "refuted"))
    cases.append((ip, "diabetes-refuted-still-counts-no-verified-filter", c, _counts(1, 1, 0, 0)))
    c = base("cms131-visit-cancelled", visit=False)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="cancelled")
    cases.append((ip, "cancelled-encounter", c, _counts(0, 0, 0, 0)))
    c = base("cms131-visit-in-progress", visit=False)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="in-progress")
    cases.append((ip, "in-progress-encounter-counts-2024-status", c, _counts(1, 1, 0, 0)))
    c = base("cms131-visit-ophth", visit=False)
    c.encounter(OPHTHALMOLOGICAL, "2026-12-31T09:00:00Z", "2026-12-31T10:00:00Z")
    cases.append((ip, "ophthalmological-visit-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms131-visit-spans-new-year", visit=False)
    c.encounter(OFFICE, "2026-12-31T22:00:00Z", "2027-01-01T01:00:00Z")
    cases.append((ip, "encounter-ends-after-period", c, _counts(0, 0, 0, 0)))
    c = base("cms131-visit-starts-prior", visit=False)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z")
    cases.append((ip, "encounter-starts-before-period", c, _counts(0, 0, 0, 0)))

    nu = "Numerator"
    c = base("cms131-no-exam")
    cases.append((nu, "no-eye-exam", c, _counts(1, 1, 0, 0)))
    c = base("cms131-norp-exam-jan1-prior")
    exam(c, "2025-01-01T08:00:00Z")
    cases.append((nu, "no-retinopathy-exam-first-day-of-year-prior", c, _counts(1, 1, 0, 1)))
    c = base("cms131-norp-exam-dec31-two-prior")
    exam(c, "2024-12-31T20:00:00Z")
    cases.append((nu, "no-retinopathy-exam-one-day-too-early", c, _counts(1, 1, 0, 0)))
    c = base("cms131-norp-exam-dec31")
    exam(c, "2026-12-31T20:00:00Z")
    cases.append((nu, "no-retinopathy-exam-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms131-norp-exam-next-year")
    exam(c, "2027-01-01T08:00:00Z")
    cases.append((nu, "no-retinopathy-exam-after-period", c, _counts(1, 1, 0, 0)))
    c = base("cms131-rp-exam-prior")
    c.condition(RETINOPATHY, "2020-01-01")
    exam(c, "2025-12-31T08:00:00Z")
    cases.append((nu, "retinopathy-exam-in-year-prior-only", c, _counts(1, 1, 0, 0)))
    c = base("cms131-rp-exam-jan1")
    c.condition(RETINOPATHY, "2020-01-01")
    exam(c, "2026-01-01T00:00:00Z")
    cases.append((nu, "retinopathy-exam-on-first-day", c, _counts(1, 1, 0, 1)))
    c = base("cms131-rp-exam-dec31")
    c.condition(RETINOPATHY, "2020-01-01")
    exam(c, "2026-12-31T23:59:00Z")
    cases.append((nu, "retinopathy-exam-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms131-rp-resolved")
    c.condition(RETINOPATHY, "2020-01-01", clinical="resolved", abatement="2025-12-31")
    exam(c, "2025-06-01T08:00:00Z")
    cases.append((nu, "retinopathy-resolved-before-period-exam-prior", c, _counts(1, 1, 0, 1)))
    c = base("cms131-rp-onset-dec31")
    c.condition(RETINOPATHY, "2026-12-31")
    exam(c, "2025-06-01T08:00:00Z")
    cases.append((nu, "retinopathy-onset-last-day-exam-prior", c, _counts(1, 1, 0, 0)))
    c = base("cms131-exam-no-category")
    exam(c, "2026-06-01T08:00:00Z", category=None)
    cases.append((nu, "exam-without-exam-category", c, _counts(1, 1, 0, 0)))
    c = base("cms131-exam-preliminary")
    exam(c, "2026-06-01T08:00:00Z", status="preliminary")
    cases.append((nu, "exam-preliminary", c, _counts(1, 1, 0, 0)))
    c = base("cms131-exam-corrected")
    exam(c, "2026-06-01T08:00:00Z", status="corrected")
    cases.append((nu, "exam-corrected-counts", c, _counts(1, 1, 0, 1)))
    c = base("cms131-exam-period-straddles-window")
    exam(c, "", effectivePeriod={"start": "2024-12-31", "end": "2025-01-02"})
    cases.append((nu, "exam-period-starts-before-window", c, _counts(1, 1, 0, 0)))
    c = base("cms131-exam-period-inside")
    exam(c, "", effectivePeriod={"start": "2025-01-01", "end": "2025-01-02"})
    cases.append((nu, "exam-period-inside-window", c, _counts(1, 1, 0, 1)))
    c = base("cms131-rp-exam-period-ends-next-year")
    c.condition(RETINOPATHY, "2020-01-01")
    exam(c, "", effectivePeriod={"start": "2026-12-31", "end": "2027-01-01"})
    cases.append((nu, "retinopathy-exam-period-ends-after-period", c, _counts(1, 1, 0, 0)))

    dx = "Denominator Exclusions"
    c = base("cms131-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    exam(c, "2026-06-01T08:00:00Z")
    cases.append((dx, "hospice-encounter-in-period", c, _counts(1, 1, 1, 0)))
    c = base("cms131-hospice-2025")
    c.encounter(HOSPICE_ENC, "2025-05-01T00:00:00Z", "2025-12-31T00:00:00Z")
    cases.append((dx, "hospice-encounter-ended-before-period", c, _counts(1, 1, 0, 0)))
    c = base("cms131-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z")
    cases.append((dx, "palliative-care-encounter", c, _counts(1, 1, 1, 0)))
    c = base("cms131-frail-66", birth="1960-12-31")
    c.condition(FRAILTY_DX, "2026-02-01")
    c.condition(ADVANCED_ILLNESS, "2025-01-01")
    cases.append((dx, "age-66-frailty-and-advanced-illness", c, _counts(1, 1, 1, 0)))
    c = base("cms131-frail-66-illness-early", birth="1960-12-31")
    c.condition(FRAILTY_DX, "2026-02-01")
    c.condition(ADVANCED_ILLNESS, "2024-12-31")
    cases.append((dx, "age-66-advanced-illness-onset-too-early", c, _counts(1, 1, 0, 0)))
    c = base("cms131-frail-65", birth="1961-01-01")
    c.condition(FRAILTY_DX, "2026-02-01")
    c.condition(ADVANCED_ILLNESS, "2025-03-01")
    cases.append((dx, "age-65-frailty-and-advanced-illness", c, _counts(1, 1, 0, 0)))
    for definition, name, case, groups in cases:
        write_case("CMS131", definition, name, case.bundle("CMS131", URL, groups))


if __name__ == "__main__":
    main()
