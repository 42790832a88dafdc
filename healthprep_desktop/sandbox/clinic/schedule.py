"""The clinic schedule: Appointments for any day, deterministic per seed and day.

Each primary-care clinician has a panel (their patients, in a seeded order) and sees a window of
it each weekday. Window k starts at position 20k and holds 20 to 30 patients, so consecutive days
overlap and together reach every patient. `count=N` instead books exactly N appointments (on any
day, weekends included) for benchmarks: patients in a seeded rotation across the whole clinic,
each with their own clinician, slots shortened as needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from healthprep_desktop.sandbox.clinic.clock import local, weekday_index
from healthprep_desktop.sandbox.clinic.people import Clinician

JSON = dict[str, Any]
_WINDOW_STEP = 20  # the smallest day's size: windows never leave a gap
_DAY_MIN, _DAY_MAX = 20, 30
_SLOT_MINUTES = 15
_DAY_START = time(8, 0)
_LUNCH = (12 * 60, 13 * 60)
_V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
_VISIT_KINDS = (
    ("ROUTINE", "Routine appointment - default if not valued", "Office visit"),
    ("FOLLOWUP", "A follow up visit from a previous appointment", "Follow-up visit"),
    ("CHECKUP", "A routine check-up, such as an annual physical", "Annual physical"),
)


@dataclass(frozen=True, slots=True)
class Booking:
    patient_id: str
    patient_display: str
    clinician: Clinician
    location_id: str
    location_display: str


@dataclass(frozen=True, slots=True)
class Roster:
    """What the schedule needs to know about the clinic."""

    seed: int
    clinicians: tuple[Clinician, ...]  # primary care only
    panels: tuple[tuple[int, ...], ...]  # per clinician: patient indices
    patient_ids: tuple[str, ...]
    patient_displays: tuple[str, ...]
    location_ids: tuple[str, ...]
    location_displays: tuple[str, ...]

    def booking(self, patient: int, clinician_index: int) -> Booking:
        clinician = self.clinicians[clinician_index]
        return Booking(
            patient_id=self.patient_ids[patient],
            patient_display=self.patient_displays[patient],
            clinician=clinician,
            location_id=self.location_ids[clinician.location_index],
            location_display=self.location_displays[clinician.location_index],
        )


def _seeded_order(seed: int, label: str, items: tuple[int, ...]) -> list[int]:
    order = list(items)
    random.Random(f"healthprep-clinic/{seed}/{label}").shuffle(order)
    return order


def appointments(roster: Roster, day: date, count: int | None = None) -> list[JSON]:
    if count is not None:
        per_clinician = _exact_day(roster, day, count)
    elif day.weekday() >= 5:
        return []
    else:
        per_clinician = _usual_day(roster, day)
    result: list[JSON] = []
    for clinician_index, patients in enumerate(per_clinician):
        if not patients:
            continue
        minutes = (
            _SLOT_MINUTES if count is None else max(5, min(_SLOT_MINUTES, 480 // len(patients)))
        )
        rng = random.Random(
            f"healthprep-clinic/{roster.seed}/slots/{day.isoformat()}/{clinician_index}"
        )
        start = _DAY_START.hour * 60
        for patient in patients:
            if count is None and _LUNCH[0] <= start < _LUNCH[1]:
                start = _LUNCH[1]
            booking = roster.booking(patient, clinician_index)
            result.append(_appointment(booking, day, start, minutes, rng))
            start += minutes
    result.sort(key=lambda a: (a["start"], a["participant"][1]["actor"]["reference"]))
    for number, appointment in enumerate(result, start=1):
        appointment["id"] = f"appt-{day:%Y%m%d}-{number:04d}"
    return result


def _usual_day(roster: Roster, day: date) -> list[list[int]]:
    index = weekday_index(day)
    booked: list[list[int]] = []
    for clinician_index, panel in enumerate(roster.panels):
        if not panel:
            booked.append([])
            continue
        order = _seeded_order(roster.seed, f"panel/{clinician_index}", panel)
        rng = random.Random(
            f"healthprep-clinic/{roster.seed}/day/{day.isoformat()}/{clinician_index}"
        )
        size = min(rng.randint(_DAY_MIN, _DAY_MAX), len(order))
        first = (index * _WINDOW_STEP) % len(order)
        booked.append([order[(first + k) % len(order)] for k in range(size)])
    return booked


def _exact_day(roster: Roster, day: date, count: int) -> list[list[int]]:
    everyone = tuple(range(len(roster.patient_ids)))
    if not everyone or count <= 0:
        return [[] for _ in roster.clinicians]
    order = _seeded_order(roster.seed, "rotation", everyone)
    first = (day.toordinal() * count) % len(order)
    chosen = [
        order[(first + k) % len(order)] for k in range(count)
    ]  # repeats once count > patients
    owner = {patient: c for c, panel in enumerate(roster.panels) for patient in panel}
    booked: list[list[int]] = [[] for _ in roster.clinicians]
    for patient in chosen:
        booked[owner[patient]].append(patient)
    return booked


def _appointment(
    booking: Booking, day: date, start_minute: int, minutes: int, rng: random.Random
) -> JSON:
    start = local(day, time(0, 0)) + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=minutes)
    code, display, description = _VISIT_KINDS[rng.randrange(len(_VISIT_KINDS))]
    return {
        "resourceType": "Appointment",
        "id": "",  # numbered once the day is sorted
        "status": "booked",
        "serviceType": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/service-type",
                        "code": "124",
                        "display": "General Practice",
                    }
                ]
            }
        ],
        "appointmentType": {"coding": [{"system": _V2_0276, "code": code, "display": display}]},
        "description": description,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": minutes,
        "participant": [
            {
                "actor": {
                    "reference": f"Patient/{booking.patient_id}",
                    "display": booking.patient_display,
                },
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {
                    "reference": f"Practitioner/{booking.clinician.id}",
                    "display": booking.clinician.display,
                },
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {
                    "reference": f"Location/{booking.location_id}",
                    "display": booking.location_display,
                },
                "required": "required",
                "status": "accepted",
            },
        ],
    }
