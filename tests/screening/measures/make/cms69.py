"""CMS69 cases: python -m tests.screening.measures.make.cms69 (from the repository root)."""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import LOINC, Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/CMS69FHIRPCSBMIScreenAndFollowUp"
BMI_ENC = code_in("2.16.840.1.113883.3.600.1.1751")
FOLLOW_ABOVE = code_in("2.16.840.1.113883.3.600.1.1525")
FOLLOW_BELOW = code_in("2.16.840.1.113883.3.600.1.1528")
REFERRAL = code_in("2.16.840.1.113883.3.600.1.1527")
MED_ABOVE = code_in("2.16.840.1.113883.3.526.3.1561", "rxnorm")
OBESE = code_in("2.16.840.1.113762.1.4.1047.502")
UNDERWEIGHT = code_in("2.16.840.1.113883.3.526.3.1563")
PREGNANCY = code_in("2.16.840.1.113883.3.600.1.1623")
MEDICAL_REASON = code_in("2.16.840.1.113883.3.526.3.1007")
PATIENT_DECLINED = code_in("2.16.840.1.113883.3.526.3.1582")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
BMI = (LOINC, "39156-5")
NOT_DONE_REASON = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
DO_NOT_PERFORM_REASON = (
    "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerformReason"
)
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
DAY = "2026-03-10"
BIRTH = "1980-05-05"


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


def base(pid: str, birth: str = BIRTH, day: str = DAY, **more: Any) -> Case:
    case = Case(pid, birth=birth)
    case.encounter(BMI_ENC, f"{day}T09:00:00Z", f"{day}T09:30:00Z", **more)
    return case


def bmi(case: Case, value: float, when: str = f"{DAY}T09:10:00Z", **more: Any) -> None:
    quantity = {"value": value, "unit": "kg/m2", "system": "http://unitsofmeasure.org"}
    quantity["code"] = "kg/m2"
    case.observation(BMI, when, category="vital-signs", valueQuantity=quantity, **more)


def reason(code: tuple[str, str]) -> list[dict[str, Any]]:
    return [cc(*code)]


def request(case: Case, rtype: str, code: tuple[str, str], authored: str, **more: Any) -> None:
    key = "medicationCodeableConcept" if rtype == "MedicationRequest" else "code"
    fields: dict[str, Any] = {"status": "active", "intent": "order", key: cc(*code)}
    fields["authoredOn"] = authored
    fields.update(more)
    case.add(rtype, **fields)


