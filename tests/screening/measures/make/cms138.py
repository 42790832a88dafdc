"""CMS138 cases: python -m tests.screening.measures.make.cms138 (from the repository root)."""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import CPT, ICD10, SNOMED, Case, cc, code_in, write_case

URL = (
    "https://madie.cms.gov/Measure/PreventiveCareAndTobaccoUseScreeningAndCessationInterventionFHIR"
)
G1, G2, G3 = "64e649752ad653247b573add", "64e649752ad653247b573ade", "64e649752ad653247b573adf"
PREVENTIVE = code_in("2.16.840.1.113883.3.464.1003.101.12.1025", "cpt")
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001")
TELEPHONE = code_in("2.16.840.1.113883.3.464.1003.101.12.1080")
SCREEN = code_in("2.16.840.1.113883.3.526.3.1278", "loinc")
USER = code_in("2.16.840.1.113883.3.526.3.1170")
NON_USER = code_in("2.16.840.1.113883.3.526.3.1189")
COUNSELING = code_in("2.16.840.1.113883.3.526.3.509")
PHARMACOTHERAPY = code_in("2.16.840.1.113883.3.526.3.1190", "rxnorm")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
UNLISTED_PREVENTIVE = (CPT, "99429")
TOBACCO_COUNSELING_DX = (ICD10, "Z71.6")
OTHER_ANSWER = (SNOMED, "373067005")  # "No": in neither Tobacco User nor Tobacco Non User
BIRTH = "1980-05-05"


def _counts(
    ipp: int, user: int = 0, n1: int = 0, n2: int = 0, n3: int = 0, denex: int = 0
) -> list[tuple[str, dict[str, int]]]:
    """Final counts per group: denominators 1 and 3 are the IPP, denominator 2 the users."""
    d2 = ipp and user

    def group(denom: int, numer: int) -> dict[str, int]:
        return {
            "initial-population": ipp,
            "denominator": denom,
            "denominator-exclusion": denom and denex,
            "numerator": numer,
        }

    return [(G1, group(ipp, n1)), (G2, group(d2, n2)), (G3, group(ipp, n3))]


def base(pid: str, birth: str = BIRTH) -> Case:
    case = Case(pid, birth=birth)
    case.encounter(PREVENTIVE, "2026-03-10T09:00:00Z", "2026-03-10T09:30:00Z")
    return case


def screen(
    case: Case, value: tuple[str, str], when: str = "2026-03-10T09:10:00Z", **more: Any
) -> None:
    more.setdefault("category", "survey")
    case.observation(SCREEN, when, valueCodeableConcept=cc(*value), **more)


def med(
    case: Case, authored: str, status: str = "active", intent: str = "order", **more: Any
) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "intent": intent,
        "medicationCodeableConcept": cc(*PHARMACOTHERAPY),
        "authoredOn": authored,
        "dispenseRequest": {
            "expectedSupplyDuration": {
                "value": 30,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        },
    }
    fields.update(more)
    case.add("MedicationRequest", **fields)


