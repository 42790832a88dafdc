"""One patient's clinical history: a baseline chart plus the evidence each screening scenario needs.

Dates are relative to the clinic's reference date. A scenario writes only the evidence its name
promises (see scenarios.py), and baseline notes never mention a screening keyword, so a document
can only complete a screening when the scenario meant it to.

The History being built is in history_chart.py; the scenario writers are split by family
(history_cancer, history_preventive, history_diabetes, history_vaccines, history_bp) and every
name stays importable from here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from healthprep_desktop.sandbox.clinic.chart import Chart, Staff
from healthprep_desktop.sandbox.clinic.history_bp import blood_pressure
from healthprep_desktop.sandbox.clinic.history_cancer import (
    PROCEDURE_DECLINED,
    breast,
    cervical,
    colorectal,
)
from healthprep_desktop.sandbox.clinic.history_chart import (
    CHEST_PAIN,
    EVIDENCE_FORMATS,
    JSON,
    NOTE_FORMATS,
    PANCREATIC_CANCER,
    PNEUMONIA,
    SUPPORT_FORMATS,
    History,
)
from healthprep_desktop.sandbox.clinic.history_diabetes import RENAL_PANEL, eye_exam, hba1c, kidney
from healthprep_desktop.sandbox.clinic.history_followup import visit_day_history
from healthprep_desktop.sandbox.clinic.history_preventive import (
    DEPRESSION_NEGATIVE,
    aaa,
    depression,
    hepatitis_c,
    hiv,
    lipids,
    lung,
    osteoporosis,
    statin,
    tobacco,
)
from healthprep_desktop.sandbox.clinic.history_vaccines import (
    PATIENT_DECLINED,
    influenza,
    pneumococcal,
    tdap,
    zoster,
)
from healthprep_desktop.sandbox.clinic.patient_plan import PatientPlan
from healthprep_desktop.sandbox.clinic.people import Person

SCENARIOS: dict[str, Callable[[History, str], None]] = {
    "breast": breast,
    "cervical": cervical,
    "colorectal": colorectal,
    "osteoporosis": osteoporosis,
    "lung": lung,
    "aaa": aaa,
    "hiv": hiv,
    "hepatitis_c": hepatitis_c,
    "blood_pressure": blood_pressure,
    "lipids": lipids,
    "statin": statin,
    "depression": depression,
    "tobacco": tobacco,
    "hba1c": hba1c,
    "eye_exam": eye_exam,
    "kidney": kidney,
    "influenza": influenza,
    "pneumococcal": pneumococcal,
    "zoster": zoster,
    "tdap": tdap,
}


def _write_chart(h: History) -> None:
    """The baseline, each scenario's evidence, then whole-chart extras, in a fixed order."""
    h.baseline()
    for key, scenario in h.plan.profile.items():
        handler = SCENARIOS.get(key)
        if handler is not None:
            handler(h, scenario)
    h.archetype_history()
    h.progress_notes()
    if h.scanned_outside_records:
        h.outside_records()
    visit_day_history(h)  # last: charts without visit-day scenarios stay as they were


def build_history(
    plan: PatientPlan,
    person: Person,
    mrn: str,
    reference: date,
    staff: Staff,
    *,
    seed: int,
    scanned_outside_records: bool,
) -> list[JSON]:
    rng = random.Random(f"healthprep-clinic/{seed}/history/{plan.index}")
    history = History(
        plan=plan,
        person=person,
        mrn=mrn,
        reference=reference,
        chart=Chart(plan.id, staff, rng),
        rng=rng,
        scanned_outside_records=scanned_outside_records,
    )
    _write_chart(history)
    return history.chart.resources


__all__ = [
    "CHEST_PAIN",
    "DEPRESSION_NEGATIVE",
    "EVIDENCE_FORMATS",
    "JSON",
    "NOTE_FORMATS",
    "PANCREATIC_CANCER",
    "PATIENT_DECLINED",
    "PNEUMONIA",
    "PROCEDURE_DECLINED",
    "RENAL_PANEL",
    "SCENARIOS",
    "SUPPORT_FORMATS",
    "History",
    "aaa",
    "blood_pressure",
    "breast",
    "build_history",
    "cervical",
    "colorectal",
    "depression",
    "eye_exam",
    "hba1c",
    "hepatitis_c",
    "hiv",
    "influenza",
    "kidney",
    "lipids",
    "lung",
    "osteoporosis",
    "pneumococcal",
    "statin",
    "tdap",
    "tobacco",
    "zoster",
]
