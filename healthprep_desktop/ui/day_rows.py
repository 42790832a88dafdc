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
WAITING_NETWORK = "Waiting for the EHR"  # failed while the connection was down: retried
CANCELLED_VISIT = "cancelled"  # DayRow.visit_change: the visit left the schedule on a re-read
ADDED_VISIT = "added"  # DayRow.visit_change: an add-on visit appeared on a re-read
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
class ScreeningCounts:
    """The action statuses of one sheet, kept apart: Overdue is not Due, and a coordinator
    works them differently."""

    overdue: int = 0
    due: int = 0
    due_soon: int = 0
    not_at_goal: int = 0
    follow_up: int = 0

    @property
    def action(self) -> int:
        """Everything asking for something at the visit (Due Soon does not)."""
        return self.overdue + self.due + self.not_at_goal + self.follow_up

    @classmethod
    def from_summary(cls, counts: Mapping[str, Any]) -> ScreeningCounts:
        def n(status: Status) -> int:
            return int(counts.get(status.value, 0) or 0)

        return cls(
            overdue=n(Status.OVERDUE),
            due=n(Status.DUE),
            due_soon=n(Status.DUE_SOON),
            not_at_goal=n(Status.NOT_AT_GOAL),
            follow_up=n(Status.FOLLOW_UP_NEEDED),
        )

    def text(self) -> str:
        parts = [
            (self.overdue, "Overdue"),
            (self.due, "Due"),
            (self.not_at_goal, "Not at goal"),
            (self.follow_up, "Follow-up"),
            (self.due_soon, "Due soon"),
        ]
        shown = [f"{n} {label}" for n, label in parts if n]
        return " · ".join(shown) if shown else "Nothing due"


@dataclass(frozen=True, slots=True)
class DayRow:
    patient_id: str
    start: str | None = None  # FHIR instant as sent
    patient: str = ""  # display name, when known (from the schedule)
    provider: str = ""
    due: int | None = None  # every action item: Overdue, Due, Not at goal, Follow-up
    due_soon: int | None = None
    sheet: str = NOT_PREPARED
    reason: str | None = None  # why it failed (no PHI)
    sheet_id: int | None = None
    counts: ScreeningCounts | None = None
    birth_date: str = ""  # FHIR date as sent
    sex: str = ""  # FHIR administrative gender
    mrn: str = ""
    visit_type: str = ""
    prepared_at: str | None = None  # ISO instant the shown sheet was made
    stale: str | None = None  # why the shown sheet/counts may be out of date
    visit_change: str = ""  # ADDED_VISIT / CANCELLED_VISIT after a schedule re-read
    posted: str | None = None  # "Posted" or "Not posted: reason" (posting to the chart)

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
        if self.counts is not None:
            text = self.counts.text()
        elif self.due is None:
            return ""
        else:
            text = f"{self.due} Due · {self.due_soon or 0} Due soon"
        return f"{text} (old)" if self.stale else text

    def age_sex_text(self, today: date) -> str:
        """ "67 F": age on ``today`` and sex, as far as known."""
        age = ""
        if self.birth_date:
            try:
                born = date.fromisoformat(self.birth_date[:10])
            except ValueError:
                born = None
            if born is not None:
                years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
                age = str(years)
        sex = {"female": "F", "male": "M", "other": "X", "unknown": "?"}.get(self.sex, "")
        return " ".join(p for p in (age, sex) if p)

    @property
    def prepared_text(self) -> str:
        if not self.prepared_at:
            return ""
        try:
            moment = datetime.fromisoformat(self.prepared_at.replace("Z", "+00:00"))
        except ValueError:
            return self.prepared_at
        if moment.tzinfo is not None:
            moment = moment.astimezone()
        text = moment.strftime("%a %H:%M")
        return f"{text} · stale" if self.stale else text


@dataclass(frozen=True, slots=True)
class ScheduledPatient:
    """One visit as the window needs it (from the live schedule)."""

    patient_id: str
    start: str | None
    patient: str
    provider: str
    visit_type: str = ""
    birth_date: str = ""
    sex: str = ""
    mrn: str = ""


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
        patient_ids, patient_name, provider = _participants(appt)
        for pid in patient_ids:
            if pid not in out:
                out[pid] = ScheduledPatient(
                    pid, _local(appt.get("start"), tz), patient_name, provider, visit_type(appt)
                )
    return sorted(out.values(), key=lambda s: (s.start or "", s.patient_id))


