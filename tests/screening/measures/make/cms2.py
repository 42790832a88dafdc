"""CMS2 cases: python -m tests.screening.measures.make.cms2 (from the repository root)."""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import LOINC, SNOMED, Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/CMS2FHIRPCSDepressionScreenAndFollowUp"
SCREEN_ENC = code_in("2.16.840.1.113883.3.600.1916")
PT_EVAL = code_in("2.16.840.1.113883.3.526.3.1022")
ADULT_MED = code_in("2.16.840.1.113883.3.526.3.1566", "rxnorm")
ADOLESCENT_MED = code_in("2.16.840.1.113883.3.526.3.1567", "rxnorm")
ADULT_REFERRAL = code_in("2.16.840.1.113883.3.526.3.1571")
ADULT_ONLY_REFERRAL = (SNOMED, "306204008")  # in Referral for Adult, not Adolescent, Depression
ADULT_FOLLOW_UP = code_in("2.16.840.1.113883.3.526.3.1568")
BIPOLAR = code_in("2.16.840.1.113883.3.67.1.101.1.128")
MEDICAL_REASON = code_in("2.16.840.1.113883.3.526.3.1007")
ADOLESCENT = (LOINC, "73831-0")
ADULT = (LOINC, "73832-8")
DECLINED = (SNOMED, "720834000")
NEGATIVE = (SNOMED, "428171000124102")
POSITIVE = (SNOMED, "428181000124104")
NOT_DONE_REASON = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
ENC_DAY = "2026-03-10"
ADULT_BIRTH = "1980-05-05"


def _counts(
    ipp: int, denom: int, denex: int, numer: int, denexcep: int
) -> list[tuple[str, dict[str, int]]]:
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


def base(pid: str, birth: str = ADULT_BIRTH, day: str = ENC_DAY) -> Case:
    case = Case(pid, birth=birth)
    case.encounter(SCREEN_ENC, f"{day}T09:00:00Z", f"{day}T09:30:00Z")
    return case


def screen(
    case: Case, code: tuple[str, str], when: str, value: Any = NEGATIVE, **more: Any
) -> None:
    fields: dict[str, Any] = {}
    if value is not None:
        fields["valueCodeableConcept"] = cc(*value)
    fields.update(more)
    case.observation(code, when, category="survey", **fields)


