"""Scenario writers for the cancer screenings: breast, cervical and colorectal.

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
    DocTypes,
    coded,
)
from healthprep_desktop.sandbox.clinic.codes import Concept
from healthprep_desktop.sandbox.clinic.documents import DocFormat
from healthprep_desktop.sandbox.clinic.history_chart import History
from healthprep_desktop.screening.valuesets import SNOMED, Coding

PROCEDURE_DECLINED = coded(
    Coding(SNOMED, "105480006", "Refusal of treatment by patient (situation)")
)


def _mammogram(h: History, when: date, *, status: str = "final", report: bool = True) -> None:
    concept = codes.pick(h.rng, codes.MAMMOGRAPHY)
    obs = h.chart.observation(
        concept, when, category=IMAGING, status=status, value={"valueString": "BI-RADS 1: Negative"}
    )
    if report:
        h.chart.report(
            concept,
            when,
            category=REPORT_RADIOLOGY,
            results=[obs],
            status=status,
            conclusion="BI-RADS 1: negative. No evidence of malignancy.",
        )
    if status == "final":
        h.facts.append(f"Screening mammogram {when.isoformat()}: BI-RADS 1, negative.")


def _mammogram_note(when: date) -> list[str]:
    return [
        f"Exam date: {when.isoformat()}",
        f"Bilateral screening mammogram performed {when.isoformat()}.",
        "Findings: scattered fibroglandular densities. No suspicious mass or calcifications.",
        "Impression: BI-RADS 1, negative mammogram.",
    ]


def breast(h: History, scenario: str) -> None:
    chart = h.chart
    if scenario == "complete_mammogram":
        when = h.days_ago(60, 500)
        _mammogram(h, when)
        h.supporting_document("Mammogram result", _mammogram_note(when), when, DocTypes.IMAGING)
    elif scenario == "due_soon_mammogram":
        _mammogram(h, h.due_soon(2))
    elif scenario == "overdue_mammogram":
        _mammogram(h, h.years_ago(3, 6))
    elif scenario == "complete_document_only":
        when = h.days_ago(60, 500)
        h.evidence_document("Mammogram result", _mammogram_note(when), when, DocTypes.IMAGING)
    elif scenario == "due_entered_in_error":
        _mammogram(h, h.days_ago(60, 400), status="entered-in-error", report=False)
    elif scenario == "excluded_bilateral_mastectomy":
        surgery = h.years_ago(2, 12)
        _mammogram(h, surgery - timedelta(days=h.rng.randint(30, 200)))
        h.problem(codes.BREAST_CANCER, surgery - timedelta(days=h.rng.randint(20, 60)))
        chart.procedure(codes.pick(h.rng, codes.BILATERAL_MASTECTOMY), surgery)
        h.facts.append(f"Bilateral mastectomy {surgery.isoformat()}.")
    elif scenario == "excluded_unilateral_left_and_right":
        left = h.years_ago(5, 12)
        chart.procedure(codes.MASTECTOMY_LEFT, left)
        chart.procedure(codes.MASTECTOMY_RIGHT, left + timedelta(days=h.rng.randint(200, 1500)))
    elif scenario == "excluded_history_bilateral_mastectomy":
        chart.condition(codes.HISTORY_BILATERAL_MASTECTOMY, h.years_ago(3, 15))
    elif scenario == "due_unilateral_left_only":
        chart.procedure(codes.MASTECTOMY_LEFT, h.years_ago(4, 10))


def _cytology(h: History, when: date, *, with_result: bool = True) -> None:
    concept = codes.pick(h.rng, codes.CYTOLOGY)
    value = {"valueString": "Negative for intraepithelial lesion or malignancy (NILM)"}
    obs = h.chart.observation(concept, when, category=LAB, value=value if with_result else None)
    h.chart.report(concept, when, category=REPORT_LAB, results=[obs])
    if with_result:
        h.facts.append(f"Pap smear {when.isoformat()}: NILM.")


def cervical(h: History, scenario: str) -> None:
    if scenario == "complete_cytology":
        _cytology(h, h.days_ago(60, 700))
    elif scenario == "due_soon_cytology":
        _cytology(h, h.due_soon(3))
    elif scenario == "overdue_cytology":
        _cytology(h, h.years_ago(4, 8))
    elif scenario == "complete_hpv":
        when = h.days_ago(100, 1200)
        obs = h.chart.observation(
            codes.HPV, when, category=LAB, value={"valueCodeableConcept": coded(codes.NEGATIVE)}
        )
        h.chart.report(codes.HPV, when, category=REPORT_LAB, results=[obs])
        h.facts.append(f"High-risk HPV test {when.isoformat()}: negative.")
    elif scenario == "complete_document_only":
        when = h.days_ago(60, 700)
        h.evidence_document(
            "Pap smear result",
            [
                f"Specimen collected: {when.isoformat()}",
                f"Cervical cytology (Pap smear) collected {when.isoformat()}.",
                "Interpretation: negative for intraepithelial lesion or malignancy.",
            ],
            when,
            DocTypes.LAB,
        )
    elif scenario == "due_cytology_without_result":
        _cytology(h, h.days_ago(60, 700), with_result=False)
    elif scenario == "excluded_hysterectomy":
        when = h.years_ago(3, 20)
        h.chart.procedure(codes.pick(h.rng, codes.HYSTERECTOMY), when)
        h.facts.append(f"Total hysterectomy {when.isoformat()}.")
    elif scenario == "excluded_absence_of_cervix":
        h.chart.condition(codes.ABSENCE_OF_CERVIX, h.years_ago(3, 20))


def _colonoscopy_note(when: date) -> list[str]:
    return [
        f"Date of procedure: {when.isoformat()}",
        "Indication: average-risk colorectal cancer screening.",
        f"Colonoscopy performed {when.isoformat()}, no polyps. Cecum reached; good preparation.",
        "Impression: normal colonoscopy. Repeat in 10 years.",
    ]


def _stool_test(h: History, concept: Concept, when: date) -> None:
    obs = h.chart.observation(
        concept, when, category=LAB, value={"valueCodeableConcept": coded(codes.NEGATIVE)}
    )
    h.chart.report(concept, when, category=REPORT_LAB, results=[obs])
    h.facts.append(f"{concept.text} {when.isoformat()}: negative.")


def colorectal(h: History, scenario: str) -> None:
    chart = h.chart
    gi = chart.staff.specialists["Gastroenterology"]
    if scenario in ("complete_colonoscopy", "due_soon_colonoscopy", "overdue_colonoscopy"):
        when = {
            "complete_colonoscopy": lambda: h.days_ago(200, 7 * 365),
            "due_soon_colonoscopy": lambda: h.due_soon(10),
            "overdue_colonoscopy": lambda: h.years_ago(11, 13),
        }[scenario]()
        chart.procedure(codes.pick(h.rng, codes.COLONOSCOPY), when, performer=gi)
        h.facts.append(f"Colonoscopy {when.isoformat()}: normal, no polyps.")
        h.supporting_document(
            "Colonoscopy report", _colonoscopy_note(when), when, DocTypes.PROCEDURE
        )
    elif scenario == "complete_colonoscopy_period_end_only":
        when = h.days_ago(200, 5 * 365)
        chart.procedure(codes.COLONOSCOPY[0], when, period_end_only=True, performer=gi)
    elif scenario == "complete_fit":
        _stool_test(h, codes.pick(h.rng, codes.FIT), h.days_ago(30, 300))
    elif scenario == "overdue_fit":
        _stool_test(h, codes.pick(h.rng, codes.FIT), h.days_ago(430, 900))
    elif scenario == "complete_sdna":
        _stool_test(h, codes.SDNA, h.days_ago(60, 2 * 365))
    elif scenario == "complete_ct_colonography":
        when = h.days_ago(100, 4 * 365)
        obs = chart.observation(
            codes.CT_COLONOGRAPHY,
            when,
            category=IMAGING,
            value={"valueString": "No colonic mass or polyp 6 mm or larger."},
        )
        chart.report(
            codes.CT_COLONOGRAPHY,
            when,
            category=REPORT_RADIOLOGY,
            results=[obs],
            conclusion="Negative CT colonography.",
        )
    elif scenario == "complete_sigmoidoscopy":
        chart.procedure(codes.SIGMOIDOSCOPY, h.days_ago(100, 4 * 365), performer=gi)
    elif scenario == "complete_document_only":
        when = h.days_ago(200, 6 * 365)
        h.evidence_document("Colonoscopy report", _colonoscopy_note(when), when, DocTypes.PROCEDURE)
    elif scenario == "due_not_done":
        chart.procedure(
            codes.COLONOSCOPY[0],
            h.days_ago(30, 300),
            status="not-done",
            status_reason=PROCEDURE_DECLINED,
        )
    elif scenario == "excluded_total_colectomy":
        chart.procedure(codes.TOTAL_COLECTOMY, h.years_ago(3, 15))
    elif scenario == "excluded_colorectal_cancer":
        h.problem(codes.pick(h.rng, codes.COLORECTAL_CANCER), h.years_ago(2, 10))
    elif scenario == "due_document_entered_in_error":
        when = h.days_ago(200, 3 * 365)
        h.note(
            "Colonoscopy report",
            _colonoscopy_note(when),
            doc_type=DocTypes.PROCEDURE,
            service_date=when,
            formats=((DocFormat.TEXT_PDF, 1),),
            status="entered-in-error",
        )
    elif scenario == "due_referral_only":
        when = h.days_ago(20, 120)
        h.note(
            "Referral",
            [
                f"Date: {when.isoformat()}",
                "Referred to gastroenterology for screening colonoscopy.",
                "Patient will call to schedule; no procedure has been performed yet.",
            ],
            doc_type=DocTypes.REFERRAL,
            service_date=when,
            formats=((DocFormat.PLAIN, 1), (DocFormat.HTML, 1)),
        )
