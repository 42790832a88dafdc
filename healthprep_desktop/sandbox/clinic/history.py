"""One patient's clinical history: a baseline chart plus the evidence each screening scenario needs.

Dates are relative to the clinic's reference date. A scenario writes only the evidence its name
promises (see scenarios.py), and baseline notes never mention a screening keyword, so a document
can only complete a screening when the scenario meant it to.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.chart import (
    ENCOUNTER_DIAGNOSIS,
    IMAGING,
    LAB,
    REPORT_LAB,
    REPORT_RADIOLOGY,
    SOCIAL_HISTORY,
    SURVEY,
    VITALS,
    Chart,
    DocType,
    DocTypes,
    Staff,
    coded,
    quantity,
)
from healthprep_desktop.sandbox.clinic.clock import years_before
from healthprep_desktop.sandbox.clinic.codes import Concept
from healthprep_desktop.sandbox.clinic.documents import DocFormat, Note
from healthprep_desktop.sandbox.clinic.history_bp import blood_pressure
from healthprep_desktop.sandbox.clinic.history_followup import visit_day_history
from healthprep_desktop.sandbox.clinic.people import Person
from healthprep_desktop.sandbox.clinic.scenarios import Archetype, PatientPlan
from healthprep_desktop.screening.valuesets import SNOMED, Coding

JSON = dict[str, Any]

PATIENT_DECLINED = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "PATOBJ",
            "display": "patient objection",
        }
    ],
    "text": "Patient declined",
}
PROCEDURE_DECLINED = coded(
    Coding(SNOMED, "105480006", "Refusal of treatment by patient (situation)")
)
DEPRESSION_NEGATIVE = Coding(SNOMED, "428171000124102", "Depression screening negative (finding)")


@dataclass(slots=True)
class History:
    """Builds the chart of one patient; `facts` feed the outside-records summary."""

    plan: PatientPlan
    person: Person
    mrn: str
    reference: date
    chart: Chart
    rng: random.Random
    scanned_outside_records: bool
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)

    # --- dates ----------------------------------------------------------------------------------

    def days_ago(self, lo: int, hi: int) -> date:
        return self.reference - timedelta(days=self.rng.randint(lo, hi))

    def years_ago(self, lo: float, hi: float) -> date:
        return self.days_ago(int(lo * 365.25), int(hi * 365.25))

    def due_soon(self, interval_years: int) -> date:
        """Done so that the next due date falls 5 to 25 days after the reference date."""
        return years_before(
            self.reference + timedelta(days=self.rng.randint(5, 25)), interval_years
        )

    # --- documents ------------------------------------------------------------------------------

    def _header(self) -> str:
        birth = (
            self.person.birth_date.isoformat()
            if self.plan.archetype != Archetype.NO_BIRTH_DATE
            else "not recorded"
        )
        return f"Patient: {self.person.given} {self.person.family}   DOB: {birth}   MRN: {self.mrn}"

    def note(
        self,
        title: str,
        body: list[str],
        *,
        doc_type: DocType,
        service_date: date,
        formats: tuple[tuple[DocFormat, int], ...],
        filed: date | None = None,
        status: str = "current",
        author: str | None = None,
    ) -> JSON:
        fmt = _weighted(self.rng, formats)
        binary_share = 0.8 if fmt is DocFormat.SCANNED_PDF else 0.4
        lines = (self._header(), "", *body)
        return self.chart.document(
            Note(title, lines),
            fmt,
            doc_type=doc_type,
            service_date=service_date,
            filed=filed,
            via_binary=self.rng.random() < binary_share,
            status=status,
            author=author,
        )

    def evidence_document(self, title: str, body: list[str], when: date, doc_type: DocType) -> None:
        """The only evidence of a screening: often outside paper, often scanned."""
        self.note(
            title,
            body,
            doc_type=doc_type,
            service_date=when,
            # Filed days to weeks later, but never after "today": a chart holds no future paper.
            filed=min(when + timedelta(days=self.rng.randint(3, 60)), self.reference),
            formats=EVIDENCE_FORMATS,
            author=self.chart.staff.specialists.get(_SPECIALTY_OF.get(title, ""), None),
        )

    def supporting_document(
        self, title: str, body: list[str], when: date, doc_type: DocType
    ) -> None:
        """A report that accompanies coded evidence, about half the time."""
        if self.rng.random() < 0.5:
            self.note(title, body, doc_type=doc_type, service_date=when, formats=SUPPORT_FORMATS)

    # --- baseline -------------------------------------------------------------------------------

    def build(self) -> None:
        self.baseline()
        for key, scenario in self.plan.profile.items():
            handler = SCENARIOS.get(key)
            if handler is not None:
                handler(self, scenario)
        self.archetype_history()
        self.progress_notes()
        if self.scanned_outside_records:
            self.outside_records()
        visit_day_history(self)  # last: charts without visit-day scenarios stay as they were

    def baseline(self) -> None:
        plan, chart = self.plan, self.chart
        visits = sorted({self.days_ago(20, 700) for _ in range(1 + self.rng.randrange(4))})
        for day in visits:
            encounter = chart.visit(day)
            if plan.age >= 2:
                weight = round(
                    self.rng.uniform(55, 115) if plan.age >= 18 else 12 + plan.age * 3.5, 1
                )
                chart.observation(
                    codes.BODY_WEIGHT,
                    day,
                    category=VITALS,
                    encounter=encounter,
                    value={"valueQuantity": quantity(weight, "kg", "kg")},
                )
                if plan.age >= 18:
                    bmi = round(self.rng.uniform(19, 38), 1)
                    chart.observation(
                        codes.BMI,
                        day,
                        category=VITALS,
                        encounter=encounter,
                        value={"valueQuantity": quantity(bmi, "kg/m2", "kg/m2")},
                    )
        if plan.age < 18:
            chart.visit(self.days_ago(30, 330))  # well-child visit
            return
        if self.rng.random() < 0.6:
            chart.encounter(codes.pick(self.rng, codes.WELLNESS_VISIT), self.days_ago(60, 400))
        if plan.hypertension:
            self.problem(codes.HYPERTENSION, self.years_ago(1, 15))
            self.prescribe(codes.pick(self.rng, codes.ANTIHYPERTENSIVES))
        if plan.diabetes == "type2":
            self.problem(codes.pick(self.rng, codes.DIABETES_T2), self.years_ago(1, 12))
            self.prescribe(codes.pick(self.rng, codes.METFORMIN))
        elif plan.diabetes == "type1":
            self.problem(codes.DIABETES_T1, self.years_ago(5, 30))
        elif plan.diabetes == "prediabetes":
            self.problem(codes.PREDIABETES, self.years_ago(0.5, 6))
        elif plan.diabetes == "refuted":
            # Charted in error or ruled out: neither may trigger the diabetes screenings.
            chart.condition(
                codes.DIABETES_T2[0],
                self.years_ago(1, 4),
                verification="refuted",
                clinical="inactive",
            )
            chart.condition(
                codes.DIABETES_T2[1], self.years_ago(1, 4), verification="entered-in-error"
            )
        if plan.diabetes in ("type1", "type2") and plan.age >= 50 and self.rng.random() < 0.3:
            self.problem(codes.CKD_3, self.years_ago(1, 5))
        if plan.age >= 40 and self.rng.random() < 0.3:
            self.problem(codes.HYPERLIPIDEMIA, self.years_ago(1, 10))
            statin = codes.pick(self.rng, codes.STATINS)
            if plan.profile.get("statin") != "due_no_statin":
                self.prescribe(statin)
        if plan.ascvd:
            self.problem(codes.CORONARY_DISEASE, self.years_ago(1, 10))
            self.consult("Cardiology", self.days_ago(60, 600))
        if plan.smoking == "current" and plan.age >= 50 and self.rng.random() < 0.35:
            self.problem(codes.COPD, self.years_ago(1, 8))
        if self.rng.random() < 0.2:
            self.problem(codes.OBESITY, self.years_ago(1, 8))
        if self.rng.random() < 0.08:
            ed = chart.encounter(
                codes.ED_VISIT, self.days_ago(30, 700), klass="EMER", hour=19, reason=CHEST_PAIN
            )
            chart.condition(
                CHEST_PAIN,
                None,
                category=ENCOUNTER_DIAGNOSIS,
                clinical="resolved",
                encounter=chart.ref(ed),
            )
        if self.rng.random() < 0.04:
            self.hospital_stay(self.days_ago(60, 700))

    def problem(self, concept: Concept, onset: date) -> None:
        self.chart.condition(concept, onset)
        self.problems.append(concept.text)

    def prescribe(self, concept: Concept) -> None:
        self.chart.medication(concept, self.days_ago(15, 400))
        self.medications.append(concept.text)

    def consult(self, specialty: str, when: date) -> None:
        self.chart.encounter(
            codes.CONSULTATION,
            when,
            practitioner=self.chart.staff.specialists[specialty],
            specialty=specialty,
            hour=13,
        )

    def hospital_stay(self, admitted: date) -> None:
        days = self.rng.randint(2, 6)
        stay = self.chart.encounter(
            codes.INPATIENT, admitted, klass="IMP", days=days, reason=PNEUMONIA
        )
        self.chart.condition(
            PNEUMONIA,
            admitted,
            category=ENCOUNTER_DIAGNOSIS,
            clinical="resolved",
            encounter=self.chart.ref(stay),
        )
        self.note(
            "Discharge summary",
            [
                f"Admitted {admitted.isoformat()} with community-acquired pneumonia.",
                "Treated with intravenous antibiotics; improved and afebrile at discharge.",
                f"Discharged {(admitted + timedelta(days=days)).isoformat()} home, stable.",
                "Follow up with primary care within 1 week.",
            ],
            doc_type=DocTypes.DISCHARGE,
            service_date=admitted + timedelta(days=days),
            formats=((DocFormat.TEXT_PDF, 3), (DocFormat.HTML, 1)),
        )

    def progress_notes(self) -> None:
        if self.plan.age < 18:
            return
        for _ in range(1 + (self.rng.random() < 0.4)):
            day = self.days_ago(20, 500)
            problems = ", ".join(self.problems) or "no chronic conditions"
            meds = ", ".join(self.medications) or "none"
            self.note(
                "Office visit note",
                [
                    f"Date of service: {day.isoformat()}",
                    "Seen for follow-up. Reports feeling generally well; no new complaints.",
                    f"Active problems: {problems}.",
                    f"Current medications: {meds}.",
                    "Exam unremarkable. Plan: continue current management; return in 3-6 months.",
                ],
                doc_type=DocTypes.PROGRESS,
                service_date=day,
                formats=NOTE_FORMATS,
            )

    def outside_records(self) -> None:
        """A scanned summary from a previous practice, restating only what the chart holds."""
        when = self.days_ago(30, 900)
        body = [
            "Records received from previous primary care practice.",
            "",
            f"Problem list: {', '.join(self.problems) or 'none'}.",
            f"Medications: {', '.join(self.medications) or 'none'}.",
        ]
        if self.facts:
            body += ["", "Preventive care history:", *self.facts]
        self.chart.document(
            Note("Outside records", (self._header(), "", *body)),
            DocFormat.SCANNED_PDF,
            doc_type=DocTypes.SUMMARY,
            service_date=when,
            via_binary=self.rng.random() < 0.8,
        )

    def archetype_history(self) -> None:
        archetype, chart = self.plan.archetype, self.chart
        if archetype == Archetype.HOSPICE:
            admitted = self.days_ago(20, 90)
            chart.encounter(codes.HOSPICE_ENCOUNTER, admitted, klass="HH")
            self.problem(PANCREATIC_CANCER, self.years_ago(0.5, 1.5))
            chart.condition(codes.HOSPICE_FINDING, admitted)
        elif archetype == Archetype.FRAILTY:
            self.problem(codes.pick(self.rng, codes.FRAILTY), self.days_ago(30, 200))
            illness = codes.pick(self.rng, codes.ADVANCED_ILLNESS)
            self.problem(illness, self.days_ago(60, 300))
            if illness.key == "alzheimers":
                self.prescribe(codes.MEMANTINE)
        elif archetype == Archetype.PALLIATIVE:
            seen = self.days_ago(20, 120)
            visit = chart.encounter(
                codes.PALLIATIVE_ENCOUNTER, seen, reason=codes.PALLIATIVE_DIAGNOSIS
            )
            chart.condition(
                codes.PALLIATIVE_DIAGNOSIS,
                seen,
                category=ENCOUNTER_DIAGNOSIS,
                encounter=chart.ref(visit),
            )
            self.problem(codes.pick(self.rng, codes.ADVANCED_ILLNESS), self.years_ago(0.5, 2))
        if archetype in (Archetype.HOSPICE, Archetype.PALLIATIVE, Archetype.FRAILTY):
            self.problem(codes.DEPRESSION, self.years_ago(0.5, 3))
            self.prescribe(codes.pick(self.rng, codes.ANTIDEPRESSANTS))


# Not in any screening value set: realistic background for ED visits, stays and hospice charts.
CHEST_PAIN = codes.Concept(
    key="chest_pain",
    text="Chest pain",
    codes=(("http://hl7.org/fhir/sid/icd-10-cm", "R07.9"), (SNOMED, "29857009")),
    displays=("Chest pain, unspecified", "Chest pain (finding)"),
)
PNEUMONIA = codes.Concept(
    key="pneumonia",
    text="Pneumonia",
    codes=(("http://hl7.org/fhir/sid/icd-10-cm", "J18.9"), (SNOMED, "233604007")),
    displays=("Pneumonia, unspecified organism", "Pneumonia (disorder)"),
)
PANCREATIC_CANCER = codes.Concept(
    key="pancreatic_cancer",
    text="Malignant neoplasm of pancreas",
    oid=codes.VS.ADVANCED_ILLNESS,
    codes=(("http://hl7.org/fhir/sid/icd-10-cm", "C25.9"),),
)

EVIDENCE_FORMATS = (
    (DocFormat.SCANNED_PDF, 30),
    (DocFormat.TEXT_PDF, 40),
    (DocFormat.PLAIN, 15),
    (DocFormat.HTML, 15),
)
SUPPORT_FORMATS = (
    (DocFormat.TEXT_PDF, 60),
    (DocFormat.HTML, 20),
    (DocFormat.PLAIN, 15),
    (DocFormat.SCANNED_PDF, 5),
)
NOTE_FORMATS = ((DocFormat.PLAIN, 40), (DocFormat.HTML, 30), (DocFormat.TEXT_PDF, 30))
_SPECIALTY_OF = {
    "Colonoscopy report": "Gastroenterology",
    "Retinal exam": "Ophthalmology",
    "Mammogram result": "Radiology",
    "Bone density (DXA) report": "Radiology",
    "Pap smear result": "Gynecology",
}


def _weighted(rng: random.Random, options: tuple[tuple[DocFormat, int], ...]) -> DocFormat:
    pick = rng.randrange(sum(weight for _, weight in options))
    for fmt, weight in options:
        if pick < weight:
            return fmt
        pick -= weight
    raise AssertionError("weights must be positive")


# --- screening scenarios ----------------------------------------------------------------------


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


def influenza(h: History, scenario: str) -> None:
    reference = h.reference
    season = date(reference.year if reference.month >= 8 else reference.year - 1, 8, 1)
    if scenario == "complete_this_season":
        span = max((reference - season).days - 7, 1)
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA), season + timedelta(days=h.rng.randrange(span))
        )
    elif scenario == "due_last_season_only":
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA),
            years_before(season, 1) + timedelta(days=h.rng.randint(40, 120)),
        )
    elif scenario == "due_declined":
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA),
            h.days_ago(10, 60),
            status="not-done",
            status_reason=PATIENT_DECLINED,
        )


def pneumococcal(h: History, scenario: str) -> None:
    if scenario == "complete_pcv20":
        h.chart.immunization(codes.PCV20, h.years_ago(0.5, 4))
    elif scenario == "complete_pcv15_ppsv23":
        first = h.years_ago(2, 5)
        h.chart.immunization(codes.PCV15, first)
        h.chart.immunization(codes.PPSV23, first + timedelta(days=h.rng.randint(365, 500)))


def zoster(h: History, scenario: str) -> None:
    if scenario == "complete_two_doses":
        first = h.years_ago(1, 5)
        h.chart.immunization(codes.ZOSTER, first)
        h.chart.immunization(codes.ZOSTER, first + timedelta(days=h.rng.randint(60, 180)))
    elif scenario == "due_one_dose_only":
        h.chart.immunization(codes.ZOSTER, h.years_ago(1, 3))


def tdap(h: History, scenario: str) -> None:
    if scenario == "complete_tdap":
        when = h.years_ago(0.5, 8)
    elif scenario == "due_soon_tdap":
        when = h.due_soon(10)
    elif scenario == "overdue_tdap":
        when = h.years_ago(12, 16)
    else:
        return
    h.chart.immunization(codes.TDAP, when)


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
    history.build()
    return history.chart.resources
