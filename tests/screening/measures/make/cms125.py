"""CMS125 cases: python -m tests.screening.measures.make.cms125 (from the repository root)."""

from __future__ import annotations

from tests.screening.measures.builders import (
    FEMALE,
    MALE,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/CMS125FHIRBreastCancerScreening"
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
MAMMO = code_in("2.16.840.1.113883.3.464.1003.108.12.1018", "loinc")
BILATERAL = code_in("2.16.840.1.113883.3.464.1003.198.12.1005")
HOSPICE_ENC = code_in("2.16.840.1.113883.3.464.1003.1003")
PALLIATIVE_ENC = code_in("2.16.840.1.113883.3.464.1003.101.12.1090")
RIGHT_PROCEDURE = code_in("2.16.840.1.113883.3.464.1003.198.12.1134")
LEFT_PROCEDURE = code_in("2.16.840.1.113883.3.464.1003.198.12.1133")
STATUS_POST_RIGHT = code_in("2.16.840.1.113883.3.464.1003.198.12.1070", "icd-10")
STATUS_POST_LEFT = code_in("2.16.840.1.113883.3.464.1003.198.12.1069", "icd-10")
UNSPECIFIED_SIDE = code_in("2.16.840.1.113883.3.464.1003.198.12.1071", "icd-10")
BILATERAL_HISTORY = code_in("2.16.840.1.113883.3.464.1003.198.12.1068", "icd-10")
LEFT_SITE = [cc(SNOMED, "7771000")]
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _counts(ipp: int, denom: int, denex: int, numer: int) -> list[tuple[str, dict[str, int]]]:
    return [
        (
            "Group_1",
            {
                "initial-population": ipp,
                "denominator": denom,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


def base(pid: str, birth: str = "1970-05-05", sex: str | None = FEMALE) -> Case:
    case = Case(pid, birth=birth, sex=sex)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    return case


def main() -> None:
    cases = []
    # Initial Population: age 42 and 74 at the end of the period are in; 41 and 75 are out.
    c = base("cms125-age-42", birth="1984-12-31")
    cases.append(("Initial Population", "age-42-birthday-on-last-day", c, _counts(1, 1, 0, 0)))
    c = base("cms125-age-41", birth="1985-01-01")
    cases.append(("Initial Population", "age-41-turns-42-next-year", c, _counts(0, 0, 0, 0)))
    c = base("cms125-age-74", birth="1952-01-01")
    cases.append(("Initial Population", "age-74", c, _counts(1, 1, 0, 0)))
    c = base("cms125-age-75", birth="1951-12-31")
    cases.append(("Initial Population", "age-75-on-last-day", c, _counts(0, 0, 0, 0)))
    c = base("cms125-male", sex=MALE)
    cases.append(("Initial Population", "male-sex-extension", c, _counts(0, 0, 0, 0)))
    c = Case("cms125-no-visit", birth="1970-05-05")
    cases.append(("Initial Population", "no-qualifying-encounter", c, _counts(0, 0, 0, 0)))
    c = Case("cms125-cancelled-visit", birth="1970-05-05")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="cancelled")
    cases.append(("Initial Population", "cancelled-encounter", c, _counts(0, 0, 0, 0)))
    # Numerator: the 27-month window starts on October 1 two years before the period.
    c = base("cms125-mammo-oct1")
    c.observation(MAMMO, "2024-10-01T08:00:00Z", category="imaging")
    cases.append(("Numerator", "mammogram-on-october-1-two-years-prior", c, _counts(1, 1, 0, 1)))
    c = base("cms125-mammo-sep30")
    c.observation(MAMMO, "2024-09-30T08:00:00Z", category="imaging")
    cases.append(("Numerator", "mammogram-one-day-too-early", c, _counts(1, 1, 0, 0)))
    c = base("cms125-mammo-dec31")
    c.observation(MAMMO, "2026-12-31T23:00:00Z", category="imaging")
    cases.append(("Numerator", "mammogram-on-last-day", c, _counts(1, 1, 0, 1)))
    c = base("cms125-mammo-no-imaging")
    c.observation(MAMMO, "2025-06-01T08:00:00Z")
    cases.append(("Numerator", "mammogram-without-imaging-category", c, _counts(1, 1, 0, 0)))
    c = base("cms125-mammo-prelim")
    c.observation(MAMMO, "2025-06-01T08:00:00Z", category="imaging", status="preliminary")
    cases.append(("Numerator", "mammogram-preliminary", c, _counts(1, 1, 0, 0)))
    # Denominator Exclusions.
    c = base("cms125-bilateral")
    c.procedure(BILATERAL, "2010-01-01T00:00:00Z")
    c.observation(MAMMO, "2025-06-01T08:00:00Z", category="imaging")
    cases.append(
        ("Denominator Exclusions", "bilateral-mastectomy-procedure", c, _counts(1, 1, 1, 0))
    )
    c = base("cms125-hospice")
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    cases.append(("Denominator Exclusions", "hospice-encounter-in-period", c, _counts(1, 1, 1, 0)))
    c = base("cms125-hospice-2025")
    c.encounter(HOSPICE_ENC, "2025-05-01T00:00:00Z", "2025-12-31T00:00:00Z")
    cases.append(
        ("Denominator Exclusions", "hospice-encounter-ended-before-period", c, _counts(1, 1, 0, 0))
    )
    # Unilateral mastectomies exclude only when a right AND a left one are found (CQL
    # "Denominator Exclusions": (Right Diagnosis or Procedure) and (Left Diagnosis or Procedure)).
    dx = "Denominator Exclusions"
    c = base("cms125-right-proc-left-site")
    c.procedure(RIGHT_PROCEDURE, "2015-03-01T00:00:00Z")
    c.condition(UNSPECIFIED_SIDE, "2018-04-01", bodySite=LEFT_SITE)
    cases.append(
        (dx, "right-procedure-and-unspecified-with-left-body-site", c, _counts(1, 1, 1, 0))
    )
    c = base("cms125-right-proc-only")
    c.procedure(RIGHT_PROCEDURE, "2015-03-01T00:00:00Z")
    cases.append((dx, "right-mastectomy-procedure-only", c, _counts(1, 1, 0, 0)))
    c = base("cms125-unspecified-no-site")
    c.condition(UNSPECIFIED_SIDE, "2018-04-01")
    c.procedure(LEFT_PROCEDURE, "2015-03-01T00:00:00Z")
    cases.append((dx, "left-procedure-and-unspecified-without-body-site", c, _counts(1, 1, 0, 0)))
    c = base("cms125-status-post-both")
    c.condition(STATUS_POST_RIGHT, "2012-01-01")
    c.condition(STATUS_POST_LEFT, "2019-01-01")
    cases.append((dx, "status-post-right-and-left-diagnoses", c, _counts(1, 1, 1, 0)))
    c = base("cms125-status-post-right-refuted")
    c.condition(STATUS_POST_RIGHT, "2012-01-01", verificationStatus=cc(VER, "refuted"))
    c.procedure(LEFT_PROCEDURE, "2015-03-01T00:00:00Z")
    cases.append((dx, "right-diagnosis-refuted-and-left-procedure", c, _counts(1, 1, 0, 0)))
    c = base("cms125-right-proc-2027")
    c.procedure(RIGHT_PROCEDURE, "2027-01-01T00:30:00Z")
    c.procedure(LEFT_PROCEDURE, "2015-03-01T00:00:00Z")
    cases.append((dx, "right-procedure-after-period-and-left-procedure", c, _counts(1, 1, 0, 0)))
    # Bilateral history: prevalenceInterval() starts on or before end of MP (instant precision).
    c = base("cms125-bilateral-history-dec31")
    c.condition(BILATERAL_HISTORY, "2026-12-31T23:00:00Z")
    cases.append((dx, "bilateral-history-onset-on-last-day", c, _counts(1, 1, 1, 0)))
    c = base("cms125-bilateral-history-2027")
    c.condition(BILATERAL_HISTORY, "2027-01-01T00:30:00Z")
    cases.append((dx, "bilateral-history-onset-after-period", c, _counts(1, 1, 0, 0)))
    # The other exclusion paths, each alone (66+ in nursing home; palliative care).
    c = base("cms125-nursing-home", birth="1960-12-31")  # 66 on the last day of the period
    c.observation(("http://loinc.org", "71802-3"), "2026-06-01T00:00:00Z",
                  valueCodeableConcept=cc(SNOMED, "160734000"))  # fmt: skip
    cases.append((dx, "nursing-home-at-66", c, _counts(1, 1, 1, 0)))
    c = base("cms125-nursing-home-65", birth="1961-01-01")  # 65: the age rule is not met
    c.observation(("http://loinc.org", "71802-3"), "2026-06-01T00:00:00Z",
                  valueCodeableConcept=cc(SNOMED, "160734000"))  # fmt: skip
    cases.append((dx, "nursing-home-at-65", c, _counts(1, 1, 0, 0)))
    c = base("cms125-palliative")
    c.encounter(PALLIATIVE_ENC, "2026-08-01T10:00:00Z")
    cases.append((dx, "palliative-care-encounter", c, _counts(1, 1, 1, 0)))
    c = base("cms125-bilateral-undated")
    c.add("Procedure", status="completed", code=cc(*BILATERAL))  # no performed[x]: not dated
    cases.append((dx, "bilateral-mastectomy-without-a-date", c, _counts(1, 1, 0, 0)))
    # Times given as the patient's age (Procedure.performedAge, Condition.onsetAge).
    c = base("cms125-bilateral-at-age-50")
    c.add("Procedure", status="completed", code=cc(*BILATERAL),
          performedAge={"value": 50, "unit": "a", "code": "a"})  # fmt: skip
    cases.append((dx, "bilateral-mastectomy-at-age-50", c, _counts(1, 1, 1, 0)))
    c = base("cms125-bilateral-history-at-age-50")
    c.add("Condition", code=cc(*BILATERAL_HISTORY),
          clinicalStatus=cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
          onsetAge={"value": 50, "unit": "a", "code": "a"})  # fmt: skip
    cases.append((dx, "bilateral-history-onset-at-age-50", c, _counts(1, 1, 1, 0)))
    c = base("cms125-bilateral-history-at-age-57")
    c.add("Condition", code=cc(*BILATERAL_HISTORY),
          clinicalStatus=cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
          onsetAge={"value": 57, "unit": "a", "code": "a"})  # fmt: skip
    cases.append((dx, "bilateral-history-onset-at-age-57", c, _counts(1, 1, 0, 0)))
    c = base("cms125-bilateral-at-age-57")  # born 1970-05-05: 57 is 2027-2028, after the period
    c.add("Procedure", status="completed", code=cc(*BILATERAL),
          performedAge={"value": 57, "unit": "a", "code": "a"})  # fmt: skip
    cases.append((dx, "bilateral-mastectomy-at-age-57", c, _counts(1, 1, 0, 0)))
    for definition, name, case, groups in cases:
        write_case("CMS125", definition, name, case.bundle("CMS125", URL, groups))


if __name__ == "__main__":
    main()
