"""SyntheticClinic: a deterministic, seeded clinic of patients, staff, charts and schedules.

Plans (demographics and the scenario each patient is built for) are made up front; they are
cheap. Charts are written on demand, one patient at a time, so a 5,000-patient clinic can be
streamed (`iter_resources`) or read per patient (`patient_resources`) without holding it all.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.sandbox.clinic import people, schedule
from healthprep_desktop.sandbox.clinic.chart import Staff
from healthprep_desktop.sandbox.clinic.clock import CLINIC_TIME_ZONE
from healthprep_desktop.sandbox.clinic.history import build_history
from healthprep_desktop.sandbox.clinic.people import Person, SexRecording
from healthprep_desktop.sandbox.clinic.scenarios import (
    Archetype,
    PatientPlan,
    expected_status,
    plan_patients,
)
from healthprep_desktop.sandbox.clinic.visit_scenarios import expected_visit_status

JSON = dict[str, Any]
DEFAULT_REFERENCE_DATE = date(2026, 12, 1)
PATIENTS_PER_CLINICIAN = 75


@dataclass(frozen=True, slots=True)
class _Patient:
    plan: PatientPlan
    person: Person
    mrn: str
    recording: SexRecording


class SyntheticClinic:
    """A synthetic clinic, identical for the same arguments on every machine.

    `seed` picks the people and their histories; `patients` the panel size (the first N patients
    of a bigger clinic with the same seed have the same demographics); `reference_date` is the
    "today" all histories are relative to (never the real today, for determinism).
    """

    time_zone = CLINIC_TIME_ZONE

    def __init__(
        self,
        seed: int = 1,
        patients: int = 500,
        *,
        reference_date: date = DEFAULT_REFERENCE_DATE,
        organization_id: str = "org-1",
        scanned_outside_records_every: int = 20,
    ) -> None:
        if patients < 0:
            raise ValueError("patients must not be negative")
        self.seed = seed
        self.reference_date = reference_date
        self.organization_id = organization_id
        self._scan_every = scanned_outside_records_every
        rng = random.Random(f"healthprep-clinic/{seed}/staff")
        primary = max(1, math.ceil(patients / PATIENTS_PER_CLINICIAN))
        self._locations = min(len(people.LOCATION_NAMES), max(1, primary // 3))
        self._clinicians = people.make_clinicians(rng, primary, self._locations)
        self._primary = tuple(c for c in self._clinicians if c.schedules)
        plans = plan_patients(seed, patients, reference_date, len(self._primary))
        self._patients = [self._patient(plan) for plan in plans]
        self._by_id = {p.plan.id: p for p in self._patients}
        self._roster = schedule.Roster(
            seed=seed,
            clinicians=self._primary,
            panels=tuple(
                tuple(p.plan.index for p in self._patients if p.plan.practitioner == c)
                for c in range(len(self._primary))
            ),
            patient_ids=tuple(p.plan.id for p in self._patients),
            patient_displays=tuple(f"{p.person.given} {p.person.family}" for p in self._patients),
            location_ids=tuple(self._location_id(i) for i in range(self._locations)),
            location_displays=tuple(
                people.LOCATION_NAMES[i % len(people.LOCATION_NAMES)]
                for i in range(self._locations)
            ),
        )

    def _patient(self, plan: PatientPlan) -> _Patient:
        rng = random.Random(f"healthprep-clinic/{self.seed}/person/{plan.index}")
        person = people.make_person(rng, plan.sex, plan.birth_date)
        if plan.archetype == Archetype.GENDER_UNKNOWN:
            recording = SexRecording(gender="unknown", birthsex=True, us_core_sex=True)
        elif plan.archetype == Archetype.GENDER_ABSENT:
            recording = SexRecording(gender=None, birthsex=False, us_core_sex=True)
        else:
            recording = SexRecording(
                gender=plan.sex, birthsex=rng.random() < 0.85, us_core_sex=rng.random() < 0.4
            )
        mrn = f"{self.seed % 90 + 10}{plan.index + 1:06d}"
        return _Patient(plan, person, mrn, recording)

    @staticmethod
    def _location_id(index: int) -> str:
        return f"loc-{index + 1}"

    # --- identities -----------------------------------------------------------------------------

    @property
    def organization_reference(self) -> str:
        return f"Organization/{self.organization_id}"

    def patient_ids(self) -> list[str]:
        return [p.plan.id for p in self._patients]

    def practitioner_ids(self) -> list[str]:
        return [c.id for c in self._clinicians]

    def location_ids(self) -> list[str]:
        return [self._location_id(i) for i in range(self._locations)]

    # --- resources ------------------------------------------------------------------------------

    def resources(self) -> list[JSON]:
        """Every resource except Appointments (Binary included), ids assigned."""
        return list(self.iter_resources())

    def iter_resources(self) -> Iterator[JSON]:
        yield from self.staff_resources()
        for patient in self._patients:
            yield from self._chart(patient)

    def staff_resources(self) -> list[JSON]:
        """The Organization, its Locations and Practitioners."""
        org = self.organization_reference
        found: list[JSON] = [people.organization_json(self.organization_id, self.seed)]
        found += [
            people.location_json(self._location_id(i), i, org) for i in range(self._locations)
        ]
        found += [people.practitioner_json(c) for c in self._clinicians]
        return found

    def patient_resources(self, patient_id: str) -> list[JSON]:
        """One patient's Patient resource and chart (written afresh on each call)."""
        return self._chart(self._by_id[patient_id])

    def _chart(self, patient: _Patient) -> list[JSON]:
        plan = patient.plan
        clinician = self._primary[plan.practitioner]
        practitioner = f"Practitioner/{clinician.id}"
        staff = Staff(
            organization=self.organization_reference,
            practitioner=practitioner,
            location=f"Location/{self._location_id(clinician.location_index)}",
            specialists={
                c.specialty: f"Practitioner/{c.id}" for c in self._clinicians if not c.schedules
            },
        )
        resource = people.patient_json(
            plan.id,
            patient.mrn,
            patient.person,
            patient.recording,
            birth_date_known=plan.archetype != Archetype.NO_BIRTH_DATE,
            practitioner=practitioner,
            organization=self.organization_reference,
        )
        scanned = self._scan_every > 0 and (plan.index + self.seed) % self._scan_every == 9
        chart = build_history(
            plan,
            patient.person,
            patient.mrn,
            self.reference_date,
            staff,
            seed=self.seed,
            scanned_outside_records=scanned and plan.age >= 18,
        )
        return [resource, *chart]

    # --- schedule -------------------------------------------------------------------------------

    def schedule(self, day: date, count: int | None = None) -> list[JSON]:
        """Booked Appointments for a day: 20-30 per clinician on weekdays, none at weekends;
        with `count`, exactly that many on any day (patients repeat once count exceeds them)."""
        return schedule.appointments(self._roster, day, count)

    # --- test and demo metadata (never served over FHIR) ----------------------------------------

    def expected_profile(self, patient_id: str) -> dict[str, str]:
        """Screening key -> scenario the patient was built for, e.g. {'colorectal':
        'complete_colonoscopy', 'breast': 'excluded_bilateral_mastectomy'}."""
        return dict(self._by_id[patient_id].plan.profile)

    def expected_statuses(self, patient_id: str) -> dict[str, str]:
        """Screening key -> screening.model.Status value the scenario should produce."""
        return {
            key: expected_status(scenario)
            for key, scenario in self._by_id[patient_id].plan.profile.items()
        }

    def expected_visit_profile(self, patient_id: str) -> dict[str, str]:
        """Screening key -> visit-day scenario (visit_scenarios.py), e.g. {'depression':
        'follow_up_needed_positive_screen', 'colorectal': 'declined_colonoscopy'}."""
        return dict(self._by_id[patient_id].plan.visit)

    def expected_visit_statuses(self, patient_id: str) -> dict[str, str]:
        """Screening key -> Status value after visit_status.refine (the engine's own status
        for the key is still expected_statuses)."""
        return {
            key: expected_visit_status(scenario)
            for key, scenario in self._by_id[patient_id].plan.visit.items()
        }

    def traits(self, patient_id: str) -> dict[str, str]:
        """Whole-chart facts: 'archetype' (hospice, frailty_advanced_illness, palliative,
        no_birth_date, gender_unknown, gender_absent, child, age_boundary), 'sex_source',
        'age_boundary', 'order' (frailty_device) and, for toddlers, 'immunizations'
        (complete_series, incomplete_series)."""
        return dict(self._by_id[patient_id].plan.traits)

    def profiles(self) -> dict[str, dict[str, str]]:
        """expected_profile for every patient, by patient id."""
        return {p.plan.id: dict(p.plan.profile) for p in self._patients}
