"""CMS22 cases: python -m tests.screening.measures.make.cms22 (from the repository root).

Episode-based: the expected counts are numbers of qualifying encounters. Expectations come from
CMS22FHIRPCSBPScreeningFollowUp 0.3.000 read literally.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    JSON,
    LOINC,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/CMS22FHIRPCSBPScreeningFollowUp"
CMS = "CMS22"
ENC = code_in("2.16.840.1.113883.3.600.1920")
HTN = code_in("2.16.840.1.113883.3.600.263", "icd-10")
FOLLOW_UP_4_WEEKS = code_in("2.16.840.1.113883.3.526.3.1578")  # also in the 6-month set
FOLLOW_UP_6_MONTHS = (SNOMED, "183624006")  # only in the 6-month set
NONPHARM = code_in("2.16.840.1.113883.3.526.3.1581")
LAB = code_in("2.16.840.1.113883.3.600.1482")
REFERRAL = code_in("2.16.840.1.113883.3.526.3.1580")
ELEVATED_FINDING = code_in("2.16.840.1.113762.1.4.1047.514")
PHARM = code_in("2.16.840.1.113883.3.526.1577")
DECLINED = code_in("2.16.840.1.113883.3.526.3.1582")
MEDICAL_REASON = code_in("2.16.840.1.113883.3.526.3.1007")
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
QICORE = "http://hl7.org/fhir/us/qicore/StructureDefinition/"
BP_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"
DAY = "2026-04-01"
START = f"{DAY}T09:00:00Z"
END = f"{DAY}T09:30:00Z"
IN_VISIT = f"{DAY}T09:10:00Z"

Groups = list[tuple[str, dict[str, int]]]
Cases = list[tuple[str, str, Case, Groups]]


def _counts(ipp: int, denex: int = 0, numer: int = 0, excep: int = 0) -> Groups:
    return [
        (
            "Group_1",
            {
                "initial-population": ipp,
                "denominator": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": excep,
            },
        )
    ]


def base(pid: str, birth: str = "1980-05-05") -> Case:
    case = Case(pid, birth=birth, sex=MALE)
    case.encounter(ENC, START, END)
    return case


def bp(case: Case, when: str, systolic: float, diastolic: float, status: str = "final") -> JSON:
    def q(v: float) -> JSON:
        return {"value": v, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}

    return case.observation(
        (LOINC, "85354-9"),
        when,
        category="vital-signs",
        status=status,
        meta={"profile": [BP_PROFILE]},
        component=[
            {"code": cc(LOINC, "8480-6"), "valueQuantity": q(systolic)},
            {"code": cc(LOINC, "8462-4"), "valueQuantity": q(diastolic)},
        ],
    )


def order(case: Case, code: tuple[str, str], when: str = IN_VISIT, **more: Any) -> JSON:
    fields: JSON = {"status": "active", "intent": "order", "code": cc(*code), "authoredOn": when}
    fields.update(more)
    return case.add("ServiceRequest", **fields)


def declined(case: Case, code: tuple[str, str], status: str = "completed") -> JSON:
    return order(
        case,
        code,
        status=status,
        doNotPerform=True,
        extension=[
            {"url": QICORE + "qicore-doNotPerformReason", "valueCodeableConcept": cc(*DECLINED)}
        ],
    )


def referral(case: Case, reason: bool = True) -> JSON:
    more: dict[str, Any] = {"reasonCode": [cc(*ELEVATED_FINDING)]} if reason else {}
    return order(case, REFERRAL, **more)


def population_cases() -> Cases:
    out: Cases = []
    ip = "Initial Population"
    out.append((ip, "age-18-on-first-day", base("cms22-age-18", "2008-01-01"), _counts(1)))
    out.append((ip, "age-17-on-first-day", base("cms22-age-17", "2008-01-02"), _counts(0)))
    c = Case("cms22-virtual", birth="1980-05-05", sex=MALE)
    enc = c.encounter(ENC, START, END)
    enc["class"] = {"system": ACT, "code": "VR"}
    out.append((ip, "virtual-encounter", c, _counts(0)))
    c = Case("cms22-in-progress", birth="1980-05-05", sex=MALE)
    c.encounter(ENC, START, END, status="in-progress")
    out.append((ip, "encounter-not-finished", c, _counts(0)))
    c = Case("cms22-crosses-year", birth="1980-05-05", sex=MALE)
    c.encounter(ENC, "2026-12-31T23:00:00Z", "2027-01-01T01:00:00Z")
    out.append((ip, "encounter-ends-after-period", c, _counts(0)))
    c = base("cms22-two-visits")
    c.encounter(ENC, "2026-09-01T09:00:00Z", "2026-09-01T09:30:00Z")
    bp(c, IN_VISIT, 118, 76)
    out.append((ip, "two-encounters-one-normal-reading", c, _counts(2, numer=1)))
    d = "Denominator Exclusions"
    c = base("cms22-htn")
    c.condition(HTN, "2020-01-01T00:00:00Z")
    out.append((d, "hypertension-on-problem-list", c, _counts(1, denex=1)))
    c = base("cms22-htn-dx")
    c.condition(HTN, "2020-01-01T00:00:00Z", category="encounter-diagnosis")
    out.append((d, "hypertension-encounter-diagnosis-only", c, _counts(1)))
    c = base("cms22-htn-same-day")
    c.condition(HTN, f"{DAY}T20:00:00Z")
    out.append((d, "hypertension-onset-later-same-day", c, _counts(1, denex=1)))
    c = base("cms22-htn-next-day")
    c.condition(HTN, "2026-04-02T08:00:00Z")
    out.append((d, "hypertension-onset-next-day", c, _counts(1)))
    return out


def numerator_cases() -> Cases:
    out: Cases = []
    n = "Numerator"
    c = base("cms22-normal")
    bp(c, IN_VISIT, 119, 79)
    out.append((n, "normal-119-79", c, _counts(1, numer=1)))
    c = base("cms22-after-visit")
    bp(c, f"{DAY}T09:45:00Z", 119, 79)
    out.append((n, "normal-reading-after-encounter-end", c, _counts(1)))
    c = base("cms22-prelim")
    bp(c, IN_VISIT, 110, 70, status="preliminary")
    out.append((n, "normal-reading-preliminary", c, _counts(1)))
    c = base("cms22-elevated-none")
    bp(c, IN_VISIT, 120, 79)
    out.append((n, "elevated-120-79-no-follow-up", c, _counts(1)))
    c = base("cms22-elevated-rescreen")
    bp(c, IN_VISIT, 129, 79)
    order(c, FOLLOW_UP_6_MONTHS)
    order(c, NONPHARM)
    out.append((n, "elevated-rescreen-and-lifestyle", c, _counts(1, numer=1)))
    c = base("cms22-elevated-rescreen-only")
    bp(c, IN_VISIT, 129, 79)
    order(c, FOLLOW_UP_6_MONTHS)
    out.append((n, "elevated-rescreen-without-lifestyle", c, _counts(1)))
    c = base("cms22-elevated-referral")
    bp(c, IN_VISIT, 125, 75)
    referral(c)
    out.append((n, "elevated-referral-for-elevated-bp", c, _counts(1, numer=1)))
    c = base("cms22-elevated-referral-no-reason")
    bp(c, IN_VISIT, 125, 75)
    referral(c, reason=False)
    out.append((n, "elevated-referral-without-reason", c, _counts(1)))
    c = base("cms22-first-80")
    bp(c, IN_VISIT, 119, 80)
    out.append((n, "first-hypertensive-dbp-80-no-follow-up", c, _counts(1)))
    c = base("cms22-first-130")
    bp(c, IN_VISIT, 130, 70)
    order(c, FOLLOW_UP_4_WEEKS)
    order(c, NONPHARM, when="2026-02-01T09:00:00Z")
    out.append((n, "first-hypertensive-rescreen-4-weeks-and-lifestyle", c, _counts(1, numer=1)))
    # Second readings: a hypertensive reading 1 year or less before the encounter start.
    c = base("cms22-second-140-referral")
    bp(c, "2025-06-01T09:00:00Z", 150, 95)
    bp(c, IN_VISIT, 150, 95)
    referral(c)
    out.append((n, "second-140-referral", c, _counts(1, numer=1)))
    c = base("cms22-second-140-first-orders")
    bp(c, "2025-04-01T09:00:00Z", 150, 95)
    bp(c, IN_VISIT, 150, 95)
    order(c, FOLLOW_UP_4_WEEKS)
    order(c, NONPHARM)
    out.append((n, "prior-reading-exactly-1-year-before-makes-second", c, _counts(1)))
    c = base("cms22-first-140-first-orders")
    bp(c, "2025-04-01T08:59:00Z", 150, 95)
    bp(c, IN_VISIT, 150, 95)
    order(c, FOLLOW_UP_4_WEEKS)
    order(c, NONPHARM)
    out.append((n, "prior-reading-over-1-year-before-stays-first", c, _counts(1, numer=1)))
    c = base("cms22-second-140-full")
    bp(c, "2025-06-01T09:00:00Z", 150, 95)
    bp(c, IN_VISIT, 150, 95)
    order(c, FOLLOW_UP_4_WEEKS)
    order(c, NONPHARM)
    order(c, LAB)
    c.add(
        "MedicationRequest",
        status="active",
        intent="order",
        medicationCodeableConcept=cc(*PHARM),
        authoredOn=IN_VISIT,
    )
    out.append((n, "second-140-rescreen-lab-lifestyle-medication", c, _counts(1, numer=1)))
    c = base("cms22-second-130")
    bp(c, "2025-10-01T09:00:00Z", 135, 85)
    bp(c, IN_VISIT, 135, 85)
    order(c, FOLLOW_UP_6_MONTHS)
    order(c, LAB, when="2026-01-15T09:00:00Z")
    order(c, NONPHARM, when="2026-01-15T09:00:00Z")
    out.append((n, "second-130-rescreen-lab-lifestyle", c, _counts(1, numer=1)))
    return out


def exception_cases() -> Cases:
    out: Cases = []
    x = "Denominator Exceptions"

    def cancelled(case: Case, reason: tuple[str, str], issued: str) -> None:
        case.add(
            "Observation",
            status="cancelled",
            code=cc(LOINC, "85354-9"),
            issued=issued,
            extension=[
                {"url": QICORE + "qicore-notDoneReason", "valueCodeableConcept": cc(*reason)}
            ],
        )

    c = base("cms22-bp-declined")
    cancelled(c, DECLINED, f"{DAY}T09:15:00Z")
    out.append((x, "blood-pressure-declined-same-day", c, _counts(1, excep=1)))
    c = base("cms22-bp-medical-next-day")
    cancelled(c, MEDICAL_REASON, "2026-04-02T09:15:00Z")
    out.append((x, "blood-pressure-medical-reason-next-day", c, _counts(1)))
    c = base("cms22-bp-medical")
    cancelled(c, MEDICAL_REASON, f"{DAY}T23:00:00Z")
    out.append((x, "blood-pressure-medical-reason-same-day", c, _counts(1, excep=1)))
    c = base("cms22-elevated-declined")
    bp(c, IN_VISIT, 125, 75)
    declined(c, REFERRAL)
    out.append((x, "elevated-referral-declined", c, _counts(1, excep=1)))
    c = base("cms22-elevated-declined-active")
    bp(c, IN_VISIT, 125, 75)
    declined(c, REFERRAL, status="active")
    out.append((x, "elevated-referral-declined-not-completed", c, _counts(1)))
    c = base("cms22-second-140-med-declined")
    bp(c, "2025-06-01T09:00:00Z", 150, 95)
    bp(c, IN_VISIT, 150, 95)
    c.add(
        "MedicationRequest",
        status="completed",
        intent="order",
        doNotPerform=True,
        medicationCodeableConcept=cc(*PHARM),
        authoredOn=IN_VISIT,
    )
    out.append((x, "second-140-medication-not-ordered", c, _counts(1, excep=1)))
    c = base("cms22-normal-and-declined")
    bp(c, IN_VISIT, 110, 70)
    cancelled(c, DECLINED, f"{DAY}T09:15:00Z")
    out.append((x, "numerator-met-exception-not-counted", c, _counts(1, numer=1)))
    return out


def second_reading_cases() -> Cases:
    """Second-reader cases: literal paths the first cases did not pin."""
    out: Cases = []
    d, n, x = "Denominator Exclusions", "Numerator", "Denominator Exceptions"
    # isHealthConcern(): category ~ "health-concern" from the US Core condition-category system.
    c = base("cms22-htn-health-concern")
    c.condition(HTN, "2020-01-01T00:00:00Z")["category"] = [cc(US_CORE_CATEGORY, "health-concern")]
    out.append((d, "hypertension-health-concern", c, _counts(1, denex=1)))
    # The same code under the HL7 condition-category system is not equivalent to the CQL code.
    c = base("cms22-htn-health-concern-hl7")
    c.condition(HTN, "2020-01-01T00:00:00Z", category="health-concern")
    out.append((d, "hypertension-health-concern-other-system", c, _counts(1)))
    # "Encounter with First Hypertensive Reading ...": its Last(...) has no status filter.
    c = base("cms22-first-preliminary")
    bp(c, IN_VISIT, 135, 85, status="preliminary")
    order(c, FOLLOW_UP_4_WEEKS)
    order(c, NONPHARM)
    out.append((n, "first-hypertensive-preliminary-reading-counts", c, _counts(1, numer=1)))
    # `exists "Encounter with Hypertensive Reading Within Year Prior"` is patient-level: the
    # second encounter's own prior reading (2026-08-15) is normal, yet it is a ">= 140/90 second
    # reading" because the first encounter is in that set, so its declined antihypertensive
    # (MedicationNotRequested, completed) is an exception. It is also a first reading (the
    # `except` removes only encounters in the set), whose declines do not include medication.
    c = Case("cms22-second-patient-level", birth="1980-05-05", sex=MALE)
    c.encounter(ENC, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    c.encounter(ENC, "2026-09-01T09:00:00Z", "2026-09-01T09:30:00Z")
    bp(c, "2025-06-01T09:00:00Z", 150, 95)
    bp(c, "2026-03-01T09:10:00Z", 150, 95)
    bp(c, "2026-08-15T09:00:00Z", 118, 76)
    bp(c, "2026-09-01T09:10:00Z", 150, 95)
    c.add(
        "MedicationRequest",
        status="completed",
        intent="order",
        doNotPerform=True,
        medicationCodeableConcept=cc(*PHARM),
        authoredOn="2026-09-01T09:20:00Z",
    )
    out.append((x, "second-140-prior-from-other-encounter", c, _counts(2, excep=1)))
    # "Laboratory Test or ECG for Hypertension Not Ordered" has no status test.
    c = base("cms22-second-130-ekg-declined")
    bp(c, "2025-10-01T09:00:00Z", 135, 85)
    bp(c, IN_VISIT, 135, 85)
    declined(c, (LOINC, "34534-8"), status="active")
    out.append((x, "second-130-ekg-declined-any-status", c, _counts(1, excep=1)))
    return out


def main() -> None:
    for definition, name, case, groups in (
        population_cases() + numerator_cases() + exception_cases() + second_reading_cases()
    ):
        write_case(CMS, definition, name, case.bundle(CMS, URL, groups))


if __name__ == "__main__":
    main()
