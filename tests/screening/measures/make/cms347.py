"""CMS347 cases: python -m tests.screening.measures.make.cms347 (from the repository root).

Expected populations come from reading the CQL (StatinTherapyforthePreventionandTreatmentof
CardiovascularDiseaseFHIR 0.2.000); the measurement period is 2026.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import ICD10, LOINC, Case, cc, code_in, write_case

URL = "https://madie.cms.gov/Measure/StatinTherapyforthePreventionandTreatmentofCardiovascularDiseaseFHIR"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
MI = code_in("2.16.840.1.113883.3.526.3.403", "snomed")
PCI = code_in("2.16.840.1.113762.1.4.1045.67")
LDL = code_in("2.16.840.1.113883.3.526.3.1573", "loinc")
FH = code_in("2.16.840.1.113762.1.4.1047.100", "snomed")
DIABETES = code_in("2.16.840.1.113883.3.464.1003.103.12.1001", "snomed")
STATIN = code_in("2.16.840.1.113883.3.526.3.1575", "rxnorm")
BREASTFEEDING = code_in("2.16.840.1.113762.1.4.1047.73", "snomed")
RHABDO = code_in("2.16.840.1.113762.1.4.1047.102", "snomed")
ALLERGEN = code_in("2.16.840.1.113762.1.4.1110.42")
LIVER = code_in("2.16.840.1.113762.1.4.1047.42", "snomed")
ESRD = code_in("2.16.840.1.113883.3.526.3.353", "snomed")
MUSCLE = code_in("2.16.840.1.113762.1.4.1108.85", "snomed")
MEDICAL_REASON = code_in("2.16.840.1.113883.3.526.3.1007", "snomed")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
RISK = (LOINC, "99055-6")
RISK_GOFF = (LOINC, "79423-0")
NSTEMI = (ICD10, "I22.2")
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
UCUM = "http://unitsofmeasure.org"
ON = "2026-03-01T09:00:00Z"  # inside the qualifying visit
CODES = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "numerator",
    "denominator-exception",
)
GROUPS = (
    "64ef76a356d636294b157b96",
    "64ef76a356d636294b157b97",
    "64ef76a356d636294b157b98",
    "64ef76a356d636294b157b99",
)


def _counts(
    group: int | None, denex: int = 0, numer: int = 0, denexcep: int = 0, *, also: int | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Group `group` (1-4; `also` a second one) in the IPP with these outcomes; others all 0."""
    out = []
    for i, gid in enumerate(GROUPS, start=1):
        inside = i in (group, also)
        values = (1, 1, denex, numer, denexcep) if inside else (0, 0, 0, 0, 0)
        out.append((gid, dict(zip(CODES, values, strict=True))))
    return out


def base(pid: str, birth: str = "1970-05-05", visit: bool = True) -> Case:
    case = Case(pid, birth=birth)
    if visit:
        case.encounter(OFFICE, "2026-03-01T08:30:00Z", "2026-03-01T09:30:00Z")
    return case


def ascvd(pid: str, **kw: Any) -> Case:
    case = base(pid, **kw)
    case.condition(MI, "2020-01-01")
    return case


def ldl(case: Case, value: float, when: str = "2025-06-01", **more: Any) -> None:
    quantity = {"value": value, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}
    case.observation(LDL, when, category="laboratory", valueQuantity=quantity, **more)


def risk(
    case: Case, value: float, when: str = "2026-02-01", code: tuple[str, str] = RISK, **more: Any
) -> None:
    quantity = {"value": value, "unit": "%", "system": UCUM, "code": "%"}
    case.observation(code, when, valueQuantity=quantity, **more)


def statin(
    case: Case, authored: str, status: str = "active", intent: str = "order", **more: Any
) -> None:
    case.add(
        "MedicationRequest",
        status=status,
        intent=intent,
        medicationCodeableConcept=cc(*STATIN),
        authoredOn=authored,
        **more,
    )


def not_ordered(case: Case, authored: str, reason: bool = True) -> None:
    fields: dict[str, Any] = {
        "status": "completed",
        "intent": "order",
        "doNotPerform": True,
        "medicationCodeableConcept": cc(*STATIN),
        "authoredOn": authored,
    }
    if reason:
        fields["reasonCode"] = [cc(*MEDICAL_REASON)]
    case.add("MedicationRequest", **fields)


def allergy(case: Case, status: str = "active", **onset: Any) -> None:
    case.add(
        "AllergyIntolerance",
        clinicalStatus=cc(ALLERGY_CLINICAL, status),
        code=cc(*ALLERGEN),
        **onset,
    )


