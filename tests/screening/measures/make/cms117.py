"""CMS117 cases: python -m tests.screening.measures.make.cms117 (from the repository root).

The base child is born 2024-06-15: 42 days old on 2024-07-27, 180 days on 2024-12-12, first
birthday 2025-06-15, second birthday 2026-06-15 (in the 2026 measurement period).
"""

from __future__ import annotations

from tests.screening.measures.builders import (
    CVX,
    SNOMED,
    Case,
    cc,
    code_in,
    write_case,
)

URL = "https://madie.cms.gov/Measure/CMS117FHIRChildhoodImmunizationStatus"
V = "2.16.840.1.113883.3.464.1003."
OFFICE = code_in(V + "101.12.1001", "cpt")
HOSPICE_ENC = code_in(V + "1003")
DTAP_PROC = code_in(V + "110.12.1022", "cpt")
FLU_PROC = code_in(V + "110.12.1044", "cpt")
DTAP_ANAPHYLAXIS = code_in(V + "199.12.1031")
SCID = code_in(V + "120.12.1007", "icd-10")
HIV = code_in(V + "120.12.1003", "icd-10")
IMMUNE = code_in(V + "120.12.1001", "icd-10")
INTUSSUSCEPTION = code_in(V + "199.12.1056", "icd-10")
MEASLES = code_in(V + "110.12.1053", "icd-10")
MUMPS = code_in(V + "110.12.1032", "icd-10")
RUBELLA = code_in(V + "110.12.1037", "icd-10")
HEPATITIS_B = code_in(V + "110.12.1025", "icd-10")
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
BIRTH = "2024-06-15"

DTAP = (CVX, "20")
IPV = (CVX, "10")
MMR = (CVX, "03")
HIB3 = (CVX, "17")
HIB4 = (CVX, "48")
HEPB = (CVX, "08")
VZV = (CVX, "21")
PCV = (CVX, "133")
HEPA = (CVX, "83")
ROTA2 = (CVX, "119")
ROTA3 = (CVX, "116")
FLU = (CVX, "140")
LAIV = (CVX, "111")

# A complete, compliant schedule; each case removes or alters one vaccine.
SCHEDULE: dict[str, list[tuple[tuple[str, str], str]]] = {
    "dtap": [(DTAP, d) for d in ("2024-08-15", "2024-10-15", "2024-12-15", "2025-09-15")],
    "ipv": [(IPV, d) for d in ("2024-08-15", "2024-10-15", "2025-01-15")],
    "mmr": [(MMR, "2025-07-01")],
    "hib": [(HIB3, d) for d in ("2024-08-15", "2024-10-15", "2025-07-01")],
    "hepb": [(HEPB, d) for d in ("2024-06-15", "2024-08-15", "2025-01-15")],
    "vzv": [(VZV, "2025-07-01")],
    "pcv": [(PCV, d) for d in ("2024-08-15", "2024-10-15", "2024-12-15", "2025-07-01")],
    "hepa": [(HEPA, "2025-07-01")],
    "rota": [(ROTA2, d) for d in ("2024-08-15", "2024-10-15")],
    "flu": [(FLU, d) for d in ("2024-12-15", "2025-01-15")],
}


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


def shot(case: Case, code: tuple[str, str], day: str, status: str = "completed") -> None:
    case.add(
        "Immunization",
        status=status,
        vaccineCode=cc(*code),
        occurrenceDateTime=f"{day}T10:00:00Z",
    )


def base(pid: str, birth: str = BIRTH, *, skip: tuple[str, ...] = ()) -> Case:
    case = Case(pid, birth=birth)
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    for name, doses in SCHEDULE.items():
        if name not in skip:
            for code, day in doses:
                shot(case, code, day)
    return case


def cond(case: Case, code: tuple[str, str], onset: str) -> None:
    case.condition(code, f"{onset}T00:00:00Z", category="encounter-diagnosis")