def cancelled_patients(appointments: Iterable[Mapping[str, Any]]) -> set[str]:
    """Patients whose visit of the day was cancelled (or a no-show), for the re-read's marks."""
    out: set[str] = set()
    for appt in appointments:
        if appt.get("status") in ("cancelled", "entered-in-error", "noshow"):
            out.update(_participants(appt)[0])
    return out


def _participants(appt: Mapping[str, Any]) -> tuple[list[str], str, str]:
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
    return patient_ids, patient_name, provider


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, Mapping):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if not isinstance(coding, Mapping):
            continue
        display, code = str(coding.get("display") or ""), str(coding.get("code") or "")
        if len(display) > 30 and code:  # HL7 v2-0276 displays are sentences: the code reads
            return code.replace("_", " ").capitalize()  # better in a narrow column
        if display or code:
            return display or code
    return ""


def visit_type(appt: Mapping[str, Any]) -> str:
    """The visit's type as the EHR names it: appointmentType, else the first serviceType."""
    text = _concept_text(appt.get("appointmentType"))
    if not text:
        for concept in appt.get("serviceType") or []:
            text = _concept_text(concept)
            if text:
                break
    return text


def demographics(patient: Mapping[str, Any]) -> tuple[str, str, str]:
    """(birth date, sex, MRN) from a FHIR Patient; the MRN is the identifier typed "MR", else
    the first one with a value."""
    mrn = ""
    identifiers = [i for i in patient.get("identifier") or [] if isinstance(i, Mapping)]
    for identifier in identifiers:
        codings = (identifier.get("type") or {}).get("coding") or []
        if any(isinstance(c, Mapping) and c.get("code") == "MR" for c in codings):
            mrn = str(identifier.get("value") or "")
            break
    if not mrn:
        mrn = next((str(i["value"]) for i in identifiers if i.get("value")), "")
    return str(patient.get("birthDate") or ""), str(patient.get("gender") or ""), mrn


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
    come from the job's stored visits, names and demographics from the stored charts.
    Blocking: run it in a thread."""
    rows: dict[str, DayRow] = {}
    for planned in schedule or []:
        rows[planned.patient_id] = DayRow(
            planned.patient_id,
            planned.start,
            planned.patient,
            planned.provider,
            visit_type=planned.visit_type,
            birth_date=planned.birth_date,
            sex=planned.sex,
            mrn=planned.mrn,
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
        counts = sheet_counts(info.results)
        failed = row.sheet == FAILED
        rows[info.patient_id] = replace(
            row,
            due=counts.action if counts else None,
            due_soon=counts.due_soon if counts else None,
            counts=counts,
            sheet=row.sheet if failed else READY,
            sheet_id=info.id,
            prepared_at=info.created_at,
            # The last run could not refresh this patient: what is shown is an older sheet.
            stale="the last run failed; this sheet is from an earlier run" if failed else None,
            posted=posted_text(info.results),
        )
    if connection_id is not None:
        for pid, row in rows.items():
            if row.patient and row.birth_date:
                continue
            stored = scope.records.get(connection_id, pid)
            if stored is None:
                continue
            patient = stored.record.get("patient") or {}
            birth, sex, mrn = demographics(patient)
            rows[pid] = replace(
                row,
                patient=row.patient or patient_name(patient),
                birth_date=row.birth_date or birth,
                sex=row.sex or sex,
                mrn=row.mrn or mrn,
            )
    return sorted(rows.values(), key=lambda r: (r.start or "~", r.patient_text))


def sheet_counts(results: Any) -> ScreeningCounts | None:
    """The separate status counts of a stored sheet (its envelope's summary, else its results)."""
    if isinstance(results, dict) and isinstance(results.get("summary"), dict):
        return ScreeningCounts.from_summary(results["summary"])
    items = results.get("results") if isinstance(results, dict) else results
    if not isinstance(items, list):
        return None
    tally: dict[str, int] = {}
    for item in items:
        status = item.get("status") if isinstance(item, dict) else None
        if isinstance(status, str):
            tally[status] = tally.get(status, 0) + 1
    return ScreeningCounts.from_summary(tally)


def posted_text(results: Any) -> str | None:
    """What posting the sheet to the chart came to, from the envelope's write-back mark."""
    mark = results.get("writeback") if isinstance(results, dict) else None
    if not isinstance(mark, dict):
        return None
    state = str(mark.get("state") or "")
    if state == "posted":
        return "Posted"
    if state == "pending":
        return "Posting…"
    reason = str(mark.get("reason") or "the EHR did not accept it")
    return f"Not posted: {reason}"
