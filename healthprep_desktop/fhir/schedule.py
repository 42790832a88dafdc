"""A clinic day's schedule: Appointments for a date -> the patients to prepare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.parsing import JSON

# Appointments that will not happen are not prepared for.
SKIPPED_STATUSES = frozenset({"cancelled", "entered-in-error", "noshow"})


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    patient_id: str
    appointment_id: str
    start: str | None  # FHIR instant as sent (the server's time zone is kept)
    end: str | None
    status: str
    practitioners: tuple[str, ...]  # "Practitioner/1"
    locations: tuple[str, ...]  # "Location/2"
    description: str | None
    appointment_type: str | None


def _references(appointment: JSON, resource_type: str) -> list[str]:
    out: list[str] = []
    for participant in appointment.get("participant") or []:
        ref = str((participant.get("actor") or {}).get("reference") or "")
        # Strip an absolute base: "http://x/fhir/Patient/1" -> "Patient/1".
        parts = ref.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == resource_type:
            out.append(f"{resource_type}/{parts[-1]}")
    return out


def visits_from_appointments(appointments: list[JSON]) -> list[ScheduledVisit]:
    """One visit per (appointment, patient), in start order; cancelled ones left out."""
    visits: list[ScheduledVisit] = []
    for appt in appointments:
        status = str(appt.get("status") or "")
        if status in SKIPPED_STATUSES:
            continue
        appt_type = appt.get("appointmentType") or {}
        type_text = appt_type.get("text") or next(
            (c.get("display") for c in appt_type.get("coding") or [] if c.get("display")), None
        )
        for patient_ref in _references(appt, "Patient"):
            visits.append(
                ScheduledVisit(
                    patient_id=patient_ref.split("/", 1)[1],
                    appointment_id=str(appt.get("id") or ""),
                    start=appt.get("start"),
                    end=appt.get("end"),
                    status=status,
                    practitioners=tuple(_references(appt, "Practitioner")),
                    locations=tuple(_references(appt, "Location")),
                    description=appt.get("description"),
                    appointment_type=str(type_text) if type_text else None,
                )
            )
    visits.sort(key=lambda v: (v.start or "", v.appointment_id))
    return visits


async def fetch_schedule(
    client: FhirClient,
    day: date,
    *,
    practitioner: str | None = None,
    location: str | None = None,
) -> list[ScheduledVisit]:
    """The day's visits. practitioner/location: ids or "Type/id" references."""
    params: list[tuple[str, Any]] = [("date", day.isoformat()), ("_count", 200)]
    if practitioner:
        params.append(("practitioner", _as_ref("Practitioner", practitioner)))
    if location:
        params.append(("location", _as_ref("Location", location)))
    appointments = await client.search_all("Appointment", params)
    return visits_from_appointments(appointments)


def unique_patients(visits: list[ScheduledVisit]) -> list[str]:
    """Patient ids in schedule order, each once (a patient may have two visits in a day)."""
    return list(dict.fromkeys(v.patient_id for v in visits))


def _as_ref(resource_type: str, value: str) -> str:
    return value if "/" in value else f"{resource_type}/{value}"
