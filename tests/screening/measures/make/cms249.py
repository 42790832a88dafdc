"""CMS249 cases: python -m tests.screening.measures.make.cms249 (from the repository root).

Expected populations come from reading the CQL (AppropriateDXAScansForWomenUnder65FHIR 0.2.001);
the measurement period is 2026. Inverse measure: the numerator is a DXA order.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    CPT,
    FEMALE,
    LOINC,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/AppropriateDXAScansForWomenUnder65FHIR"
GROUP = "66460da2a7a1805d3b737654"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
UNLISTED_PREVENTIVE = (CPT, "99429")
DXA = code_in("2.16.840.1.113883.3.464.1003.113.12.1051")
OSTEOPENIA = code_in("2.16.840.1.113883.3.464.1003.113.12.1049")
OSTEO_FRACTURE = code_in("2.16.840.1.113883.3.464.1003.113.12.1050")
TYPE1 = code_in("2.16.840.1.113883.3.464.1003.103.12.1020")
GASTRIC_BYPASS = code_in("2.16.840.1.113883.3.464.1003.198.12.1050")
AROMATASE = code_in("2.16.840.1.113883.3.464.1003.196.12.1265", "rxnorm")
GLUCOCORTICOID = code_in("2.16.840.1.113883.3.464.1003.196.12.1266", "rxnorm")
PARENT_FRACTURE = code_in("2.16.840.1.113883.3.464.1003.113.12.1040")
CHEMO = code_in("2.16.840.1.113883.3.526.3.485")
KIDNEY_TRANSPLANT = code_in("2.16.840.1.113883.3.464.1003.109.12.1012")
OOPH_RIGHT = code_in("2.16.840.1.113883.3.464.1003.1032")
OOPH_LEFT = code_in("2.16.840.1.113883.3.464.1003.1028")
OOPH_UNSPECIFIED = code_in("2.16.840.1.113883.3.464.1003.1035")
BMI = (LOINC, "39156-5")
DRINKS = (LOINC, "74013-4")
FRAX = (LOINC, "90265-0")
OSIRIS = (LOINC, "98133-2")
ORAI = (LOINC, "98139-9")
OST = (LOINC, "98146-4")
UCUM = "http://unitsofmeasure.org"
CODES = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "numerator",
    "numerator-exclusion",
)
OUT = (0, 0, 0, 0, 0)


def _counts(*values: int) -> list[tuple[str, dict[str, int]]]:
    """(ipp, denom, denex, numer, numex); (1,) is shorthand for IPP and denominator only."""
    full = (1, 1, 0, 0, 0) if values == (1,) else values
    return [(GROUP, dict(zip(CODES, full, strict=True)))]


def base(pid: str, birth: str = "1970-05-05", visit: bool = True, **kw: Any) -> Case:
    case = Case(pid, birth=birth, **kw)
    if visit:
        case.encounter(OFFICE, "2026-02-01T09:00:00Z", "2026-02-01T09:30:00Z")
    return case


def dxa(case: Case, authored: str = "2026-03-01T10:00:00Z", **more: Any) -> None:
    fields: dict[str, Any] = {"status": "active", "intent": "order", "code": cc(*DXA)}
    fields.update(more)
    case.add("ServiceRequest", authoredOn=authored, **fields)


def qty(value: float, unit: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value}
    if unit is not None:
        out.update(unit=unit, code=unit, system=UCUM)
    return out


def assessment(
    case: Case, code: tuple[str, str], when: str, survey: bool = True, **value: Any
) -> None:
    case.observation(code, when, category="survey" if survey else None, **value)


def main() -> None:
    cases: list[tuple[str, str, Case, list[tuple[str, dict[str, int]]]]] = []
    ip, num, dx, nx = (
        "Initial Population",
        "Numerator",
        "Denominator Exclusions",
        "Numerator Exclusion",
    )

    # Initial Population: ages 50-63 on Jan 1, Patient.gender female, a performed visit.
    c = base("cms249-age50", birth="1976-01-01")
    cases.append((ip, "age-50-birthday-on-first-day", c, _counts(1)))
    c = base("cms249-age49", birth="1976-01-02")
    cases.append((ip, "age-49-on-first-day", c, _counts(*OUT)))
    c = base("cms249-age63", birth="1962-01-02")
    dxa(c)
    cases.append((ip, "age-63-on-first-day-with-dxa", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-age64", birth="1962-01-01")
    dxa(c)
    cases.append((ip, "age-64-on-first-day", c, _counts(*OUT)))
    c = base("cms249-gender-male", sex=FEMALE, gender="male")
    cases.append((ip, "gender-male-sex-extension-female", c, _counts(*OUT)))
    c = base("cms249-gender-only", sex=None, gender="female")
    cases.append((ip, "gender-female-no-sex-extension", c, _counts(1)))
    c = base("cms249-99429", visit=False)
    c.encounter(UNLISTED_PREVENTIVE, "2026-06-01T09:00:00Z")
    cases.append((ip, "unlisted-preventive-99429-visit", c, _counts(1)))
    c = base("cms249-arrived", visit=False)
    c.encounter(OFFICE, "2026-06-01T09:00:00Z", status="arrived")
    cases.append((ip, "visit-arrived-counts-in-2024-status", c, _counts(1)))
    c = base("cms249-cancelled", visit=False)
    c.encounter(OFFICE, "2026-06-01T09:00:00Z", status="cancelled")
    cases.append((ip, "visit-cancelled", c, _counts(*OUT)))
    c = base("cms249-visit-2025", visit=False)
    c.encounter(OFFICE, "2025-12-31T09:00:00Z")
    cases.append((ip, "visit-before-period", c, _counts(*OUT)))

    # Numerator: a DXA order (active/completed, intent order) authored during the period.
    c = base("cms249-dxa-jan1")
    dxa(c, "2026-01-01T00:00:00Z")
    cases.append((num, "dxa-order-first-instant", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-dxa-2025")
    dxa(c, "2025-12-31T23:59:59Z")
    cases.append((num, "dxa-order-last-second-before-period", c, _counts(1)))
    c = base("cms249-dxa-dec31")
    dxa(c, "2026-12-31T23:00:00Z", status="completed")
    cases.append((num, "dxa-order-completed-last-day", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-dxa-draft")
    dxa(c, status="draft")
    cases.append((num, "dxa-order-draft", c, _counts(1)))
    c = base("cms249-dxa-plan")
    dxa(c, intent="plan")
    cases.append((num, "dxa-order-intent-plan", c, _counts(1)))

    # Denominator Exclusions.
    c = base("cms249-bmi20")
    c.observation(
        BMI, "2026-04-01T09:00:00Z", category="vital-signs", valueQuantity=qty(20, "kg/m2")
    )
    dxa(c)
    cases.append((dx, "first-bmi-20", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-bmi20-1")
    c.observation(
        BMI, "2026-04-01T09:00:00Z", category="vital-signs", valueQuantity=qty(20.1, "kg/m2")
    )
    dxa(c)
    cases.append((dx, "first-bmi-20-1", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-bmi-first-high")
    c.observation(
        BMI, "2026-02-01T09:00:00Z", category="vital-signs", valueQuantity=qty(25, "kg/m2")
    )
    c.observation(
        BMI, "2026-08-01T09:00:00Z", category="vital-signs", valueQuantity=qty(19, "kg/m2")
    )
    cases.append((dx, "later-low-bmi-but-first-is-25", c, _counts(1)))
    c = base("cms249-bmi-2025")
    c.observation(
        BMI, "2025-12-31T09:00:00Z", category="vital-signs", valueQuantity=qty(18, "kg/m2")
    )
    cases.append((dx, "low-bmi-before-period", c, _counts(1)))
    c = base("cms249-drinks3")
    assessment(c, DRINKS, "2026-05-01T09:00:00Z", valueQuantity=qty(3, "{drinks}/d"))
    cases.append((dx, "three-drinks-per-day", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-drinks2")
    assessment(c, DRINKS, "2026-05-01T09:00:00Z", valueQuantity=qty(2, "{drinks}/d"))
    cases.append((dx, "two-drinks-per-day", c, _counts(1)))
    c = base("cms249-drinks-nosurvey")
    assessment(c, DRINKS, "2026-05-01T09:00:00Z", survey=False, valueQuantity=qty(4, "{drinks}/d"))
    cases.append((dx, "drinks-without-survey-category", c, _counts(1)))
    c = base("cms249-osteopenia-2025")
    c.condition(OSTEOPENIA, "2025-12-31T12:00:00Z")
    cases.append((dx, "osteopenia-onset-before-period", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-osteopenia-2026")
    c.condition(OSTEOPENIA, "2026-01-01T00:00:00Z")
    cases.append((dx, "osteopenia-onset-at-period-start", c, _counts(1)))
    c = base("cms249-fracture-dec31")
    c.condition(OSTEO_FRACTURE, "2026-12-31T12:00:00Z")
    cases.append((dx, "osteoporosis-fracture-onset-last-day", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-fracture-2027")
    c.condition(OSTEO_FRACTURE, "2027-01-01T00:00:00Z")
    cases.append((dx, "osteoporosis-fracture-onset-after-period", c, _counts(1)))
    c = base("cms249-t1dm")
    c.condition(TYPE1, "2001-01-01", category="encounter-diagnosis")
    cases.append((dx, "type-1-diabetes-any-category", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-bypass")
    c.procedure(GASTRIC_BYPASS, "2025-12-31T10:00:00Z")
    cases.append((dx, "gastric-bypass-before-period", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-bypass-2026")
    c.procedure(GASTRIC_BYPASS, "2026-01-02T10:00:00Z")
    cases.append((dx, "gastric-bypass-in-period", c, _counts(1)))
    c = base("cms249-aromatase")
    c.add(
        "MedicationRequest",
        status="completed",
        intent="order",
        medicationCodeableConcept=cc(*AROMATASE),
        authoredOn="2025-06-01T10:00:00Z",
    )
    cases.append((dx, "aromatase-inhibitor-ordered-before-period", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-aromatase-2026")
    c.add(
        "MedicationRequest",
        status="completed",
        intent="order",
        medicationCodeableConcept=cc(*AROMATASE),
        authoredOn="2026-06-01T10:00:00Z",
    )
    cases.append((dx, "aromatase-inhibitor-ordered-in-period", c, _counts(1)))
    c = base("cms249-parent-fracture")
    assessment(c, PARENT_FRACTURE, "2024-03-01T10:00:00Z")
    cases.append((dx, "parent-hip-fracture-history", c, _counts(1, 1, 1, 0, 0)))
    for days, want in ((90, 1), (89, 0)):
        c = base(f"cms249-steroid-{days}")
        c.add(
            "MedicationRequest",
            status="active",
            intent="order",
            medicationCodeableConcept=cc(*GLUCOCORTICOID),
            authoredOn="2026-01-01T10:00:00Z",
            dispenseRequest={
                "expectedSupplyDuration": {
                    "value": days,
                    "unit": "days",
                    "system": UCUM,
                    "code": "d",
                }
            },
        )
        cases.append((dx, f"glucocorticoid-{days}-days", c, _counts(1, 1, want, 0, 0)))
    # 89 days from Jan 1, plus a request whose medicationRequestPeriod() (an Interval<Date>)
    # starts on Dec 31 / Jan 1 of the next year: ToDateTime(Date) is midnight, so Dec 31
    # starts before end of "Measurement Period" and adds its one day inside it (90 in all).
    for second, name, want in (
        ("2026-12-31T10:00:00Z", "starting-last-day", 1),
        ("2027-01-01T10:00:00Z", "starting-day-after-period", 0),
    ):
        c = base(f"cms249-steroid-89-{name}")
        for authored, days in (("2026-01-01T10:00:00Z", 89), (second, 30)):
            c.add(
                "MedicationRequest",
                status="active",
                intent="order",
                medicationCodeableConcept=cc(*GLUCOCORTICOID),
                authoredOn=authored,
                dispenseRequest={
                    "expectedSupplyDuration": {
                        "value": days,
                        "unit": "days",
                        "system": UCUM,
                        "code": "d",
                    }
                },
            )
        cases.append((dx, f"glucocorticoid-89-days-plus-one-{name}", c, _counts(1, 1, want, 0, 0)))
    c = base("cms249-chemo")
    c.procedure(CHEMO, "2019-05-01T10:00:00Z")
    cases.append((dx, "chemotherapy-in-history", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-kidney")
    c.procedure(KIDNEY_TRANSPLANT, "2026-12-31T10:00:00Z")
    cases.append((dx, "kidney-transplant-last-day", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-ooph-both")
    c.procedure(OOPH_RIGHT, "2015-01-01T10:00:00Z")
    c.procedure(OOPH_UNSPECIFIED, "2018-01-01T10:00:00Z", bodySite=[cc(SNOMED, "7771000")])
    cases.append((dx, "right-and-left-oophorectomy", c, _counts(1, 1, 1, 0, 0)))
    c = base("cms249-ooph-right")
    c.procedure(OOPH_RIGHT, "2015-01-01T10:00:00Z")
    c.procedure(OOPH_UNSPECIFIED, "2018-01-01T10:00:00Z")
    cases.append((dx, "right-oophorectomy-and-unsided", c, _counts(1)))

    # Numerator Exclusion: a risk assessment indicating risk before the first DXA order.
    c = base("cms249-frax84")
    assessment(c, FRAX, "2025-06-01T10:00:00Z", valueQuantity=qty(8.4, "%"))
    dxa(c)
    cases.append((nx, "frax-8-4-before-dxa", c, _counts(1, 1, 0, 1, 1)))
    c = base("cms249-frax83")
    assessment(c, FRAX, "2025-06-01T10:00:00Z", valueQuantity=qty(8.3, "%"))
    dxa(c)
    cases.append((nx, "frax-8-3-before-dxa", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-frax-after")
    assessment(c, FRAX, "2026-03-01T10:00:01Z", valueQuantity=qty(12, "%"))
    dxa(c, "2026-03-01T10:00:00Z")
    cases.append((nx, "frax-one-second-after-dxa-order", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-frax-first")
    assessment(c, FRAX, "2026-05-01T10:00:00Z", valueQuantity=qty(12, "%"))
    dxa(c, "2026-04-01T10:00:00Z")
    dxa(c, "2026-06-01T10:00:00Z")
    cases.append((nx, "frax-after-first-dxa-before-second", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-frax-nosurvey")
    assessment(c, FRAX, "2025-06-01T10:00:00Z", survey=False, valueQuantity=qty(12, "%"))
    dxa(c)
    cases.append((nx, "frax-without-survey-category", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-orai9")
    assessment(c, ORAI, "2026-01-15T10:00:00Z", valueInteger=9)
    dxa(c)
    cases.append((nx, "orai-9", c, _counts(1, 1, 0, 1, 1)))
    c = base("cms249-orai8")
    assessment(c, ORAI, "2026-01-15T10:00:00Z", valueInteger=8)
    dxa(c)
    cases.append((nx, "orai-8", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-ost19")
    assessment(c, OST, "2026-01-15T10:00:00Z", valueQuantity=qty(1.9, None))
    dxa(c)
    cases.append((nx, "ost-1-9", c, _counts(1, 1, 0, 1, 1)))
    c = base("cms249-ost20")
    assessment(c, OST, "2026-01-15T10:00:00Z", valueQuantity=qty(2.0, None))
    dxa(c)
    cases.append((nx, "ost-2-0", c, _counts(1, 1, 0, 1, 0)))
    c = base("cms249-osiris")
    assessment(c, OSIRIS, "2026-01-15T10:00:00Z", valueQuantity=qty(0.5, None))
    dxa(c)
    cases.append((nx, "osiris-0-5", c, _counts(1, 1, 0, 1, 1)))
    c = base("cms249-frax-nodxa")
    assessment(c, FRAX, "2025-06-01T10:00:00Z", valueQuantity=qty(20, "%"))
    cases.append((nx, "frax-without-dxa-order", c, _counts(1)))

    for definition, name, case, groups in cases:
        write_case("CMS249", definition, name, case.bundle("CMS249", URL, groups))


if __name__ == "__main__":
    main()
