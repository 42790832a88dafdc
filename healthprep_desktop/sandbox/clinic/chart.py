"""Writes one patient's chart as FHIR R4 JSON: one method per resource type.

Ids are `<kind>-<patient number>-<n>`, numbered in the order the chart is written, so the same
plan always gives the same ids. References are relative ("Patient/pat-00012").
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.clock import stamp
from healthprep_desktop.sandbox.clinic.codes import Concept, concept_json
from healthprep_desktop.sandbox.clinic.documents import DocFormat, Note, render
from healthprep_desktop.screening.valuesets import LOINC, Coding

JSON = dict[str, Any]
UCUM = "http://unitsofmeasure.org"
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
_ACT_CODE = f"{_TERMINOLOGY}/v3-ActCode"
_CLASS_DISPLAY = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "IMP": "inpatient encounter",
    "HH": "home health",
}


def _category(system: str, code: str, display: str) -> list[JSON]:
    return [{"coding": [{"system": system, "code": code, "display": display}]}]


OBS_CATEGORY = f"{_TERMINOLOGY}/observation-category"
LAB = _category(OBS_CATEGORY, "laboratory", "Laboratory")
VITALS = _category(OBS_CATEGORY, "vital-signs", "Vital Signs")
IMAGING = _category(OBS_CATEGORY, "imaging", "Imaging")
SURVEY = _category(OBS_CATEGORY, "survey", "Survey")
SOCIAL_HISTORY = _category(OBS_CATEGORY, "social-history", "Social History")
PROBLEM_LIST = _category(
    f"{_TERMINOLOGY}/condition-category", "problem-list-item", "Problem List Item"
)
ENCOUNTER_DIAGNOSIS = _category(
    f"{_TERMINOLOGY}/condition-category", "encounter-diagnosis", "Encounter Diagnosis"
)
REPORT_LAB = _category(f"{_TERMINOLOGY}/v2-0074", "LAB", "Laboratory")
REPORT_RADIOLOGY = _category(f"{_TERMINOLOGY}/v2-0074", "RAD", "Radiology")
CLINICAL_NOTE = _category(
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
    "clinical-note",
    "Clinical Note",
)


@dataclass(frozen=True, slots=True)
class DocType:
    code: str
    display: str


class DocTypes:
    PROGRESS = DocType("11506-3", "Progress note")
    PROCEDURE = DocType("28570-0", "Procedure note")
    IMAGING = DocType("18748-4", "Diagnostic imaging study")
    LAB = DocType("11502-2", "Laboratory report")
    CONSULT = DocType("11488-4", "Consult note")
    SUMMARY = DocType("34133-9", "Summary of episode note")
    REFERRAL = DocType("57133-1", "Referral note")
    DISCHARGE = DocType("18842-5", "Discharge summary")


def quantity(value: float, unit: str, code: str | None = None) -> JSON:
    q: JSON = {"value": value, "unit": unit}
    if code is not None:
        q["system"] = UCUM
        q["code"] = code
    return q


def coded(coding: Coding, text: str | None = None) -> JSON:
    return {"coding": [codes.coding_json(coding)], "text": text or coding.display}


@dataclass(frozen=True, slots=True)
class Staff:
    """Who and where for a chart's encounters: the patient's own clinician and clinic."""

    organization: str  # "Organization/<id>"
    practitioner: str  # "Practitioner/<id>"
    location: str  # "Location/<id>"
    specialists: dict[str, str]  # specialty -> "Practitioner/<id>"


class Chart:
    def __init__(self, patient_id: str, staff: Staff, rng: random.Random) -> None:
        self.patient_id = patient_id
        self.subject = {"reference": f"Patient/{patient_id}"}
        self.staff = staff
        self.rng = rng
        self.resources: list[JSON] = []
        self._number = patient_id.rsplit("-", 1)[-1]
        self._count = 0
        self._visits: dict[date, str] = {}

    def _new(self, resource_type: str, kind: str) -> JSON:
        self._count += 1
        resource: JSON = {
            "resourceType": resource_type,
            "id": f"{kind}-{self._number}-{self._count}",
        }
        self.resources.append(resource)
        return resource

    @staticmethod
    def ref(resource: JSON) -> str:
        return f"{resource['resourceType']}/{resource['id']}"

    # --- Encounters ---------------------------------------------------------------------------

    def encounter(
        self,
        concept: Concept,
        start: date,
        *,
        klass: str = "AMB",
        days: int = 0,
        practitioner: str | None = None,
        specialty: str | None = None,
        reason: Concept | None = None,
        hour: int = 9,
    ) -> JSON:
        enc = self._new("Encounter", "enc")
        enc["status"] = "finished"
        enc["class"] = {"system": _ACT_CODE, "code": klass, "display": _CLASS_DISPLAY[klass]}
        enc["type"] = [concept_json(concept)]
        if specialty is not None:
            enc["serviceType"] = {"text": specialty}
        enc["subject"] = self.subject
        who = practitioner or self.staff.practitioner
        enc["participant"] = [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": f"{_TERMINOLOGY}/v3-ParticipationType",
                                "code": "PPRF",
                                "display": "primary performer",
                            }
                        ]
                    }
                ],
                "individual": {"reference": who},
            }
        ]
        end = start + timedelta(days=days)
        enc["period"] = {
            "start": stamp(start, hour),
            "end": stamp(end, hour + 1 if days == 0 else 11, 0 if days else 20),
        }
        if reason is not None:
            enc["reasonCode"] = [concept_json(reason)]
        if klass == "AMB" and practitioner is None:
            enc["location"] = [{"location": {"reference": self.staff.location}}]
        enc["serviceProvider"] = {"reference": self.staff.organization}
        return enc

    def visit(self, day: date) -> str:
        """The office visit on a day (created once), as "Encounter/<id>"."""
        if day not in self._visits:
            concept = codes.pick(self.rng, codes.OFFICE_VISIT)
            self._visits[day] = self.ref(
                self.encounter(concept, day, hour=8 + self.rng.randrange(8))
            )
        return self._visits[day]

    # --- Conditions ---------------------------------------------------------------------------

    def condition(
        self,
        concept: Concept,
        onset: date | None,
        *,
        category: list[JSON] = PROBLEM_LIST,
        clinical: str | None = "active",
        verification: str = "confirmed",
        encounter: str | None = None,
    ) -> JSON:
        cond = self._new("Condition", "cond")
        # con-5: no clinicalStatus on an entered-in-error condition.
        if clinical is not None and verification != "entered-in-error":
            cond["clinicalStatus"] = {
                "coding": [{"system": f"{_TERMINOLOGY}/condition-clinical", "code": clinical}]
            }
        cond["verificationStatus"] = {
            "coding": [{"system": f"{_TERMINOLOGY}/condition-ver-status", "code": verification}]
        }
        cond["category"] = category
        cond["code"] = concept_json(concept, self.rng)
        cond["subject"] = self.subject
        if encounter is not None:
            cond["encounter"] = {"reference": encounter}
        if onset is not None:
            cond["onsetDateTime"] = onset.isoformat()
            cond["recordedDate"] = stamp(onset, 10)
        return cond

    # --- Observations -------------------------------------------------------------------------

    def observation(
        self,
        concept: Concept,
        when: date,
        *,
        category: list[JSON],
        value: JSON | None = None,
        status: str = "final",
        components: list[JSON] | None = None,
        absent: str | None = None,
        encounter: str | None = None,
        hour: int = 9,
    ) -> JSON:
        obs = self._new("Observation", "obs")
        obs["status"] = status
        obs["category"] = category
        obs["code"] = concept_json(concept)
        obs["subject"] = self.subject
        if encounter is not None:
            obs["encounter"] = {"reference": encounter}
        obs["effectiveDateTime"] = stamp(when, hour, 15)
        obs["issued"] = stamp(when, min(hour + 6, 20), 30)
        if value is not None:
            obs.update(value)
        elif absent is not None:
            obs["dataAbsentReason"] = {
                "coding": [{"system": f"{_TERMINOLOGY}/data-absent-reason", "code": absent}]
            }
        if components is not None:
            obs["component"] = components
        return obs

    def blood_pressure(
        self,
        when: date,
        systolic: int,
        diastolic: int,
        *,
        status: str = "final",
        encounter: str | None = None,
    ) -> JSON:
        def component(concept: Concept, mmhg: int) -> JSON:
            return {
                "code": concept_json(concept),
                "valueQuantity": quantity(mmhg, "mmHg", "mm[Hg]"),
            }

        return self.observation(
            codes.BP_PANEL,
            when,
            category=VITALS,
            status=status,
            components=[component(codes.SYSTOLIC, systolic), component(codes.DIASTOLIC, diastolic)],
            encounter=encounter or self.visit(when),
        )

    def blood_pressure_parts(self, when: date, systolic: int, diastolic: int | None) -> list[JSON]:
        """A reading as separate systolic and diastolic Observations of one visit (as some
        EHRs chart it), or a systolic value alone when ``diastolic`` is None."""
        encounter = self.visit(when)
        parts = [(codes.SYSTOLIC, systolic), (codes.DIASTOLIC, diastolic)]
        return [
            self.observation(
                concept,
                when,
                category=VITALS,
                value={"valueQuantity": quantity(mmhg, "mmHg", "mm[Hg]")},
                encounter=encounter,
            )
            for concept, mmhg in parts
            if mmhg is not None
        ]

    # --- Procedures ---------------------------------------------------------------------------

    def procedure(
        self,
        concept: Concept,
        when: date | None,
        *,
        status: str = "completed",
        period_end_only: bool = False,
        status_reason: JSON | None = None,
        performer: str | None = None,
    ) -> JSON:
        proc = self._new("Procedure", "proc")
        proc["status"] = status
        if status_reason is not None:
            proc["statusReason"] = status_reason
        proc["code"] = concept_json(concept, self.rng)
        proc["subject"] = self.subject
        if when is not None:
            if period_end_only:
                proc["performedPeriod"] = {"end": stamp(when, 11)}
            elif self.rng.random() < 0.5:
                proc["performedDateTime"] = when.isoformat()
            else:
                proc["performedDateTime"] = stamp(when, 8 + self.rng.randrange(6))
        if performer is not None:
            proc["performer"] = [{"actor": {"reference": performer}}]
        return proc

    # --- Reports ------------------------------------------------------------------------------

    def report(
        self,
        concept: Concept,
        when: date,
        *,
        category: list[JSON],
        results: list[JSON],
        conclusion: str | None = None,
        status: str = "final",
    ) -> JSON:
        rep = self._new("DiagnosticReport", "dr")
        rep["status"] = status
        rep["category"] = category
        rep["code"] = concept_json(concept)
        rep["subject"] = self.subject
        rep["effectiveDateTime"] = stamp(when, 9, 15)
        rep["issued"] = stamp(when, 16, 45)
        if results:
            rep["result"] = [{"reference": self.ref(r)} for r in results]
        if conclusion is not None:
            rep["conclusion"] = conclusion
        return rep

    # --- Immunizations and medications --------------------------------------------------------

    def immunization(
        self,
        concept: Concept,
        when: date,
        *,
        status: str = "completed",
        status_reason: JSON | None = None,
    ) -> JSON:
        imm = self._new("Immunization", "imm")
        imm["status"] = status
        if status_reason is not None:
            imm["statusReason"] = status_reason
        imm["vaccineCode"] = concept_json(concept)
        imm["patient"] = self.subject
        imm["occurrenceDateTime"] = stamp(when, 10 + self.rng.randrange(6))
        imm["primarySource"] = status == "completed"
        if status == "completed":
            imm["lotNumber"] = f"{self.rng.choice('ABCDEFGHJK')}{self.rng.randint(1000, 9999)}"
        return imm

    def medication(self, concept: Concept, authored: date, *, status: str = "active") -> JSON:
        med = self._new("MedicationRequest", "med")
        med["status"] = status
        med["intent"] = "order"
        med["medicationCodeableConcept"] = concept_json(concept)
        med["subject"] = self.subject
        med["authoredOn"] = stamp(authored, 11)
        med["requester"] = {"reference": self.staff.practitioner}
        med["dosageInstruction"] = [{"text": "Take 1 tablet by mouth daily"}]
        return med

    def service_request(
        self,
        concept: Concept,
        authored: date,
        *,
        status: str = "completed",
        do_not_perform: bool = False,
        reason: JSON | None = None,
    ) -> JSON:
        """An order or referral (intent order); with `do_not_perform`, an order not to do it."""
        req = self._new("ServiceRequest", "sr")
        req["status"] = status
        req["intent"] = "order"
        if do_not_perform:
            req["doNotPerform"] = True
        req["code"] = concept_json(concept)
        req["subject"] = self.subject
        req["authoredOn"] = stamp(authored, 11, 30)
        req["requester"] = {"reference": self.staff.practitioner}
        if reason is not None:
            req["reasonCode"] = [reason]
        return req

    def device_request(self, concept: Concept, authored: date, *, status: str = "active") -> JSON:
        req = self._new("DeviceRequest", "dev")
        req["status"] = status
        req["intent"] = "order"
        req["codeCodeableConcept"] = concept_json(concept)
        req["subject"] = self.subject
        req["authoredOn"] = stamp(authored, 11, 45)
        req["requester"] = {"reference": self.staff.practitioner}
        return req

    # --- Documents ----------------------------------------------------------------------------

    def document(
        self,
        note: Note,
        fmt: DocFormat,
        *,
        doc_type: DocType,
        service_date: date,
        filed: date | None = None,
        via_binary: bool = False,
        status: str = "current",
        author: str | None = None,
    ) -> JSON:
        data = render(note, fmt)
        encoded = base64.b64encode(data).decode("ascii")
        doc = self._new("DocumentReference", "doc")
        attachment: JSON = {"contentType": fmt.content_type}
        if via_binary:
            binary = self._new("Binary", "bin")
            binary["contentType"] = fmt.content_type
            binary["securityContext"] = self.subject
            binary["data"] = encoded
            attachment["url"] = self.ref(binary)
        else:
            attachment["data"] = encoded
        attachment["size"] = len(data)
        # Attachment.hash is the base64 SHA-1 of the data (FHIR R4), not a security measure.
        attachment["hash"] = base64.b64encode(
            hashlib.sha1(data, usedforsecurity=False).digest()
        ).decode()
        attachment["title"] = note.title
        attachment["creation"] = stamp(service_date, 12)
        doc["status"] = status
        doc["docStatus"] = "final"
        doc["type"] = {
            "coding": [{"system": LOINC, "code": doc_type.code, "display": doc_type.display}],
            "text": doc_type.display,
        }
        doc["category"] = CLINICAL_NOTE
        doc["subject"] = self.subject
        doc["date"] = stamp(filed or service_date, 17, 5)
        doc["author"] = [{"reference": author or self.staff.practitioner}]
        doc["description"] = note.title
        doc["content"] = [{"attachment": attachment}]
        doc["context"] = {
            "period": {"start": stamp(service_date, 8), "end": stamp(service_date, 17)}
        }
        return doc