def main() -> None:
    cases = []
    ip, n1, n2, dx = "Initial Population", "Numerator 1", "Numerator 2", "Denominator Exclusion"
    # Initial Population: 12+ at the start of the period; 2 qualifying visits or 1 preventive.
    c = base("cms138-age-12", birth="2014-01-01")
    cases.append((ip, "age-12-birthday-on-first-day", c, _counts(1)))
    c = base("cms138-age-11", birth="2014-01-02")
    cases.append((ip, "age-11-turns-12-on-jan-2", c, _counts(0)))
    c = Case("cms138-one-office", birth=BIRTH)
    c.encounter(OFFICE, "2026-03-10T09:00:00Z")
    cases.append((ip, "one-office-visit", c, _counts(0)))
    c = Case("cms138-two-office", birth=BIRTH)
    c.encounter(OFFICE, "2026-01-01T00:00:00Z")
    c.encounter(OFFICE, "2026-12-31T23:00:00Z")
    cases.append((ip, "two-office-visits-first-and-last-day", c, _counts(1)))
    c = Case("cms138-office-2025", birth=BIRTH)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z")
    c.encounter(OFFICE, "2026-03-10T09:00:00Z")
    cases.append((ip, "second-office-visit-in-prior-year", c, _counts(0)))
    c = Case("cms138-office-telephone", birth=BIRTH)
    c.encounter(OFFICE, "2026-02-10T09:00:00Z")
    c.encounter(TELEPHONE, "2026-03-10T09:00:00Z")
    cases.append((ip, "office-and-telephone-visit", c, _counts(1)))
    c = Case("cms138-one-enc-two-types", birth=BIRTH)
    enc = c.encounter(OFFICE, "2026-03-10T09:00:00Z")
    enc["type"].append(cc(*TELEPHONE))
    cases.append((ip, "one-encounter-in-two-value-sets-counts-once", c, _counts(0)))
    c = Case("cms138-unlisted-preventive", birth=BIRTH)
    c.encounter(UNLISTED_PREVENTIVE, "2026-03-10T09:00:00Z")
    cases.append((ip, "preventive-visit-cpt-99429", c, _counts(1)))
    c = Case("cms138-preventive-in-progress", birth=BIRTH)
    c.encounter(PREVENTIVE, "2026-03-10T09:00:00Z", status="in-progress")
    cases.append((ip, "preventive-visit-in-progress-counts-2024-status", c, _counts(1)))
    c = Case("cms138-preventive-cancelled", birth=BIRTH)
    c.encounter(PREVENTIVE, "2026-03-10T09:00:00Z", status="cancelled")
    cases.append((ip, "preventive-visit-cancelled", c, _counts(0)))

    # Numerator 1 / 3: the most recent survey-category screening in the period.
    c = base("cms138-non-user")
    screen(c, NON_USER)
    cases.append((n1, "non-user", c, _counts(1, 0, 1, 0, 1)))
    c = base("cms138-user")
    screen(c, USER)
    cases.append((n1, "user-without-intervention", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-no-survey")
    screen(c, NON_USER, category=None)
    cases.append((n1, "screening-without-survey-category", c, _counts(1, 0, 0, 0, 0)))
    c = base("cms138-preliminary")
    screen(c, NON_USER, status="preliminary")
    cases.append((n1, "screening-preliminary", c, _counts(1, 0, 0, 0, 0)))
    c = base("cms138-screen-2025")
    screen(c, NON_USER, "2025-12-31T23:00:00Z")
    cases.append((n1, "screening-day-before-period", c, _counts(1, 0, 0, 0, 0)))
    c = base("cms138-screen-first-day")
    screen(c, NON_USER, "2026-01-01T00:00:00Z")
    cases.append((n1, "screening-first-day", c, _counts(1, 0, 1, 0, 1)))
    c = base("cms138-user-then-non-user")
    screen(c, USER, "2026-02-01T09:00:00Z")
    screen(c, NON_USER, "2026-03-10T09:00:00Z")
    cases.append((n1, "user-then-non-user", c, _counts(1, 0, 1, 0, 1)))
    c = base("cms138-non-user-then-user")
    screen(c, NON_USER, "2026-02-01T09:00:00Z")
    screen(c, USER, "2026-03-10T09:00:00Z")
    cases.append((n1, "non-user-then-user-without-intervention", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-last-other-answer")
    screen(c, NON_USER, "2026-02-01T09:00:00Z")
    screen(c, OTHER_ANSWER, "2026-03-10T09:00:00Z")
    cases.append((n1, "most-recent-answer-in-neither-value-set", c, _counts(1, 0, 0, 0, 0)))

    # Numerator 2: interventions during day of [start of MP - 6 months, end of MP].
    c = base("cms138-counseling")
    screen(c, USER)
    c.procedure(COUNSELING, "2026-03-10T09:20:00Z")
    cases.append((n2, "user-counseling-in-period", c, _counts(1, 1, 1, 1, 1)))
    c = base("cms138-counseling-jul1")
    screen(c, USER)
    c.procedure(COUNSELING, "2025-07-01T00:00:00Z")
    cases.append((n2, "counseling-on-july-1-prior-year", c, _counts(1, 1, 1, 1, 1)))
    c = base("cms138-counseling-jun30")
    screen(c, USER)
    c.procedure(COUNSELING, "2025-06-30T23:00:00Z")
    cases.append((n2, "counseling-on-june-30-prior-year", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-counseling-in-progress")
    screen(c, USER)
    c.procedure(COUNSELING, "2026-03-10T09:20:00Z", status="in-progress")
    cases.append((n2, "counseling-not-completed", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-counseling-non-user")
    screen(c, NON_USER)
    c.procedure(COUNSELING, "2026-03-10T09:20:00Z")
    cases.append((n2, "non-user-with-counseling-not-in-denominator-2", c, _counts(1, 0, 1, 0, 1)))
    c = base("cms138-z716")
    screen(c, USER)
    c.condition(TOBACCO_COUNSELING_DX, "2026-02-01", category="encounter-diagnosis")
    cases.append((n2, "tobacco-abuse-counseling-diagnosis", c, _counts(1, 1, 1, 1, 1)))
    c = base("cms138-z716-old")
    screen(c, USER)
    c.condition(TOBACCO_COUNSELING_DX, "2025-06-30", category="encounter-diagnosis")
    cases.append(
        (n2, "tobacco-abuse-counseling-diagnosis-before-window", c, _counts(1, 1, 1, 0, 0))
    )
    c = base("cms138-ordered-jul1")
    screen(c, USER)
    med(c, "2025-07-01T08:00:00Z", status="completed")
    cases.append((n2, "pharmacotherapy-ordered-july-1-prior-year", c, _counts(1, 1, 1, 1, 1)))
    c = base("cms138-ordered-jun30")
    screen(c, USER)
    med(c, "2025-06-30T08:00:00Z", status="completed")
    cases.append((n2, "pharmacotherapy-ordered-june-30-prior-year", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-ordered-plan")
    screen(c, USER)
    med(c, "2026-03-10T09:20:00Z", intent="plan")
    cases.append((n2, "pharmacotherapy-intent-plan", c, _counts(1, 1, 1, 0, 0)))
    bounds = [{"timing": {"repeat": {"boundsPeriod": {"start": "2025-08-01"}}}}]
    c = base("cms138-active-therapy")
    screen(c, USER)
    med(c, "2025-05-01T08:00:00Z", dosageInstruction=bounds)
    cases.append((n2, "active-pharmacotherapy-in-window", c, _counts(1, 1, 1, 1, 1)))
    c = base("cms138-completed-old-therapy")
    screen(c, USER)
    med(c, "2025-05-01T08:00:00Z", status="completed", dosageInstruction=bounds)
    cases.append((n2, "completed-pharmacotherapy-ordered-before-window", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms138-active-from-june")
    screen(c, USER)
    late = [{"timing": {"repeat": {"boundsPeriod": {"start": "2025-06-30"}}}}]
    med(c, "2025-05-01T08:00:00Z", dosageInstruction=late)
    cases.append((n2, "active-pharmacotherapy-starting-june-30", c, _counts(1, 1, 1, 0, 0)))

    # Denominator Exclusion: Hospice (2024 edition: an in-progress hospice encounter counts).
    c = base("cms138-hospice")
    screen(c, USER)
    c.procedure(COUNSELING, "2026-03-10T09:20:00Z")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z", status="in-progress")
    cases.append((dx, "hospice-encounter-in-progress", c, _counts(1, 1, 0, 0, 0, denex=1)))
    c = base("cms138-hospice-2025")
    screen(c, NON_USER)
    c.encounter(HOSPICE_ENC, "2025-05-01T00:00:00Z", "2025-12-31T00:00:00Z")
    cases.append((dx, "hospice-encounter-before-period", c, _counts(1, 0, 1, 0, 1)))
    for definition, name, case, groups in cases:
        write_case("CMS138", definition, name, case.bundle("CMS138", URL, groups))


if __name__ == "__main__":
    main()