def med(case: Case, code: tuple[str, str], authored: str, days: int, **more: Any) -> None:
    fields: dict[str, Any] = {
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": cc(*code),
        "authoredOn": authored,
        "dispenseRequest": {
            "expectedSupplyDuration": {
                "value": days,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        },
    }
    fields.update(more)
    case.add("MedicationRequest", **fields)


def referral(
    case: Case,
    authored: str,
    status: str = "completed",
    code: tuple[str, str] = ADULT_REFERRAL,
) -> None:
    case.add(
        "ServiceRequest",
        status=status,
        intent="order",
        code=cc(*code),
        authoredOn=authored,
    )


def cancelled(case: Case, code: tuple[str, str], issued: str, reason: tuple[str, str]) -> None:
    case.add(
        "Observation",
        status="cancelled",
        code=cc(*code),
        issued=issued,
        extension=[{"url": NOT_DONE_REASON, "valueCodeableConcept": cc(*reason)}],
    )


def main() -> None:
    cases = []
    ip, nu, dx, ex = (
        "Initial Population",
        "Numerator",
        "Denominator Exclusions",
        "Denominator Exceptions",
    )
    # Initial Population: age 12 at the start of the period (Jan 1), a finished encounter.
    c = base("cms2-age-12", birth="2014-01-01")
    cases.append((ip, "age-12-birthday-on-first-day", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-age-11", birth="2014-01-02")
    cases.append((ip, "age-11-turns-12-on-jan-2", c, _counts(0, 0, 0, 0, 0)))
    c = Case("cms2-no-visit", birth=ADULT_BIRTH)
    screen(c, ADULT, f"{ENC_DAY}T09:00:00Z")
    cases.append((ip, "no-qualifying-encounter", c, _counts(0, 0, 0, 0, 0)))
    c = Case("cms2-in-progress", birth=ADULT_BIRTH)
    c.encounter(SCREEN_ENC, f"{ENC_DAY}T09:00:00Z", status="in-progress")
    cases.append((ip, "encounter-in-progress", c, _counts(0, 0, 0, 0, 0)))
    c = Case("cms2-enc-first-day", birth=ADULT_BIRTH)
    c.encounter(SCREEN_ENC, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    cases.append((ip, "encounter-on-first-day", c, _counts(1, 1, 0, 0, 0)))
    c = Case("cms2-enc-into-next-year", birth=ADULT_BIRTH)
    c.encounter(SCREEN_ENC, "2026-12-31T22:00:00Z", "2027-01-01T01:00:00Z")
    cases.append((ip, "encounter-ends-after-period", c, _counts(0, 0, 0, 0, 0)))
    c = Case("cms2-pt-eval", birth=ADULT_BIRTH)
    c.encounter(PT_EVAL, "2026-12-31T10:00:00Z", "2026-12-31T11:00:00Z")
    cases.append((ip, "physical-therapy-evaluation-on-last-day", c, _counts(1, 1, 0, 0, 0)))

    # Numerator: the most recent screening 14 days or less on or before the encounter start.
    c = base("cms2-neg-same-day")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "adult-negative-same-day", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-neg-14-days")
    screen(c, ADULT, "2026-02-24T08:00:00Z")
    cases.append((nu, "adult-negative-14-days-before", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-neg-15-days")
    screen(c, ADULT, "2026-02-23T23:00:00Z")
    cases.append((nu, "adult-negative-15-days-before", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-neg-day-after")
    screen(c, ADULT, "2026-03-11T08:00:00Z")
    cases.append((nu, "adult-negative-day-after-encounter", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-neg-prior-year", day="2026-01-05")
    screen(c, ADULT, "2025-12-22T08:00:00Z")
    cases.append((nu, "adult-negative-in-prior-year-within-14-days", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-neg-amended")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", status="amended")
    cases.append((nu, "adult-negative-amended-not-counted", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-neg-corrected")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", status="corrected")
    cases.append((nu, "adult-negative-corrected", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-no-value")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=None)
    cases.append((nu, "adult-screening-without-value", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-last-positive")
    screen(c, ADULT, "2026-03-01T08:00:00Z")
    screen(c, ADULT, "2026-03-05T08:00:00Z", value=POSITIVE)
    cases.append((nu, "most-recent-positive-no-follow-up", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-last-negative")
    screen(c, ADULT, "2026-03-01T08:00:00Z", value=POSITIVE)
    screen(c, ADULT, "2026-03-05T08:00:00Z")
    cases.append((nu, "most-recent-negative-after-positive", c, _counts(1, 1, 0, 1, 0)))
    # Positive with follow-up.
    c = base("cms2-referral-2-days")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    referral(c, "2026-03-12T10:00:00Z")
    cases.append((nu, "positive-referral-2-days-after", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-referral-3-days")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    referral(c, "2026-03-13T00:30:00Z")
    cases.append((nu, "positive-referral-3-days-after", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-referral-draft")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    referral(c, f"{ENC_DAY}T10:00:00Z", status="draft")
    cases.append((nu, "positive-referral-draft", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-procedure-during")
    screen(c, ADULT, "2026-03-02T08:00:00Z", value=POSITIVE)
    c.procedure(ADULT_FOLLOW_UP, f"{ENC_DAY}T09:15:00Z")
    cases.append((nu, "positive-follow-up-procedure-during-encounter", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-procedure-after")
    screen(c, ADULT, "2026-03-02T08:00:00Z", value=POSITIVE)
    c.procedure(ADULT_FOLLOW_UP, f"{ENC_DAY}T10:00:00Z")
    cases.append((nu, "positive-follow-up-procedure-after-encounter", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-med-30-days")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    med(c, ADULT_MED, f"{ENC_DAY}T09:20:00Z", 30)
    cases.append((nu, "positive-medication-30-days", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-med-2-days")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    med(c, ADULT_MED, f"{ENC_DAY}T09:20:00Z", 2)
    cases.append((nu, "positive-medication-2-days-overlaps-after", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-med-1-day")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    med(c, ADULT_MED, f"{ENC_DAY}T09:20:00Z", 1)
    cases.append((nu, "positive-medication-1-day-ends-with-encounter", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-med-draft")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    med(c, ADULT_MED, f"{ENC_DAY}T09:20:00Z", 30, status="draft")
    cases.append((nu, "positive-medication-draft", c, _counts(1, 1, 0, 0, 0)))
    # Age split at the start of the period.
    c = base("cms2-16-adult-screen", birth="2009-01-02")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "age-16-adult-screening-only", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-16-adolescent", birth="2009-01-02")
    screen(c, ADOLESCENT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "age-16-adolescent-negative", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-12-adolescent-med", birth="2014-01-01")
    screen(c, ADOLESCENT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    med(c, ADOLESCENT_MED, f"{ENC_DAY}T09:20:00Z", 30)
    cases.append((nu, "age-12-adolescent-positive-medication", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-12-adult-referral", birth="2014-01-01")
    screen(c, ADOLESCENT, f"{ENC_DAY}T08:00:00Z", value=POSITIVE)
    referral(c, f"{ENC_DAY}T10:00:00Z", code=ADULT_ONLY_REFERRAL)
    cases.append((nu, "age-12-positive-adult-only-referral", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-17-adult", birth="2009-01-01")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "age-17-adult-negative", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-17-adolescent", birth="2008-01-02")
    screen(c, ADOLESCENT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "age-17-adolescent-negative", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms2-18-adolescent", birth="2008-01-01")
    screen(c, ADOLESCENT, f"{ENC_DAY}T08:00:00Z")
    cases.append((nu, "age-18-adolescent-screening-only", c, _counts(1, 1, 0, 0, 0)))

    # Denominator Exclusions: bipolar prevalence starts before the day of the encounter.
    c = base("cms2-bipolar-before")
    c.condition(BIPOLAR, "2026-03-09T23:00:00Z")
    screen(c, ADULT, f"{ENC_DAY}T08:00:00Z")
    cases.append((dx, "bipolar-onset-day-before-encounter", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms2-bipolar-same-day")
    c.condition(BIPOLAR, f"{ENC_DAY}T08:00:00Z")
    cases.append((dx, "bipolar-onset-same-day", c, _counts(1, 1, 0, 0, 0)))

    # Denominator Exceptions: screening cancelled with a reason, issued during the encounter day.
    c = base("cms2-declined")
    cancelled(c, ADULT, f"{ENC_DAY}T23:00:00Z", DECLINED)
    cases.append((ex, "adult-screening-declined-same-day", c, _counts(1, 1, 0, 0, 1)))
    c = base("cms2-medical-reason")
    cancelled(c, ADOLESCENT, f"{ENC_DAY}T10:00:00Z", MEDICAL_REASON)
    cases.append((ex, "adolescent-screening-medical-reason", c, _counts(1, 1, 0, 0, 1)))
    c = base("cms2-declined-next-day")
    cancelled(c, ADULT, "2026-03-11T00:10:00Z", DECLINED)
    cases.append((ex, "declined-issued-next-day", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-declined-but-screened")
    cancelled(c, ADULT, f"{ENC_DAY}T10:00:00Z", DECLINED)
    screen(c, ADULT, "2026-03-01T08:00:00Z", value=POSITIVE)
    cases.append((ex, "declined-but-adult-screening-exists", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms2-other-reason")
    cancelled(c, ADULT, f"{ENC_DAY}T10:00:00Z", NEGATIVE)
    cases.append((ex, "cancelled-without-listed-reason", c, _counts(1, 1, 0, 0, 0)))
    for definition, name, case, groups in cases:
        write_case("CMS2", definition, name, case.bundle("CMS2", URL, groups))


if __name__ == "__main__":
    main()
