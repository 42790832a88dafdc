"""A clinic day's schedule: Appointments for a date -> the patients to prepare.

The day is searched with explicit bounds in the clinic's time zone
(``date=ge2021-07-01T00:00:00-05:00&date=lt2021-07-02T00:00:00-05:00``), never a bare date,
which a server may read in UTC (dropping the evening's visits and adding the next day's early
ones), and what comes back is kept only when it starts on that day in the clinic's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from healthprep_desktop.clinic_zone import clinic_zone
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


def day_bounds(day: date, tz: tzinfo | str | None) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` and of the next day in the zone (each with its own offset, so a
    daylight-saving day is 23 or 25 hours long)."""
    zone = clinic_zone(tz)
    return (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
    )


def day_search_params(day: date, tz: tzinfo | str | None) -> list[tuple[str, Any]]:
    """The Appointment search for a clinic day: ``date=ge<local midnight>&date=lt<next one>``."""
    start, end = day_bounds(day, tz)
    return [
        ("date", "ge" + start.isoformat(timespec="seconds")),
        ("date", "lt" + end.isoformat(timespec="seconds")),
    ]


def local_start_date(start: object, tz: tzinfo | str | None) -> date | None:
    """The day an Appointment's start falls on in the clinic's zone; None when unreadable. A
    start without an offset is local time already; a bare date is that date."""
    if not isinstance(start, str) or not start.strip():
        return None
    text = start.strip()
    try:
        if "T" not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(clinic_zone(tz))
    return moment.date()


def on_day(appointments: list[JSON], day: date, tz: tzinfo | str | None) -> list[JSON]:
    """The Appointments that start on ``day`` in the clinic's zone. One without a readable start
    is kept: the server matched it to the day, and dropping it would hide a patient."""
    zone = clinic_zone(tz)
    kept: list[JSON] = []
    for appt in appointments:
        local = local_start_date(appt.get("start"), zone)
        if local is None or local == day:
            kept.append(appt)
    return kept


async def fetch_day_appointments(
    client: FhirClient,
    day: date,
    *,
    tz: tzinfo | str | None,
    practitioner: str | None = None,
    location: str | None = None,
) -> list[JSON]:
    """The Appointments of a clinic day in the clinic's zone ``tz`` (an IANA name or a zone;
    None: this workstation's). practitioner/location: ids or "Type/id" references."""
    zone = clinic_zone(tz)
    params = [*day_search_params(day, zone), ("_count", 200)]
    if practitioner:
        params.append(("practitioner", _as_ref("Practitioner", practitioner)))
    if location:
        params.append(("location", _as_ref("Location", location)))
    return on_day(await client.search_all("Appointment", params), day, zone)


async def fetch_schedule(
    client: FhirClient,
    day: date,
    *,
    tz: tzinfo | str | None = None,
    practitioner: str | None = None,
    location: str | None = None,
) -> list[ScheduledVisit]:
    """The day's visits in the clinic's zone ``tz`` (None: this workstation's zone)."""
    appointments = await fetch_day_appointments(
        client, day, tz=tz, practitioner=practitioner, location=location
    )
    return visits_from_appointments(appointments)


def unique_patients(visits: list[ScheduledVisit]) -> list[str]:
    """Patient ids in schedule order, each once (a patient may have two visits in a day)."""
    return list(dict.fromkeys(v.patient_id for v in visits))


def _as_ref(resource_type: str, value: str) -> str:
    return value if "/" in value else f"{resource_type}/{value}"
