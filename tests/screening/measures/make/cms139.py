"""CMS139 cases: python -m tests.screening.measures.make.cms139 (from the repository root).

Expected populations come from reading the CQL (FallsScreeningForFutureFallRiskFHIR 0.2.001);
the measurement period is 2026.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import MALE, SNOMED, Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/FallsScreeningForFutureFallRiskFHIR"
GROUP = "66460d21a7a1805d3b737638"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
NURSING_FACILITY = code_in("2.16.840.1.113883.3.464.1003.101.12.1012", "cpt")
PT_EVALUATION = code_in("2.16.840.1.113883.3.526.3.1022")
FALLS = code_in("2.16.840.1.113883.3.464.1003.118.12.1028", "loinc")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
HOSPICE_AMBULATORY = code_in("2.16.840.1.113883.3.526.3.1584")
INPATIENT = code_in("2.16.840.1.113883.3.666.5.307")
HOSPICE_DX = code_in("2.16.840.1.113883.3.464.1003.1165")
CODES = ("initial-population", "denominator", "denominator-exclusion", "numerator")
OUT = (0, 0, 0, 0)
IN = (1, 1, 0, 0)


def _counts(values: tuple[int, ...]) -> list[tuple[str, dict[str, int]]]:
    return [(GROUP, dict(zip(CODES, values, strict=True)))]


def base(pid: str, birth: str = "1950-05-05", visit: bool = True, **kw: Any) -> Case:
    case = Case(pid, birth=birth, **kw)
    if visit:
        case.encounter(OFFICE, "2026-04-01T09:00:00Z", "2026-04-01T09:30:00Z")
    return case


def screen(case: Case, when: str = "2026-04-01T09:10:00Z", **more: Any) -> None:
    more.setdefault("category", "survey")
    case.observation(FALLS, when, **more)


def main() -> None:
    cases: list[tuple[str, str, Case, tuple[int, ...]]] = []
    ip, num, dx = "Initial Population", "Numerator", "Denominator Exclusions"

    # Initial Population: 65 or older on Jan 1 with a performed visit during the period.
    cases.append((ip, "age-65-birthday-on-first-day", base("cms139-age65", "1961-01-01"), IN))
    cases.append((ip, "age-64-on-first-day", base("cms139-age64", "1961-01-02"), OUT))
    cases.append((ip, "male-age-90", base("cms139-male90", "1936-02-02", sex=MALE), IN))
    c = base("cms139-nursing", visit=False)
    c.encounter(NURSING_FACILITY, "2026-07-01T09:00:00Z")
    cases.append((ip, "nursing-facility-visit", c, IN))
    c = base("cms139-pt", visit=False)
    c.encounter(PT_EVALUATION, "2026-07-01T09:00:00Z", status="triaged")
    cases.append((ip, "physical-therapy-evaluation-triaged", c, IN))
    c = base("cms139-cancelled", visit=False)
    c.encounter(OFFICE, "2026-07-01T09:00:00Z", status="cancelled")
    cases.append((ip, "visit-cancelled", c, OUT))
    c = base("cms139-span-start", visit=False)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z")
    cases.append((ip, "visit-starting-day-before-period", c, OUT))
    c = base("cms139-span-end", visit=False)
    c.encounter(OFFICE, "2026-12-31T23:00:00Z", "2027-01-01T01:00:00Z")
    cases.append((ip, "visit-ending-day-after-period", c, OUT))
    c = base("cms139-dec31", visit=False)
    c.encounter(OFFICE, "2026-12-31T22:00:00Z", "2026-12-31T23:00:00Z")
    cases.append((ip, "visit-on-last-day", c, IN))

    # Numerator: a falls screening assessment during day of the period.
    c = base("cms139-screen-jan1")
    screen(c, "2026-01-01T00:00:00Z")
    cases.append((num, "screening-first-day", c, (1, 1, 0, 1)))
    c = base("cms139-screen-2025")
    screen(c, "2025-12-31T23:59:00Z")
    cases.append((num, "screening-day-before-period", c, IN))
    c = base("cms139-screen-dec31")
    screen(c, "2026-12-31")
    cases.append((num, "screening-date-only-last-day", c, (1, 1, 0, 1)))
    c = base("cms139-screen-2027")
    screen(c, "2027-01-01T00:00:00Z")
    cases.append((num, "screening-day-after-period", c, IN))
    c = base("cms139-screen-prelim")
    screen(c, status="preliminary")
    cases.append((num, "screening-preliminary", c, IN))
    c = base("cms139-screen-amended")
    screen(c, status="amended")
    cases.append((num, "screening-amended", c, (1, 1, 0, 1)))
    c = base("cms139-screen-nosurvey")
    screen(c, category=None)
    cases.append((num, "screening-without-survey-category", c, IN))
    c = base("cms139-screen-period")
    obs = c.observation(FALLS, "2026-01-01", category="survey")
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"start": "2025-12-31T10:00:00Z", "end": "2026-01-02T10:00:00Z"}
    cases.append((num, "screening-period-starting-before-period", c, IN))

    # Denominator Exclusions: Hospice."Has Hospice Services" (2024).
    c = base("cms139-hospice-enc")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-03T00:00:00Z")
    screen(c)
    cases.append((dx, "hospice-encounter-with-screening", c, (1, 1, 1, 0)))
    c = base("cms139-hospice-2025")
    c.encounter(HOSPICE_ENC, "2025-05-01T00:00:00Z", "2025-12-31T23:00:00Z")
    cases.append((dx, "hospice-encounter-ended-before-period", c, IN))
    c = base("cms139-hospice-order")
    c.add(
        "ServiceRequest",
        status="active",
        intent="order",
        code=cc(*HOSPICE_AMBULATORY),
        authoredOn="2026-12-31T12:00:00Z",
    )
    cases.append((dx, "hospice-order-last-day", c, (1, 1, 1, 0)))
    c = base("cms139-inpatient-hospice")
    c.encounter(
        INPATIENT,
        "2026-03-01T00:00:00Z",
        "2026-03-05T00:00:00Z",
        hospitalization={"dischargeDisposition": cc(SNOMED, "428361000124107")},
    )
    cases.append((dx, "inpatient-discharged-to-hospice", c, (1, 1, 1, 0)))
    c = base("cms139-hospice-dx")
    c.condition(HOSPICE_DX, "2026-02-01")
    cases.append((dx, "hospice-diagnosis", c, (1, 1, 1, 0)))

    for definition, name, case, values in cases:
        write_case("CMS139", definition, name, case.bundle("CMS139", URL, _counts(values)))


if __name__ == "__main__":
    main()
