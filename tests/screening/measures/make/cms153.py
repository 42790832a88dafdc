"""CMS153 cases: python -m tests.screening.measures.make.cms153 (from the repository root).

The base patient is female (Patient.gender), born 2006-05-05 (20 at the end of 2026), with an
office visit in the period; each case adds the sign of sexual activity it needs.
"""

from __future__ import annotations

from typing import Any

from tests.screening.measures.builders import (
    ICD10,
    LOINC,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/ChlamydiaScreeninginWomenFHIR"
GROUP = "654a55d378418140875e358d"
V = "2.16.840.1.113883.3.464.1003."
OFFICE = code_in(V + "101.12.1001", "cpt")
HOSPICE_ENC = code_in(V + "1003")
PREGNANCY_TEST = (LOINC, "19080-1")
XRAY = (LOINC, "24533-2")
STI_LAB = (LOINC, "10705-2")
PREGNANCY_STUDY = (LOINC, "11615-2")
CHLAMYDIA = (LOINC, "14463-4")
SEX_PROCEDURE = code_in(V + "111.12.1017", "cpt")
SEX_DIAGNOSIS = (ICD10, "A34")
CONTRACEPTIVE = code_in(V + "196.12.1080")
ISOTRETINOIN = code_in(V + "196.12.1143")
PHENX = (LOINC, "64728-9")
YES = (SNOMED, "373066001")
NO = (SNOMED, "373067005")
Groups = list[tuple[str, dict[str, int]]]


def _counts(ipp: int, denex: int = 0, numer: int = 0) -> Groups:
    return [
        (
            GROUP,
            {
                "initial-population": ipp,
                "denominator": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


def order(case: Case, code: tuple[str, str], day: str, **more: Any) -> None:
    fields: dict[str, Any] = {"status": "active", "intent": "order", "code": cc(*code)}
    fields["authoredOn"] = f"{day}T10:00:00Z"
    fields.update(more)
    case.add("ServiceRequest", **fields)


def med(
    case: Case,
    code: tuple[str, str],
    day: str,
    *,
    status: str = "active",
    supply: int | None = None,
) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": cc(*code),
        "authoredOn": f"{day}T10:00:00Z",
    }
    if supply is not None:
        fields["dispenseRequest"] = {
            "expectedSupplyDuration": {
                "value": supply,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        }
    case.add("MedicationRequest", **fields)


def base(pid: str, birth: str = "2006-05-05", *, indicator: bool = True, **kw: Any) -> Case:
    case = Case(pid, birth=birth, **kw)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    if indicator:
        case.condition(SEX_DIAGNOSIS, "2025-02-01T00:00:00Z")
    return case


def main() -> None:
    cases: list[tuple[str, str, Case, Groups]] = []

    def add(definition: str, name: str, case: Case, groups: Groups) -> None:
        cases.append((definition, name, case, groups))

    ip = "Initial Population"
    add(ip, "age-16-on-last-day", base("cms153-age-16", birth="2010-12-31"), _counts(1))
    add(ip, "age-15-turns-16-next-year", base("cms153-age-15", birth="2011-01-01"), _counts(0))
    add(ip, "age-24", base("cms153-age-24", birth="2002-01-01"), _counts(1))
    add(ip, "age-25-on-last-day", base("cms153-age-25", birth="2001-12-31"), _counts(0))
    add(ip, "male-gender", base("cms153-male", sex=MALE), _counts(0))
    add(
        ip,
        "gender-female-no-sex-extension",
        base("cms153-gender-only", sex=None, gender="female"),
        _counts(1),
    )
    add(ip, "no-sexual-activity-indicator", base("cms153-none", indicator=False), _counts(0))
    c = Case("cms153-arrived", birth="2006-05-05")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="arrived")
    c.condition(SEX_DIAGNOSIS, "2025-02-01T00:00:00Z")
    add("Qualifying Encounters", "arrived-status-counts-2024", c, _counts(1))
    c = Case("cms153-visit-2025", birth="2006-05-05")
    c.encounter(OFFICE, "2025-12-31T09:00:00Z")
    c.condition(SEX_DIAGNOSIS, "2025-02-01T00:00:00Z")
    add("Qualifying Encounters", "visit-before-period", c, _counts(0))

    # Sexual-activity indicators.
    sa = "Has Assessments Identifying Sexual Activity"
    c = base("cms153-phenx-yes", indicator=False)
    c.observation(PHENX, "2026-12-31T23:00:00Z", category="survey", valueCodeableConcept=cc(*YES))
    add(sa, "phenx-yes-on-last-day", c, _counts(1))
    c = base("cms153-phenx-2027", indicator=False)
    c.observation(PHENX, "2027-01-01T00:00:00Z", category="survey", valueCodeableConcept=cc(*YES))
    add(sa, "phenx-yes-after-period", c, _counts(0))
    c = base("cms153-phenx-no", indicator=False)
    c.observation(PHENX, "2026-02-01T00:00:00Z", category="survey", valueCodeableConcept=cc(*NO))
    add(sa, "phenx-answer-no", c, _counts(0))
    c = base("cms153-phenx-no-survey", indicator=False)
    c.observation(PHENX, "2026-02-01T00:00:00Z", valueCodeableConcept=cc(*YES))
    add(sa, "phenx-without-survey-category", c, _counts(0))

    dx = "Has Diagnoses Identifying Sexual Activity"
    c = base("cms153-dx-resolved", indicator=False)
    c.condition(
        SEX_DIAGNOSIS, "2025-02-01T00:00:00Z", clinical="resolved", abatement="2025-12-31T12:00:00Z"
    )
    add(dx, "resolved-before-period", c, _counts(0))
    c = base("cms153-dx-resolved-jan1", indicator=False)
    c.condition(
        SEX_DIAGNOSIS, "2025-02-01T00:00:00Z", clinical="resolved", abatement="2026-01-01T12:00:00Z"
    )
    add(dx, "resolved-on-first-day", c, _counts(1))

    mc = "Has Active Contraceptive Medications"
    c = base("cms153-contra-32", indicator=False)
    med(c, CONTRACEPTIVE, "2025-12-01", supply=32)
    add(mc, "supply-reaches-january-1", c, _counts(1))
    c = base("cms153-contra-31", indicator=False)
    med(c, CONTRACEPTIVE, "2025-12-01", supply=31)
    add(mc, "supply-ends-december-31", c, _counts(0))
    c = base("cms153-contra-ordered", indicator=False)
    med(c, CONTRACEPTIVE, "2026-01-01", status="completed")
    add("Has Ordered Contraceptive Medications", "completed-order-on-first-day", c, _counts(1))

    lab = "Has Laboratory Tests Identifying Sexual Activity"
    c = base("cms153-sti-order", indicator=False)
    order(c, STI_LAB, "2026-12-31")
    add(lab, "sti-lab-order-on-last-day", c, _counts(1))
    c = base("cms153-sti-plan", indicator=False)
    order(c, STI_LAB, "2026-06-01", intent="plan")
    add(lab, "sti-lab-intent-plan", c, _counts(0))
    c = base("cms153-study", indicator=False)
    order(c, PREGNANCY_STUDY, "2026-06-01")
    add(
        "Has Diagnostic Studies Identifying Sexual Activity", "pregnancy-study-order", c, _counts(1)
    )
    c = base("cms153-procedure", indicator=False)
    c.procedure(SEX_PROCEDURE, "2026-05-01T10:00:00Z")
    add("Has Procedures Identifying Sexual Activity", "procedure-in-period", c, _counts(1))

    # Denominator Exclusions: a pregnancy test followed within 6 days by an X-ray or
    # isotretinoin, and nothing else suggesting sexual activity.
    de = "Denominator Exclusions"
    for pid, name, xray_day, want in (
        ("cms153-xray-6", "xray-6-days-after-pregnancy-test", "2026-04-07", 1),
        ("cms153-xray-7", "xray-7-days-after-pregnancy-test", "2026-04-08", 0),
        ("cms153-xray-0", "xray-same-day-as-pregnancy-test", "2026-04-01", 1),
        ("cms153-xray-before", "xray-day-before-pregnancy-test", "2026-03-31", 0),
    ):
        c = base(pid, indicator=False)
        order(c, PREGNANCY_TEST, "2026-04-01")
        order(c, XRAY, xray_day)
        add(de, name, c, _counts(1, want))
    c = base("cms153-isotretinoin", indicator=False)
    order(c, PREGNANCY_TEST, "2026-04-01")
    med(c, ISOTRETINOIN, "2026-04-03")
    add(de, "isotretinoin-after-pregnancy-test", c, _counts(1, 1))
    c = base("cms153-xray-and-sti", indicator=False)
    order(c, PREGNANCY_TEST, "2026-04-01")
    order(c, XRAY, "2026-04-02")
    order(c, STI_LAB, "2026-09-01")
    add(de, "xray-exclusion-but-sti-lab-too", c, _counts(1, 0))
    c = base("cms153-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    add(de, "hospice-encounter-in-period", c, _counts(1, 1))

    # Numerator.
    nu = "Numerator"
    pos: dict[str, Any] = {"valueCodeableConcept": cc(SNOMED, "10828004")}
    c = base("cms153-chlamydia")
    c.observation(CHLAMYDIA, "2026-06-01T10:00:00Z", category="laboratory", **pos)
    add(nu, "chlamydia-test-with-result", c, _counts(1, 0, 1))
    c = base("cms153-chlamydia-no-cat")
    c.observation(CHLAMYDIA, "2026-06-01T10:00:00Z", **pos)
    add(nu, "chlamydia-test-without-laboratory-category", c, _counts(1, 0, 0))
    c = base("cms153-chlamydia-no-value")
    c.observation(CHLAMYDIA, "2026-06-01T10:00:00Z", category="laboratory")
    add(nu, "chlamydia-test-without-value", c, _counts(1, 0, 0))
    c = base("cms153-chlamydia-prelim")
    c.observation(
        CHLAMYDIA, "2026-06-01T10:00:00Z", category="laboratory", status="preliminary", **pos
    )
    add(nu, "chlamydia-test-preliminary", c, _counts(1, 0, 0))
    c = base("cms153-chlamydia-2025")
    c.observation(CHLAMYDIA, "2025-12-31T23:00:00Z", category="laboratory", **pos)
    add(nu, "chlamydia-test-day-before-period", c, _counts(1, 0, 0))
    c = base("cms153-chlamydia-period")
    c.add(
        "Observation",
        status="final",
        code=cc(*CHLAMYDIA),
        category=[cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
        effectivePeriod={"start": "2025-12-20T10:00:00Z", "end": "2026-01-01T10:00:00Z"},
        **pos,
    )
    add(nu, "chlamydia-period-ending-in-period", c, _counts(1, 0, 1))

    for definition, name, case, groups in cases:
        write_case("CMS153", definition, name, case.bundle("CMS153", URL, groups))


if __name__ == "__main__":
    main()