def main() -> None:
    cases: list[tuple[str, str, Case, list[tuple[str, dict[str, int]]]]] = []
    ip1, ip2, ip3, ip4 = (
        "Initial Population 1",
        "Initial Population 2",
        "Initial Population 3",
        "Initial Population 4",
    )

    # Initial Population 1: ASCVD diagnosis/procedure or I22.2, prevalence starting by Dec 31.
    cases.append((ip1, "mi-diagnosis-no-statin", ascvd("cms347-mi"), _counts(1)))
    c = base("cms347-mi-young", birth="2010-05-05")
    c.condition(MI, "2024-01-01")
    cases.append((ip1, "mi-diagnosis-any-age", c, _counts(1)))
    c = base("cms347-mi-dec31")
    c.condition(MI, "2026-12-31T23:00:00Z")
    cases.append((ip1, "mi-onset-on-last-day", c, _counts(1)))
    c = base("cms347-mi-2027")
    c.condition(MI, "2027-01-01T00:00:00Z")
    cases.append((ip1, "mi-onset-after-period", c, _counts(None)))
    c = base("cms347-mi-encdx")
    c.condition(MI, "2020-01-01", category="encounter-diagnosis")
    cases.append((ip1, "mi-encounter-diagnosis-category-only", c, _counts(None)))
    c = base("cms347-mi-concern")
    concern = c.condition(MI, "2020-01-01")
    concern["category"] = [cc(US_CORE_CATEGORY, "health-concern")]
    cases.append((ip1, "mi-health-concern", c, _counts(1)))
    c = base("cms347-pci")
    c.procedure(PCI, "2019-04-01T10:00:00Z")
    cases.append((ip1, "pci-procedure-completed", c, _counts(1)))
    c = base("cms347-pci-inprogress")
    c.procedure(PCI, "2019-04-01T10:00:00Z", status="in-progress")
    cases.append((ip1, "pci-procedure-not-completed", c, _counts(None)))
    c = base("cms347-nstemi")
    c.condition(NSTEMI, "2022-01-01")
    ldl(c, 200)
    cases.append((ip1, "subsequent-nstemi-i22-2-also-ldl-190", c, _counts(1, also=2)))
    c = ascvd("cms347-no-visit", visit=False)
    c.encounter(OFFICE, "2025-12-31T10:00:00Z")
    cases.append((ip1, "visit-only-before-period", c, _counts(None)))
    c = ascvd("cms347-visit-span", visit=False)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z")
    cases.append((ip1, "visit-starting-before-period", c, _counts(None)))
    c = ascvd("cms347-visit-arrived", visit=False)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="in-progress")
    cases.append((ip1, "visit-not-finished", c, _counts(None)))

    # Initial Population 2: ages 20-75 at the start, LDL >= 190 mg/dL or FH, without ASCVD.
    c = base("cms347-ldl-age20", birth="2006-01-01")
    ldl(c, 190)
    cases.append((ip2, "ldl-190-age-20-birthday-on-first-day", c, _counts(2)))
    c = base("cms347-ldl-age19", birth="2006-01-02")
    ldl(c, 190)
    cases.append((ip2, "ldl-190-age-19-on-first-day", c, _counts(None)))
    c = base("cms347-ldl-age75", birth="1950-01-02")
    ldl(c, 250)
    cases.append((ip2, "ldl-age-75-on-first-day", c, _counts(2)))
    c = base("cms347-ldl-age76", birth="1950-01-01")
    ldl(c, 250)
    cases.append((ip2, "ldl-age-76-on-first-day", c, _counts(None)))
    c = base("cms347-ldl-189")
    ldl(c, 189)
    cases.append((ip2, "ldl-189", c, _counts(None)))
    c = base("cms347-ldl-dec31")
    ldl(c, 195, when="2026-12-31T23:00:00Z")
    cases.append((ip2, "ldl-on-last-day", c, _counts(2)))
    c = base("cms347-ldl-2027")
    ldl(c, 195, when="2027-01-01T00:00:00Z")
    cases.append((ip2, "ldl-after-period", c, _counts(None)))
    c = base("cms347-ldl-prelim")
    ldl(c, 195, status="preliminary")
    cases.append((ip2, "ldl-preliminary", c, _counts(None)))
    c = base("cms347-ldl-appended")
    ldl(c, 195, status="appended")
    cases.append((ip2, "ldl-appended", c, _counts(2)))
    c = base("cms347-ldl-nounit")
    c.observation(LDL, "2025-06-01", valueQuantity={"value": 250})
    cases.append((ip2, "ldl-without-unit", c, _counts(None)))
    c = base("cms347-fh")
    c.condition(FH, "2000-01-01")
    cases.append((ip2, "familial-hypercholesterolemia", c, _counts(2)))
    c = ascvd("cms347-ldl-ascvd")
    ldl(c, 220)
    cases.append((ip2, "ldl-190-with-ascvd-is-group-1-only", c, _counts(1)))

    # Initial Population 3: ages 40-75 with diabetes overlapping the period, no higher group.
    c = base("cms347-dm-age40", birth="1986-01-01")
    c.condition(DIABETES, "2015-01-01")
    cases.append((ip3, "diabetes-age-40-birthday-on-first-day", c, _counts(3)))
    c = base("cms347-dm-age39", birth="1986-01-02")
    c.condition(DIABETES, "2015-01-01")
    cases.append((ip3, "diabetes-age-39-on-first-day", c, _counts(None)))
    c = base("cms347-dm-abated-2025")
    c.condition(DIABETES, "2015-01-01", clinical="resolved", abatement="2025-12-31")
    cases.append((ip3, "diabetes-abated-day-before-period", c, _counts(None)))
    c = base("cms347-dm-abated-2026")
    c.condition(DIABETES, "2015-01-01", clinical="resolved", abatement="2026-01-01")
    cases.append((ip3, "diabetes-abated-on-first-day", c, _counts(3)))
    c = base("cms347-dm-ldl")
    c.condition(DIABETES, "2015-01-01")
    ldl(c, 191)
    cases.append((ip3, "diabetes-with-ldl-190-is-group-2-only", c, _counts(2)))

    # Initial Population 4: ages 40-75, 10-year risk >= 20 % during the period, no other group.
    c = base("cms347-risk20")
    risk(c, 20)
    cases.append((ip4, "risk-20-percent", c, _counts(4)))
    c = base("cms347-risk19")
    risk(c, 19.9)
    cases.append((ip4, "risk-19-9-percent", c, _counts(None)))
    c = base("cms347-risk-goff-dec31")
    risk(c, 25, when="2026-12-31T22:00:00Z", code=RISK_GOFF)
    cases.append((ip4, "risk-pooled-cohort-on-last-day", c, _counts(4)))
    c = base("cms347-risk-2025")
    risk(c, 25, when="2025-12-31T22:00:00Z")
    cases.append((ip4, "risk-before-period", c, _counts(None)))
    c = base("cms347-risk-prelim")
    risk(c, 25, status="preliminary")
    cases.append((ip4, "risk-preliminary-still-counts", c, _counts(4)))
    c = base("cms347-risk-dm")
    risk(c, 25)
    c.condition(DIABETES, "2015-01-01")
    cases.append((ip4, "risk-with-diabetes-is-group-3-only", c, _counts(3)))
    c = base("cms347-risk-age39", birth="1986-01-02")
    risk(c, 25)
    cases.append((ip4, "risk-age-39-on-first-day", c, _counts(None)))

    # Numerator: a statin order authored during the period, or its bounds overlapping it.
    c = ascvd("cms347-statin-jan1")
    statin(c, "2026-01-01T00:00:00Z")
    cases.append(("Numerator", "statin-authored-first-day", c, _counts(1, numer=1)))
    c = ascvd("cms347-statin-dec31-2025")
    statin(c, "2025-12-31T23:00:00Z")
    cases.append(("Numerator", "statin-authored-day-before-period", c, _counts(1)))
    c = ascvd("cms347-statin-bounds")
    timing = {"repeat": {"boundsPeriod": {"start": "2025-12-01", "end": "2026-01-01"}}}
    statin(c, "2025-12-01T09:00:00Z", dosageInstruction=[{"timing": timing}])
    cases.append(("Numerator", "statin-bounds-reach-first-day", c, _counts(1, numer=1)))
    c = ascvd("cms347-statin-bounds-2025")
    timing = {"repeat": {"boundsPeriod": {"start": "2025-06-01", "end": "2025-12-31"}}}
    statin(c, "2025-06-01T09:00:00Z", dosageInstruction=[{"timing": timing}])
    cases.append(("Numerator", "statin-bounds-end-before-period", c, _counts(1)))
    c = base("cms347-statin-completed-g4")
    risk(c, 30)
    statin(c, "2026-12-31T20:00:00Z", status="completed")
    cases.append(("Numerator", "statin-completed-on-last-day-group-4", c, _counts(4, numer=1)))
    c = ascvd("cms347-statin-stopped")
    statin(c, "2026-04-01T00:00:00Z", status="stopped")
    cases.append(("Numerator", "statin-stopped", c, _counts(1)))
    c = ascvd("cms347-statin-plan")
    statin(c, "2026-04-01T00:00:00Z", intent="plan")
    cases.append(("Numerator", "statin-intent-plan", c, _counts(1)))

    # Denominator Exclusions: breastfeeding or rhabdomyolysis overlapping the period.
    dx = "Denominator Exclusions"
    c = ascvd("cms347-breastfeeding")
    c.condition(BREASTFEEDING, "2026-02-01")
    statin(c, "2026-03-01T09:00:00Z")
    cases.append((dx, "breastfeeding-with-statin", c, _counts(1, denex=1)))
    c = ascvd("cms347-rhabdo-2025")
    c.condition(RHABDO, "2025-06-01", clinical="resolved", abatement="2025-12-31")
    cases.append((dx, "rhabdomyolysis-resolved-before-period", c, _counts(1)))
    c = ascvd("cms347-rhabdo-2026")
    c.condition(RHABDO, "2025-06-01", clinical="resolved", abatement="2026-01-01")
    cases.append((dx, "rhabdomyolysis-resolved-on-first-day", c, _counts(1, denex=1)))

    # Denominator Exceptions.
    ex = "Denominator Exceptions"
    c = ascvd("cms347-allergy-2026")
    allergy(c, onsetDateTime="2026-05-01")
    cases.append((ex, "statin-allergy-onset-in-period", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-allergy-2020")
    allergy(c, onsetDateTime="2020-05-01")
    cases.append((ex, "statin-allergy-onset-before-period", c, _counts(1)))
    c = ascvd("cms347-allergy-period")
    allergy(c, onsetPeriod={"start": "2020-05-01"})
    cases.append((ex, "statin-allergy-open-onset-period", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-allergy-inactive")
    allergy(c, status="inactive", onsetDateTime="2026-05-01")
    cases.append((ex, "statin-allergy-inactive", c, _counts(1)))
    c = ascvd("cms347-allergy-statin")
    allergy(c, onsetDateTime="2026-05-01")
    statin(c, "2026-06-01T00:00:00Z")
    cases.append((ex, "statin-allergy-but-statin-ordered", c, _counts(1, numer=1)))
    c = ascvd("cms347-adverse-2026")
    c.add("AdverseEvent", actuality="actual", event=cc(*ALLERGEN), recordedDate="2026-12-31")
    cases.append((ex, "adverse-event-recorded-last-day", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-adverse-2025")
    c.add("AdverseEvent", actuality="actual", event=cc(*ALLERGEN), recordedDate="2025-12-31")
    cases.append((ex, "adverse-event-recorded-before-period", c, _counts(1)))
    c = ascvd("cms347-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    cases.append((ex, "hospice-encounter", c, _counts(1, denexcep=1)))
    c = base("cms347-liver")
    ldl(c, 200)
    c.condition(LIVER, "2024-01-01")
    cases.append((ex, "liver-disease-group-2", c, _counts(2, denexcep=1)))
    c = ascvd("cms347-esrd-encdx")
    c.condition(ESRD, "2024-01-01", category="encounter-diagnosis")
    cases.append((ex, "esrd-encounter-diagnosis-only", c, _counts(1)))
    c = ascvd("cms347-esrd")
    c.condition(ESRD, "2024-01-01")
    cases.append((ex, "esrd", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-muscle")
    c.condition(MUSCLE, "2026-11-01")
    cases.append((ex, "statin-muscle-symptoms", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-not-ordered")
    not_ordered(c, ON)
    cases.append((ex, "statin-not-ordered-medical-reason-during-visit", c, _counts(1, denexcep=1)))
    c = ascvd("cms347-not-ordered-after")
    not_ordered(c, "2026-03-01T10:00:00Z")
    cases.append((ex, "statin-not-ordered-after-visit-ended", c, _counts(1)))
    c = ascvd("cms347-not-ordered-noreason")
    not_ordered(c, ON, reason=False)
    cases.append((ex, "statin-not-ordered-without-reason", c, _counts(1)))

    for definition, name, case, groups in cases:
        write_case("CMS347", definition, name, case.bundle("CMS347", URL, groups))


if __name__ == "__main__":
    main()