def main() -> None:
    cases: list[tuple[str, str, Case, list[tuple[str, dict[str, int]]]]] = []

    def add(
        definition: str, name: str, case: Case, groups: list[tuple[str, dict[str, int]]]
    ) -> None:
        cases.append((definition, name, case, groups))

    # Initial Population: AgeInYearsAt(end of MP) = 2 and a qualifying visit in the period.
    add("Initial Population", "fully-immunized-age-2", base("cms117-full"), _counts(1, 1, 0, 1))
    c = Case("cms117-turns-2-last-day", birth="2024-12-31")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z")
    add("Initial Population", "turns-2-on-last-day", c, _counts(1, 1, 0, 0))
    c = Case("cms117-age-1", birth="2025-01-01")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z")
    add("Initial Population", "turns-2-next-year", c, _counts(0, 0, 0, 0))
    c = Case("cms117-age-3", birth="2023-12-31")
    c.encounter(OFFICE, "2026-03-01T09:00:00Z")
    add("Initial Population", "turns-3-on-last-day", c, _counts(0, 0, 0, 0))
    c = Case("cms117-no-visit", birth=BIRTH)
    add("Initial Population", "no-qualifying-encounter", c, _counts(0, 0, 0, 0))
    c = Case("cms117-cancelled-visit", birth=BIRTH)
    c.encounter(OFFICE, "2026-03-01T09:00:00Z", status="cancelled")
    add("Initial Population", "cancelled-encounter", c, _counts(0, 0, 0, 0))
    c = Case("cms117-99211", birth=BIRTH)
    c.encounter(("http://www.ama-assn.org/go/cpt", "99211"), "2026-03-01T09:00:00Z")
    add("Initial Population", "cpt-99211-direct-code", c, _counts(1, 1, 0, 0))
    c = Case("cms117-visit-spans-new-year", birth=BIRTH)
    c.encounter(OFFICE, "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z")
    add("Initial Population", "encounter-starts-before-period", c, _counts(0, 0, 0, 0))

    # DTaP: four distinct dates from 42 days old up to the second birthday.
    c = base("cms117-dtap-three", skip=("dtap",))
    for _, day in SCHEDULE["dtap"][:3]:
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "three-doses-only", c, _counts(1, 1, 0, 0))
    c = base("cms117-dtap-day-42", skip=("dtap",))
    for day in ("2024-07-27", "2024-10-15", "2024-12-15", "2025-09-15"):
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "first-dose-at-42-days", c, _counts(1, 1, 0, 1))
    c = base("cms117-dtap-day-41", skip=("dtap",))
    for day in ("2024-07-26", "2024-10-15", "2024-12-15", "2025-09-15"):
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "first-dose-at-41-days", c, _counts(1, 1, 0, 0))
    c = base("cms117-dtap-2nd-bday", skip=("dtap",))
    for day in ("2024-08-15", "2024-10-15", "2024-12-15", "2026-06-15"):
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "fourth-dose-on-second-birthday", c, _counts(1, 1, 0, 1))
    c = base("cms117-dtap-after-2nd-bday", skip=("dtap",))
    for day in ("2024-08-15", "2024-10-15", "2024-12-15", "2026-06-16"):
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "fourth-dose-day-after-second-birthday", c, _counts(1, 1, 0, 0))
    c = base("cms117-dtap-same-day", skip=("dtap",))
    for day in ("2024-08-15", "2024-10-15", "2024-10-15", "2025-09-15"):
        shot(c, DTAP, day)
    add("Four DTaP Vaccinations", "two-doses-same-day", c, _counts(1, 1, 0, 0))
    c = base("cms117-dtap-procedures", skip=("dtap",))
    shot(c, DTAP, "2024-08-15")
    shot(c, DTAP, "2024-10-15")
    c.procedure(DTAP_PROC, "2024-12-15T10:00:00Z")
    c.procedure(DTAP_PROC, "2025-09-15T10:00:00Z")
    add("Four DTaP Vaccinations", "two-immunizations-two-procedures", c, _counts(1, 1, 0, 1))
    c = base("cms117-dtap-not-done", skip=("dtap",))
    for _, day in SCHEDULE["dtap"][:3]:
        shot(c, DTAP, day)
    shot(c, DTAP, "2025-09-15", status="not-done")
    add("Four DTaP Vaccinations", "fourth-dose-not-done", c, _counts(1, 1, 0, 0))
    c = base("cms117-dtap-anaphylaxis", skip=("dtap",))
    cond(c, DTAP_ANAPHYLAXIS, "2025-03-01")
    add(
        "DTaP Numerator Inclusion Conditions",
        "anaphylaxis-in-first-two-years",
        c,
        _counts(1, 1, 0, 1),
    )
    c = base("cms117-dtap-anaphylaxis-late", skip=("dtap",))
    cond(c, DTAP_ANAPHYLAXIS, "2026-06-16")
    add(
        "DTaP Numerator Inclusion Conditions",
        "anaphylaxis-after-second-birthday",
        c,
        _counts(1, 1, 0, 0),
    )

    # MMR: one dose from the first to the second birthday, or all three diseases.
    c = base("cms117-mmr-1st-bday", skip=("mmr",))
    shot(c, MMR, "2025-06-15")
    add("One MMR Vaccination", "dose-on-first-birthday", c, _counts(1, 1, 0, 1))
    c = base("cms117-mmr-before-1st-bday", skip=("mmr",))
    shot(c, MMR, "2025-06-14")
    add("One MMR Vaccination", "dose-day-before-first-birthday", c, _counts(1, 1, 0, 0))
    c = base("cms117-mmr-diseases", skip=("mmr",))
    for code in (MEASLES, MUMPS, RUBELLA):
        cond(c, code, "2025-02-01")
    add("Measles Indicators", "measles-mumps-rubella-history", c, _counts(1, 1, 0, 1))
    c = base("cms117-mmr-two-diseases", skip=("mmr",))
    for code in (MEASLES, MUMPS):
        cond(c, code, "2025-02-01")
    add("Measles Indicators", "measles-and-mumps-without-rubella", c, _counts(1, 1, 0, 0))

    # Hib: four dates when any dose is of the 4-dose schedule, otherwise three.
    c = base("cms117-hib-mixed-three", skip=("hib",))
    shot(c, HIB3, "2024-08-15")
    shot(c, HIB3, "2024-10-15")
    shot(c, HIB4, "2025-07-01")
    add(
        "Has Appropriate Number of Hib Immunizations",
        "three-doses-one-four-dose-schedule",
        c,
        _counts(1, 1, 0, 0),
    )
    c = base("cms117-hib-mixed-four", skip=("hib",))
    for day in ("2024-08-15", "2024-10-15", "2024-12-15"):
        shot(c, HIB3, day)
    shot(c, HIB4, "2025-07-01")
    add(
        "Has Appropriate Number of Hib Immunizations",
        "four-doses-one-four-dose-schedule",
        c,
        _counts(1, 1, 0, 1),
    )

    # Hepatitis B: three doses, or the newborn injection (within 7 days) then two doses.
    c = base("cms117-hepb-newborn", skip=("hepb",))
    c.procedure((PCS, "3E0234Z"), "2024-06-22T10:00:00Z")
    shot(c, HEPB, "2024-08-15")
    shot(c, HEPB, "2025-01-15")
    add(
        "Meets HepB Vaccination Requirement",
        "newborn-injection-day-7-then-two-doses",
        c,
        _counts(1, 1, 0, 1),
    )
    c = base("cms117-hepb-newborn-late", skip=("hepb",))
    c.procedure((PCS, "3E0234Z"), "2024-06-23T10:00:00Z")
    shot(c, HEPB, "2024-08-15")
    shot(c, HEPB, "2025-01-15")
    add("Meets HepB Vaccination Requirement", "newborn-injection-day-8", c, _counts(1, 1, 0, 0))
    c = base("cms117-hepb-disease", skip=("hepb",))
    cond(c, HEPATITIS_B, "2025-03-01")
    add("Hepatitis B Numerator Inclusion Conditions", "hepatitis-b-history", c, _counts(1, 1, 0, 1))

    # Varicella / hepatitis A: one dose by the second birthday, or the condition.
    c = base("cms117-vzv-anaphylaxis", skip=("vzv",))
    c.condition((SNOMED, "471341000124104"), "2025-03-01T00:00:00Z")
    add(
        "Varicella Zoster Numerator Inclusion Conditions",
        "anaphylaxis-problem-list",
        c,
        _counts(1, 1, 0, 1),
    )
    c = base("cms117-hepa-2nd-bday", skip=("hepa",))
    shot(c, HEPA, "2026-06-15")
    add("One Hepatitis A Vaccinations", "dose-on-second-birthday", c, _counts(1, 1, 0, 1))
    c = base("cms117-hepa-late", skip=("hepa",))
    shot(c, HEPA, "2026-06-16")
    add("One Hepatitis A Vaccinations", "dose-day-after-second-birthday", c, _counts(1, 1, 0, 0))

    # Pneumococcal: four dates.
    c = base("cms117-pcv-three", skip=("pcv",))
    for _, day in SCHEDULE["pcv"][:3]:
        shot(c, PCV, day)
    add("Four Pneumococcal Conjugate Vaccinations", "three-doses-only", c, _counts(1, 1, 0, 0))

    # Rotavirus: three dates when any dose is of the 3-dose schedule, otherwise two.
    c = base("cms117-rota-mixed", skip=("rota",))
    shot(c, ROTA2, "2024-08-15")
    shot(c, ROTA3, "2024-10-15")
    add(
        "Has Appropriate Number of Rotavirus Immunizations",
        "two-doses-one-three-dose-schedule",
        c,
        _counts(1, 1, 0, 0),
    )
    c = base("cms117-rota-three", skip=("rota",))
    for day in ("2024-08-15", "2024-10-15", "2024-12-15"):
        shot(c, ROTA3, day)
    add(
        "Has Appropriate Number of Rotavirus Immunizations",
        "three-doses-three-dose-schedule",
        c,
        _counts(1, 1, 0, 1),
    )

    # Influenza: procedures count from 180 days old, immunizations from 42 days.
    c = base("cms117-flu-proc-180", skip=("flu",))
    shot(c, FLU, "2025-01-15")
    c.procedure(FLU_PROC, "2024-12-12T10:00:00Z")
    add("Two Influenza Vaccinations", "procedure-at-180-days", c, _counts(1, 1, 0, 1))
    c = base("cms117-flu-proc-179", skip=("flu",))
    shot(c, FLU, "2025-01-15")
    c.procedure(FLU_PROC, "2024-12-11T10:00:00Z")
    add("Two Influenza Vaccinations", "procedure-at-179-days", c, _counts(1, 1, 0, 0))
    c = base("cms117-flu-imm-41", skip=("flu",))
    shot(c, FLU, "2025-01-15")
    shot(c, FLU, "2024-07-26")
    add("Two Influenza Vaccinations", "immunization-at-41-days", c, _counts(1, 1, 0, 0))
    c = base("cms117-flu-laiv", skip=("flu",))
    shot(c, FLU, "2025-01-15")
    shot(c, LAIV, "2026-06-15")
    add(
        "Two Influenza Vaccinations Including One LAIV Vaccination",
        "laiv-on-second-birthday",
        c,
        _counts(1, 1, 0, 1),
    )
    c = base("cms117-flu-laiv-early", skip=("flu",))
    shot(c, FLU, "2025-01-15")
    shot(c, LAIV, "2026-06-14")
    add(
        "Two Influenza Vaccinations Including One LAIV Vaccination",
        "laiv-day-before-second-birthday",
        c,
        _counts(1, 1, 0, 0),
    )

    # Denominator Exclusions.
    c = base("cms117-scid")
    cond(c, SCID, "2025-03-01")
    add("Denominator Exclusions", "scid-in-first-two-years", c, _counts(1, 1, 1, 0))
    c = base("cms117-intussusception-birth", skip=("rota",))
    cond(c, INTUSSUSCEPTION, BIRTH)
    add("Denominator Exclusions", "intussusception-on-birth-date", c, _counts(1, 1, 1, 0))
    c = base("cms117-hiv-late", skip=("rota",))
    cond(c, HIV, "2026-06-16")
    add("Denominator Exclusions", "hiv-after-second-birthday", c, _counts(1, 1, 0, 0))
    c = base("cms117-immune-no-onset", skip=("rota",))
    c.condition(IMMUNE, None, category="encounter-diagnosis")
    add("Denominator Exclusions", "immune-disorder-without-onset", c, _counts(1, 1, 0, 0))
    c = base("cms117-hospice", skip=("rota",))
    c.encounter(HOSPICE_ENC, "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z")
    add("Denominator Exclusions", "hospice-encounter-in-period", c, _counts(1, 1, 1, 0))

    for definition, name, case, groups in cases:
        write_case("CMS117", definition, name, case.bundle("CMS117", URL, groups))


if __name__ == "__main__":
    main()
