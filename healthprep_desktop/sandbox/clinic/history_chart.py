"""One patient's chart under construction: dates, documents, the baseline chart and the
whole-chart archetypes that every scenario writer builds on.

The scenario writers (history_cancer, history_preventive, ...) take a History; history.py runs
them. Baseline notes never mention a screening keyword (see history.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.chart import (
    ENCOUNTER_DIAGNOSIS,
    VITALS,
    Chart,
    DocType,
    DocTypes,
    quantity,
)
from healthprep_desktop.sandbox.clinic.clock import years_before
from healthprep_desktop.sandbox.clinic.codes import Concept
from healthprep_desktop.sandbox.clinic.documents import DocFormat, Note
from healthprep_desktop.sandbox.clinic.patient_plan import PatientPlan
from healthprep_desktop.sandbox.clinic.people import Person
from healthprep_desktop.sandbox.clinic.scenarios import Archetype
from healthprep_desktop.screening.valuesets import SNOMED

JSON = dict[str, Any]


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
