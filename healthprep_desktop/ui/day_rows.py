"""The rows of a clinic day as the window shows them, merged from what is known.

Sources, each optional: the live schedule (times, patient and provider names from the
Appointments), the store (the latest sheet per patient and the latest job's per-patient states)
and batch events while a job runs. Plain Python (no Qt) so the merging is unit-tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from healthprep_desktop.screening.model import Status
from healthprep_desktop.store import TenantScope

# Sheet column texts.
NOT_PREPARED = "Not prepared"
READY = "Ready"
FAILED = "Failed"
RESCREEN = "Re-screen needed"  # a match was dismissed since the sheet was made
_STATE_TEXT = {
    "pending": "Waiting",
    "running": "Working",
    "fetching": "Fetching chart",
    "extracting": "Reading documents",
    "screening": "Screening",
    "storing": "Saving",
    "writing_back": "Posting to chart",
    "done": READY,
    "skipped": READY,  # unchanged since the last run: the stored sheet stands
    "failed": FAILED,
}


def state_text(state: str) -> str:
    return _STATE_TEXT.get(state, state.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class DayRow:
    patient_id: str
    start: str | None = None  # FHIR instant as sent
    patient: str = ""  # display name, when known (from the schedule)
    provider: str = ""
    due: int | None = None  # Due + Overdue screenings
    due_soon: int | None = None
    sheet: str = NOT_PREPARED
    reason: str | None = None  # why it failed (no PHI)
    sheet_id: int | None = None

    @property
    def time_text(self) -> str:
        if not self.start:
            return ""
        try:
            return datetime.fromisoformat(self.start).strftime("%H:%M")
        except ValueError:
            return self.start

    @property
    def patient_text(self) -> str:
        return self.patient or f"Patient/{self.patient_id}"

    @property
    def summary_text(self) -> str:
        if self.due is None:
            return ""
        return f"{self.due} Due · {self.due_soon or 0} Due Soon"


@dataclass(frozen=True, slots=True)
class ScheduledPatient:
    """One visit as the window needs it (from the live schedule)."""

    patient_id: str
    start: str | None
    patient: str
    provider: str


# Statuses counted in a row's "due" figure: each asks for something at the visit.
ACTION_STATUSES = (Status.DUE, Status.OVERDUE, Status.NOT_AT_GOAL, Status.FOLLOW_UP_NEEDED)


def summary_counts(results: Any) -> tuple[int, int] | None:
    """(Due incl. Overdue and Not at goal, Due Soon) from a sheet's stored results: the batch's
    envelope (its ``summary`` status counts, else its ``results``) or a bare list of results."""
    if isinstance(results, dict) and isinstance(results.get("summary"), dict):
        counts = results["summary"]
        due = sum(int(counts.get(s.value, 0)) for s in ACTION_STATUSES)
        return due, int(counts.get(Status.DUE_SOON.value, 0))
    items = results.get("results") if isinstance(results, dict) else results
    if not isinstance(items, list):
        return None
    due = soon = 0
    for item in items:
        status = item.get("status") if isinstance(item, dict) else None
        if status in {s.value for s in ACTION_STATUSES}:
            due += 1
        elif status == Status.DUE_SOON.value:
            soon += 1
    return due, soon


def next_clinic_day(today: date) -> date:
    """The next weekday after today (clinic is prepared the afternoon before)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def scheduled_from_appointments(
    appointments: Iterable[Mapping[str, Any]], tz: tzinfo | None = None
) -> list[ScheduledPatient]:
    """Visits with the display names the Appointment carries (no extra reads per patient).
    ``tz``: the clinic's zone; a start with an offset is shown on the clinic's clock."""
    out: dict[str, ScheduledPatient] = {}
    for appt in appointments:
        if appt.get("status") in ("cancelled", "entered-in-error", "noshow"):
            continue
        patient_ids: list[str] = []
        patient_name = provider = ""
        for participant in appt.get("participant") or []:
            actor = participant.get("actor") or {}
            parts = str(actor.get("reference") or "").rstrip("/").split("/")
            if len(parts) < 2:
                continue
            if parts[-2] == "Patient":
                patient_ids.append(parts[-1])
                patient_name = patient_name or str(actor.get("display") or "")
            elif parts[-2] == "Practitioner":
                provider = provider or str(actor.get("display") or "")
        for pid in patient_ids:
            if pid not in out:
                out[pid] = ScheduledPatient(
                    pid, _local(appt.get("start"), tz), patient_name, provider
                )
    return sorted(out.values(), key=lambda s: (s.start or "", s.patient_id))


def _local(start: Any, tz: tzinfo | None) -> str | None:
    """An Appointment's start on the clinic's clock (as sent when it has no offset)."""
    if tz is None or not isinstance(start, str):
        return start if isinstance(start, str) else None
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return start
    return moment.astimezone(tz).isoformat() if moment.tzinfo is not None else start


def patient_name(patient: Mapping[str, Any]) -> str:
    """ "Given Family" from a FHIR Patient (the official name first)."""
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    names.sort(key=lambda n: 0 if n.get("use") == "official" else 1)
    for name in names:
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        text = " ".join(str(p) for p in parts if p).strip()
        if text:
            return text
    return ""


def rows_for_day(
    scope: TenantScope, day: date, schedule: list[ScheduledPatient] | None = None
) -> list[DayRow]:
    """The day's rows: the schedule's patients (when known) plus every patient of the day's
    latest job or with a stored sheet, with their latest sheet and job state. Offline, times
    come from the job's stored visits and names from the stored charts. Blocking: run it in a
    thread."""
    rows: dict[str, DayRow] = {}
    for planned in schedule or []:
        rows[planned.patient_id] = DayRow(
            planned.patient_id, planned.start, planned.patient, planned.provider
        )
    jobs = scope.jobs.all(clinic_day=day, limit=1)
    connection_id: int | None = None
    if jobs:
        job = jobs[0]
        connection_id = job.connection_id
        stored_visits = job.params.get("visits") if isinstance(job.params, dict) else None
        visits: dict[str, Any] = stored_visits if isinstance(stored_visits, dict) else {}
        for jp in scope.jobs.patients(job.id):
            row = rows.get(jp.patient_id) or DayRow(jp.patient_id)
            visit = visits.get(jp.patient_id) or {}
            rows[jp.patient_id] = replace(
                row,
                start=row.start or visit.get("start"),
                sheet=state_text(jp.state.value),
                reason=jp.reason if jp.state.value == "failed" else None,
            )
    for info in scope.sheets.all(clinic_day=day):  # oldest first: the last one wins
        row = rows.get(info.patient_id) or DayRow(info.patient_id)
        counts = summary_counts(info.results)
        sheet = row.sheet if row.sheet == FAILED else READY
        rows[info.patient_id] = replace(
            row,
            due=counts[0] if counts else None,
            due_soon=counts[1] if counts else None,
            sheet=sheet,
            sheet_id=info.id,
        )
    if connection_id is not None:
        for pid, row in rows.items():
            if not row.patient:
                stored = scope.records.get(connection_id, pid)
                if stored is not None:
                    rows[pid] = replace(
                        row, patient=patient_name(stored.record.get("patient") or {})
                    )
    return sorted(rows.values(), key=lambda r: (r.start or "~", r.patient_text))
