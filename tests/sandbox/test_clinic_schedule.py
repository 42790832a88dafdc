"""The clinic schedule: deterministic per seed and day, whole references, all patients reached."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from healthprep_desktop.sandbox.clinic import SyntheticClinic

JSON = dict[str, Any]
WEDNESDAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def clinic() -> SyntheticClinic:
    # Only plans and the roster are built here; schedules never write charts.
    return SyntheticClinic(seed=4, patients=500)


def _actor(appointment: JSON, kind: str) -> str:
    refs: list[str] = [p["actor"]["reference"] for p in appointment["participant"]]
    return next(r.split("/", 1)[1] for r in refs if r.startswith(kind + "/"))


def test_a_weekday_has_20_to_30_booked_appointments_per_practitioner(
    clinic: SyntheticClinic,
) -> None:
    day = clinic.schedule(WEDNESDAY)
    per_practitioner = Counter(_actor(a, "Practitioner") for a in day)
    assert len(per_practitioner) == 7  # 500 patients, about 75 per clinician
    assert all(20 <= n <= 30 for n in per_practitioner.values())
    assert {a["status"] for a in day} == {"booked"}
    assert len({a["id"] for a in day}) == len(day)


def test_the_schedule_references_only_existing_patients_practitioners_and_locations(
    clinic: SyntheticClinic,
) -> None:
    patients, practitioners = set(clinic.patient_ids()), set(clinic.practitioner_ids())
    locations = set(clinic.location_ids())
    for appointment in clinic.schedule(WEDNESDAY) + clinic.schedule(WEDNESDAY, count=600):
        assert _actor(appointment, "Patient") in patients
        assert _actor(appointment, "Practitioner") in practitioners
        assert _actor(appointment, "Location") in locations


def test_the_same_day_gives_the_same_schedule_and_other_days_differ(
    clinic: SyntheticClinic,
) -> None:
    again = SyntheticClinic(seed=4, patients=500)
    assert clinic.schedule(WEDNESDAY) == again.schedule(WEDNESDAY)
    assert clinic.schedule(WEDNESDAY, count=500) == again.schedule(WEDNESDAY, count=500)
    assert clinic.schedule(WEDNESDAY) != clinic.schedule(WEDNESDAY + timedelta(days=1))
    assert clinic.schedule(WEDNESDAY) != SyntheticClinic(seed=5, patients=500).schedule(WEDNESDAY)


def test_weekends_are_closed_unless_a_count_is_asked_for(clinic: SyntheticClinic) -> None:
    saturday = date(2026, 12, 5)
    assert clinic.schedule(saturday) == []
    assert len(clinic.schedule(saturday, count=12)) == 12


def test_times_carry_the_clinic_offset_and_slots_never_overlap(clinic: SyntheticClinic) -> None:
    winter, summer = clinic.schedule(WEDNESDAY), clinic.schedule(date(2026, 7, 15))
    assert all(a["start"].endswith("-06:00") for a in winter)
    assert all(a["start"].endswith("-05:00") for a in summer)
    slots: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appointment in winter:
        start = datetime.fromisoformat(appointment["start"])
        end = datetime.fromisoformat(appointment["end"])
        assert start.date() == WEDNESDAY and end - start == timedelta(
            minutes=appointment["minutesDuration"]
        )
        assert 8 <= start.hour < 18
        slots[_actor(appointment, "Practitioner")].append((start, end))
    for times in slots.values():
        times.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(times))


def test_a_day_can_hold_exactly_500_distinct_patients(clinic: SyntheticClinic) -> None:
    day = clinic.schedule(WEDNESDAY, count=500)
    assert len(day) == 500
    assert len({_actor(a, "Patient") for a in day}) == 500


def test_every_patient_is_reached_within_two_weeks_of_weekdays(clinic: SyntheticClinic) -> None:
    seen: set[str] = set()
    day = WEDNESDAY
    for _ in range(14):
        seen |= {_actor(a, "Patient") for a in clinic.schedule(day)}
        day += timedelta(days=1)
    assert seen == set(clinic.patient_ids())


def test_patients_see_their_own_clinician(clinic: SyntheticClinic) -> None:
    for appointment in clinic.schedule(WEDNESDAY)[:40]:
        patient = clinic.patient_resources(_actor(appointment, "Patient"))[0]
        own = patient["generalPractitioner"][0]["reference"]
        assert own == f"Practitioner/{_actor(appointment, 'Practitioner')}"
