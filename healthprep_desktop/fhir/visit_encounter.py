"""The encounter a visit's prep sheet is filed against.

Some EHRs (Epic, Oracle Health) file a clinical note only against an encounter. The visit's
encounter is, in order of preference: an Encounter whose ``appointment`` references the visit's
Appointment, else an Encounter of the patient that starts on the clinic day, read in the clinic's
time zone. The day is searched with explicit bounds carrying the zone's offset (a server reading a
bare date in UTC would move the evening's encounters to the next day) and filtered again here by
the local start date, so a server that ignores or widens the search still gives the right answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import BadRequest, NotFound
from healthprep_desktop.fhir.paging import TooManyPages
from healthprep_desktop.fhir.parsing import JSON

# Encounters that never happened are not filed against.
VOID_STATUSES = frozenset({"cancelled", "entered-in-error"})
# Preferred first: the visit under way, then one about to start, then one already closed.
_STATUS_RANK = {
    "in-progress": 0,
    "arrived": 1,
    "triaged": 2,
    "onleave": 3,
    "planned": 4,
    "finished": 5,
}
_PAGE = 50


@dataclass(frozen=True, slots=True)
class VisitKey:
    """What identifies the visit: the clinic day, the Appointment (when the day came from the
    schedule), its start, and the clinic's IANA time zone (None: the workstation's)."""

    day: date
    appointment_id: str | None = None
    start: str | None = None
    tz: str | None = None


def clinic_zone(tz: str | tzinfo | None) -> tzinfo:
    """The clinic's zone; the workstation's when none (or an unknown one) is configured."""
    if isinstance(tz, tzinfo):
        return tz
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def day_bounds(day: date, zone: tzinfo) -> tuple[str, str]:
    """The clinic day as [start, next day's start) instants with the zone's offsets."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


def _instant(value: Any, zone: tzinfo) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:  # a bare date: midnight that day, in the clinic's zone
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _ref_id(reference: Any, resource_type: str) -> str | None:
    ref = str((reference or {}).get("reference") or "") if isinstance(reference, dict) else ""
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    return None


def _for_patient(encounter: JSON, patient_id: str) -> bool:
    return _ref_id(encounter.get("subject"), "Patient") == patient_id


def _usable(encounter: JSON, patient_id: str) -> bool:
    return (
        bool(encounter.get("id"))
        and encounter.get("status") not in VOID_STATUSES
        and _for_patient(encounter, patient_id)
    )


def references_appointment(encounter: JSON, appointment_id: str) -> bool:
    return any(
        _ref_id(ref, "Appointment") == appointment_id for ref in encounter.get("appointment") or []
    )


def starts_on(encounter: JSON, day: date, zone: tzinfo) -> bool:
    start = _instant((encounter.get("period") or {}).get("start"), zone)
    return start is not None and start.astimezone(zone).date() == day


def _best(candidates: list[JSON], visit_start: datetime | None, zone: tzinfo) -> JSON:
    def key(encounter: JSON) -> tuple[int, float, str]:
        rank = _STATUS_RANK.get(str(encounter.get("status") or ""), 6)
        start = _instant((encounter.get("period") or {}).get("start"), zone)
        distance = (
            abs((start - visit_start).total_seconds())
            if start is not None and visit_start is not None
            else 0.0
        )
        return rank, distance, str(encounter.get("id"))

    return min(candidates, key=key)


async def _search(client: FhirClient, params: list[tuple[str, Any]]) -> list[JSON]:
    """The first page only: a day's encounters for one patient fit in it, and a server that
    ignores a parameter must not make us page through a whole history."""
    found: list[JSON] = []
    try:
        async for page in client.search_pages("Encounter", params, max_pages=1):
            found.extend(page.resources)
    except TooManyPages:  # raised before the second page is asked for
        pass
    except (BadRequest, NotFound):  # the server does not support this search
        return []
    return found


async def find_visit_encounter(client: FhirClient, patient_id: str, visit: VisitKey) -> str | None:
    """The id of the visit's Encounter, or None when the EHR has none yet."""
    zone = clinic_zone(visit.tz)
    low, high = day_bounds(visit.day, zone)
    found = await _search(
        client,
        [("patient", patient_id), ("date", f"ge{low}"), ("date", f"lt{high}"), ("_count", _PAGE)],
    )
    usable = [e for e in found if _usable(e, patient_id)]
    if visit.appointment_id:
        linked = [e for e in usable if references_appointment(e, visit.appointment_id)]
        if not linked:
            # An encounter made for the appointment may carry no period (yet) or another date.
            direct = await _search(
                client,
                [
                    ("patient", patient_id),
                    ("appointment", f"Appointment/{visit.appointment_id}"),
                    ("_count", _PAGE),
                ],
            )
            linked = [
                e
                for e in direct
                if _usable(e, patient_id) and references_appointment(e, visit.appointment_id)
            ]
        if linked:
            return str(_best(linked, _instant(visit.start, zone), zone)["id"])
    same_day = [e for e in usable if starts_on(e, visit.day, zone)]
    if not same_day:
        return None
    return str(_best(same_day, _instant(visit.start, zone), zone)["id"])