def main() -> None:
    cases = []
    ip, nu, dx, ex = (
        "Initial Population",
        "Numerator",
        "Denominator Exclusions",
        "Denominator Exceptions",
    )
    # Initial Population: 18 on the day the qualifying encounter starts.
    c = base("cms69-age-18", birth="2008-03-10")
    cases.append((ip, "age-18-on-encounter-day", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-age-17", birth="2008-03-11")
    cases.append((ip, "age-17-birthday-after-encounter", c, _counts(0, 0, 0, 0, 0)))
    virtual = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"}
    c = Case("cms69-virtual", birth=BIRTH)
    c.encounter(BMI_ENC, f"{DAY}T09:00:00Z")["class"] = virtual
    cases.append((ip, "virtual-encounter", c, _counts(0, 0, 0, 0, 0)))
    c = Case("cms69-planned", birth=BIRTH)
    c.encounter(BMI_ENC, f"{DAY}T09:00:00Z", status="planned")
    cases.append((ip, "encounter-not-finished", c, _counts(0, 0, 0, 0, 0)))
    c = base("cms69-last-day", day="2026-12-31")
    bmi(c, 22, "2026-12-31T09:10:00Z")
    cases.append((ip, "encounter-and-normal-bmi-on-last-day", c, _counts(1, 1, 0, 1, 0)))
    c = Case("cms69-prior-year", birth=BIRTH)
    c.encounter(BMI_ENC, "2025-12-31T09:00:00Z")
    cases.append((ip, "encounter-in-prior-year", c, _counts(0, 0, 0, 0, 0)))

    # Numerator: normal BMI is 18.5 to < 25 with no high or low BMI in the period.
    c = base("cms69-18-5")
    bmi(c, 18.5)
    cases.append((nu, "bmi-18-5-normal", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-24-9")
    bmi(c, 24.9)
    cases.append((nu, "bmi-24-9-normal", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-25")
    bmi(c, 25)
    cases.append((nu, "bmi-25-high-without-follow-up", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-18-4")
    bmi(c, 18.4)
    cases.append((nu, "bmi-18-4-low-without-follow-up", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-normal-and-high")
    bmi(c, 22)
    bmi(c, 27, "2026-06-01T09:00:00Z")
    cases.append((nu, "normal-and-high-in-period", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-preliminary")
    bmi(c, 22, status="preliminary")
    cases.append((nu, "normal-bmi-preliminary", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-amended")
    bmi(c, 22, status="amended")
    cases.append((nu, "normal-bmi-amended", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-bmi-prior-year")
    bmi(c, 22, "2025-12-31T23:00:00Z")
    cases.append((nu, "normal-bmi-day-before-period", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-bmi-first-day")
    bmi(c, 22, "2026-01-01T00:00:00Z")
    cases.append((nu, "normal-bmi-first-day", c, _counts(1, 1, 0, 1, 0)))
    # High BMI follow-up.
    c = base("cms69-high-proc-reason")
    bmi(c, 30)
    c.procedure(FOLLOW_ABOVE, f"{DAY}T09:20:00Z", reasonCode=reason(OBESE))
    cases.append((nu, "high-procedure-with-obesity-reason", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-high-proc-condition")
    bmi(c, 30)
    c.condition(OBESE, "2024-01-01")
    c.procedure(FOLLOW_ABOVE, f"{DAY}T09:20:00Z")
    cases.append((nu, "high-procedure-with-obesity-condition", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-high-proc-ended")
    bmi(c, 30)
    c.condition(OBESE, "2024-01-01", clinical="resolved", abatement="2026-03-09")
    c.procedure(FOLLOW_ABOVE, f"{DAY}T09:20:00Z")
    cases.append((nu, "high-procedure-condition-ended-day-before", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-high-referral")
    bmi(c, 30)
    request(c, "ServiceRequest", REFERRAL, "2026-12-31T10:00:00Z", reasonCode=reason(OBESE))
    cases.append((nu, "high-referral-with-reason-last-day", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-high-referral-2025")
    bmi(c, 30)
    request(c, "ServiceRequest", REFERRAL, "2025-12-31T10:00:00Z", reasonCode=reason(OBESE))
    cases.append((nu, "high-referral-ordered-before-period", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-high-med-same-day")
    bmi(c, 30)
    c.condition(OBESE, f"{DAY}T08:00:00Z")
    request(c, "MedicationRequest", MED_ABOVE, f"{DAY}T09:20:00Z")
    cases.append((nu, "high-medication-condition-onset-same-day", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-high-med-later-onset")
    bmi(c, 30)
    c.condition(OBESE, "2026-03-11T08:00:00Z")
    request(c, "MedicationRequest", MED_ABOVE, f"{DAY}T09:20:00Z")
    cases.append((nu, "high-medication-condition-onset-day-after", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-high-med-enc-dx")
    bmi(c, 30)
    c.condition(OBESE, "2024-01-01", category="encounter-diagnosis")
    request(c, "MedicationRequest", MED_ABOVE, f"{DAY}T09:20:00Z")
    cases.append((nu, "high-medication-encounter-diagnosis-only", c, _counts(1, 1, 0, 0, 0)))
    # Low BMI follow-up.
    c = base("cms69-low-proc-reason")
    bmi(c, 17)
    c.procedure(FOLLOW_BELOW, f"{DAY}T09:20:00Z", reasonCode=reason(UNDERWEIGHT))
    cases.append((nu, "low-procedure-with-underweight-reason", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-low-proc-in-progress")
    bmi(c, 17)
    c.procedure(
        FOLLOW_BELOW, f"{DAY}T09:20:00Z", status="in-progress", reasonCode=reason(UNDERWEIGHT)
    )
    cases.append((nu, "low-procedure-reason-not-completed", c, _counts(1, 1, 0, 0, 0)))
    concern = [cc(US_CORE_CATEGORY, "health-concern")]
    c = base("cms69-low-order-concern")
    bmi(c, 17)
    c.condition(UNDERWEIGHT, "2025-06-01")["category"] = concern
    request(c, "ServiceRequest", FOLLOW_BELOW, f"{DAY}T09:20:00Z")
    cases.append((nu, "low-order-with-underweight-health-concern", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms69-low-order-problem")
    bmi(c, 17)
    c.condition(UNDERWEIGHT, "2025-06-01")
    request(c, "ServiceRequest", FOLLOW_BELOW, f"{DAY}T09:20:00Z")
    cases.append((nu, "low-order-with-underweight-problem-list-only", c, _counts(1, 1, 0, 0, 0)))

    # Denominator Exclusions.
    c = base("cms69-pregnant")
    c.condition(PREGNANCY, "2026-02-01")
    bmi(c, 30)
    cases.append((dx, "pregnancy-active-in-period", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms69-pregnancy-resolved")
    c.condition(PREGNANCY, "2025-05-01", clinical="resolved", abatement="2026-02-01")
    cases.append((dx, "pregnancy-not-active-status", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-pregnancy-future")
    c.condition(PREGNANCY, "2027-01-01")
    cases.append((dx, "pregnancy-onset-after-period", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    cases.append((dx, "hospice-encounter-in-period", c, _counts(1, 1, 1, 0, 0)))

    # Denominator Exceptions.
    declined = [{"url": NOT_DONE_REASON, "valueCodeableConcept": cc(*PATIENT_DECLINED)}]
    c = base("cms69-declined")
    c.add(
        "Observation",
        status="cancelled",
        code=cc(*BMI),
        effectiveDateTime=f"{DAY}T23:00:00Z",
        extension=declined,
    )
    cases.append((ex, "bmi-exam-declined-same-day", c, _counts(1, 1, 0, 0, 1)))
    c = base("cms69-declined-next-day")
    c.add(
        "Observation",
        status="cancelled",
        code=cc(*BMI),
        effectiveDateTime="2026-03-11T00:30:00Z",
        extension=declined,
    )
    cases.append((ex, "bmi-exam-declined-next-day", c, _counts(1, 1, 0, 0, 0)))
    refused = [{"url": DO_NOT_PERFORM_REASON, "valueCodeableConcept": cc(*MEDICAL_REASON)}]
    c = base("cms69-referral-not-requested")
    bmi(c, 30)
    request(
        c,
        "ServiceRequest",
        REFERRAL,
        f"{DAY}T10:00:00Z",
        status="completed",
        doNotPerform=True,
        extension=refused,
    )
    cases.append((ex, "referral-not-requested-medical-reason", c, _counts(1, 1, 0, 0, 1)))
    c = base("cms69-med-not-requested")
    bmi(c, 30)
    request(
        c,
        "MedicationRequest",
        MED_ABOVE,
        f"{DAY}T10:00:00Z",
        status="completed",
        doNotPerform=True,
        reasonCode=reason(MEDICAL_REASON),
    )
    cases.append((ex, "medication-not-requested-medical-reason", c, _counts(1, 1, 0, 0, 1)))
    c = base("cms69-med-not-requested-active")
    bmi(c, 30)
    request(
        c,
        "MedicationRequest",
        MED_ABOVE,
        f"{DAY}T10:00:00Z",
        doNotPerform=True,
        reasonCode=reason(MEDICAL_REASON),
    )
    cases.append((ex, "medication-not-requested-status-active", c, _counts(1, 1, 0, 0, 0)))
    c = base("cms69-med-not-requested-other-day")
    bmi(c, 30)
    request(
        c,
        "MedicationRequest",
        MED_ABOVE,
        "2026-03-11T10:00:00Z",
        status="completed",
        doNotPerform=True,
        reasonCode=reason(MEDICAL_REASON),
    )
    cases.append((ex, "medication-not-requested-next-day", c, _counts(1, 1, 0, 0, 0)))
    for definition, name, case, groups in cases:
        write_case("CMS69", definition, name, case.bundle("CMS69", URL, groups))


if __name__ == "__main__":
    main()
