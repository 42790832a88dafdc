"""Scenario writers for diabetes care: HbA1c, retinal eye exam and kidney health.

See history.py: a scenario writes only the evidence its name promises.
"""

from __future__ import annotations

from datetime import date

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.chart import LAB, REPORT_LAB, DocTypes, quantity
from healthprep_desktop.sandbox.clinic.history_chart import History


def hba1c(h: History, scenario: str) -> None:
    def a1c(when: date, low: float = 5.9, high: float = 8.9) -> None:
        obs = h.chart.observation(
            codes.HBA1C,
            when,
            category=LAB,
            value={"valueQuantity": quantity(round(h.rng.uniform(low, high), 1), "%", "%")},
        )
        h.chart.report(codes.HBA1C, when, category=REPORT_LAB, results=[obs])

    if scenario == "complete_hba1c":
        a1c(h.days_ago(20, 100))
        if h.rng.random() < 0.5:
            a1c(h.days_ago(250, 400), 6.5, 11.0)  # an older result: only the latest counts
    elif scenario == "not_at_goal_hba1c":
        # CMS122: the latest result above 9 % (an older one may have been at goal).
        if h.rng.random() < 0.5:
            a1c(h.days_ago(200, 330), 6.5, 8.5)
        a1c(h.days_ago(20, 150), 9.1, 12.4)
    elif scenario == "overdue_hba1c":
        a1c(h.days_ago(480, 730))
    elif scenario == "due_result_missing":
        # Specimen rejected: a final result with no value (engines must not count it as done).
        h.chart.observation(codes.HBA1C, h.days_ago(20, 100), category=LAB, absent="error")
    elif scenario == "not_eligible_prediabetes":
        # Prediabetes is diagnosed and followed by A1c: the lab alone must not make a diabetic.
        a1c(h.days_ago(30, 300), 5.7, 6.4)


def _retinal_note(when: date) -> list[str]:
    return [
        f"Date of exam: {when.isoformat()}",
        f"Dilated retinal exam performed {when.isoformat()}: no diabetic retinopathy.",
        "Recommend repeat diabetic eye exam in 12 months.",
    ]


def eye_exam(h: History, scenario: str) -> None:
    ophthalmology = h.chart.staff.specialists["Ophthalmology"]
    if scenario in ("complete_retinal_exam", "overdue_retinal_exam"):
        when = h.days_ago(30, 250) if scenario == "complete_retinal_exam" else h.days_ago(900, 1250)
        h.consult("Ophthalmology", when)
        h.chart.procedure(codes.pick(h.rng, codes.RETINAL_EXAM), when, performer=ophthalmology)
        h.facts.append(f"Diabetic retinal exam {when.isoformat()}: no retinopathy.")
        h.supporting_document("Retinal exam", _retinal_note(when), when, DocTypes.CONSULT)
    elif scenario == "complete_document_only":
        when = h.days_ago(30, 250)
        h.evidence_document("Retinal exam", _retinal_note(when), when, DocTypes.CONSULT)


def kidney(h: History, scenario: str) -> None:
    if scenario not in ("complete_egfr_and_uacr", "due_uacr_missing"):
        return
    when = h.days_ago(20, 250)
    egfr = h.chart.observation(
        codes.pick(h.rng, codes.EGFR),
        when,
        category=LAB,
        value={
            "valueQuantity": quantity(
                h.rng.randint(45, 105), "mL/min/{1.73_m2}", "mL/min/{1.73_m2}"
            )
        },
    )
    results = [egfr]
    if scenario == "complete_egfr_and_uacr":
        results.append(
            h.chart.observation(
                codes.UACR,
                when,
                category=LAB,
                value={"valueQuantity": quantity(h.rng.randint(5, 80), "mg/g", "mg/g")},
            )
        )
    h.chart.report(RENAL_PANEL, when, category=REPORT_LAB, results=results)


RENAL_PANEL = codes.Concept(
    key="renal_panel",
    text="Renal function panel",
    codes=(("http://loinc.org", "24362-6"),),
    displays=("Renal function panel - Serum or Plasma",),
)
