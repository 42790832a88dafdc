"""Scenario writers for adult preventive screenings: bone density, lung, AAA, HIV,
hepatitis C, statin, lipids, depression and tobacco.

See history.py: a scenario writes only the evidence its name promises.
"""

from __future__ import annotations

from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.chart import (
    IMAGING,
    LAB,
    REPORT_LAB,
    REPORT_RADIOLOGY,
    SOCIAL_HISTORY,
    SURVEY,
    DocTypes,
    coded,
    quantity,
)
from healthprep_desktop.sandbox.clinic.clock import years_before
from healthprep_desktop.sandbox.clinic.history_chart import History
from healthprep_desktop.screening.valuesets import SNOMED, Coding

DEPRESSION_NEGATIVE = Coding(SNOMED, "428171000124102", "Depression screening negative (finding)")


def _dxa_note(when: date) -> list[str]:
    return [
        f"Exam date: {when.isoformat()}",
        f"DXA bone density scan performed {when.isoformat()}.",
        "Lumbar spine T-score -1.4; left femoral neck T-score -1.1.",
        "Impression: osteopenia. Bone density follow-up in 2 years.",
    ]


def osteoporosis(h: History, scenario: str) -> None:
    if scenario == "complete_dxa":
        when = h.days_ago(60, 680)  # next due (2 years on) well over 30 days away
        concept = codes.pick(h.rng, codes.DXA)
        obs = h.chart.observation(
            concept, when, category=IMAGING, value={"valueQuantity": quantity(-1.4, "T-score")}
        )
        h.chart.report(
            concept, when, category=REPORT_RADIOLOGY, results=[obs], conclusion="Osteopenia."
        )
        h.facts.append(f"DXA bone density {when.isoformat()}: osteopenia.")
        h.supporting_document("Bone density (DXA) report", _dxa_note(when), when, DocTypes.IMAGING)
    elif scenario == "complete_document_only":
        when = h.days_ago(60, 680)
        h.evidence_document("Bone density (DXA) report", _dxa_note(when), when, DocTypes.IMAGING)


def lung(h: History, scenario: str) -> None:
    if scenario in ("complete_ldct", "overdue_ldct"):
        when = h.days_ago(30, 300) if scenario == "complete_ldct" else h.days_ago(760, 1100)
        h.chart.procedure(codes.LDCT, when, performer=h.chart.staff.specialists["Radiology"])
        h.facts.append(f"Low-dose CT chest {when.isoformat()}: Lung-RADS 1.")


def aaa(h: History, scenario: str) -> None:
    if scenario == "complete_aaa_ultrasound":
        h.chart.procedure(codes.AAA_ULTRASOUND, h.years_ago(0.5, 5))


def hiv(h: History, scenario: str) -> None:
    if scenario == "complete_hiv_test":
        # CMS349 counts a test done on or after the 15th birthday (and before the 66th): a
        # teenager's test is moved to a month after that birthday at the earliest.
        earliest = years_before(h.plan.birth_date, -15) + timedelta(days=31)
        when = max(h.years_ago(0.3, 8), min(earliest, h.reference - timedelta(days=110)))
        h.chart.observation(
            codes.HIV_TEST,
            when,
            category=LAB,
            value={"valueCodeableConcept": coded(codes.NEGATIVE)},
        )
    elif scenario == "excluded_hiv_diagnosis":
        h.problem(codes.HIV_INFECTION, h.years_ago(2, 15))


def hepatitis_c(h: History, scenario: str) -> None:
    if scenario == "complete_hcv_test":
        h.chart.observation(
            codes.HCV_TEST,
            h.years_ago(0.3, 8),
            category=LAB,
            value={"valueCodeableConcept": coded(codes.NEGATIVE)},
        )


def statin(h: History, scenario: str) -> None:
    if scenario == "complete_statin" and not any(
        m in h.medications for m in (c.text for c in codes.STATINS)
    ):
        h.prescribe(codes.pick(h.rng, codes.STATINS))


def lipids(h: History, scenario: str) -> None:
    if scenario not in ("complete_lipid_panel", "overdue_lipid_panel"):
        return
    when = h.days_ago(30, 300) if scenario == "complete_lipid_panel" else h.years_ago(6, 8)
    results = [
        h.chart.observation(
            codes.TOTAL_CHOLESTEROL,
            when,
            category=LAB,
            value={"valueQuantity": quantity(h.rng.randint(150, 260), "mg/dL", "mg/dL")},
        ),
        h.chart.observation(
            codes.LDL,
            when,
            category=LAB,
            value={"valueQuantity": quantity(h.rng.randint(70, 180), "mg/dL", "mg/dL")},
        ),
        h.chart.observation(
            codes.HDL,
            when,
            category=LAB,
            value={"valueQuantity": quantity(h.rng.randint(35, 80), "mg/dL", "mg/dL")},
        ),
        h.chart.observation(
            codes.TRIGLYCERIDES,
            when,
            category=LAB,
            value={"valueQuantity": quantity(h.rng.randint(70, 300), "mg/dL", "mg/dL")},
        ),
    ]
    h.chart.report(codes.LIPID_PANEL, when, category=REPORT_LAB, results=results)


def depression(h: History, scenario: str) -> None:
    def screen(when: date) -> None:
        encounter = h.chart.visit(when)
        h.chart.observation(
            codes.PHQ9,
            when,
            category=SURVEY,
            encounter=encounter,
            value={"valueInteger": h.rng.randint(0, 4)},
        )
        if h.rng.random() < 0.35:
            h.chart.observation(
                codes.ADULT_DEPRESSION_SCREEN,
                when,
                category=SURVEY,
                encounter=encounter,
                value={"valueCodeableConcept": coded(DEPRESSION_NEGATIVE)},
            )

    if scenario == "complete_phq9":
        screen(h.days_ago(20, 250))
    elif scenario == "due_soon_phq9":
        screen(h.due_soon(1))
    elif scenario == "overdue_phq9":
        screen(h.days_ago(560, 1000))


_SMOKING_VALUE = {
    "current": codes.CURRENT_SMOKER,
    "former": codes.FORMER_SMOKER,
    "never": codes.NEVER_SMOKER,
}


def tobacco(h: History, scenario: str) -> None:
    if scenario not in ("complete_smoking_status", "overdue_smoking_status"):
        return
    when = h.days_ago(20, 250) if scenario == "complete_smoking_status" else h.days_ago(560, 1000)
    status = _SMOKING_VALUE[h.plan.smoking].codings()[0]
    encounter = h.chart.visit(when)
    h.chart.observation(
        codes.SMOKING_STATUS,
        when,
        category=SOCIAL_HISTORY,
        encounter=encounter,
        value={"valueCodeableConcept": coded(status)},
    )
    if h.plan.smoking != "never":
        h.chart.observation(
            codes.PACK_YEARS,
            when,
            category=SOCIAL_HISTORY,
            encounter=encounter,
            value={"valueQuantity": quantity(h.plan.pack_years, "{pack-years}", "{pack-years}")},
        )
