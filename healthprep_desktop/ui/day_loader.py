"""Loading the chosen clinic day into the schedule: the store's rows at once (offline), then the
live schedule when connected (with the patients' birth date, sex and MRN in a few bulk reads).
F5 reads the schedule again and marks visits added or cancelled since the first read."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from typing import Any, Protocol

from PySide6.QtCore import QObject, SignalInstance

from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.schedule import fetch_day_appointments
from healthprep_desktop.settings import TIME_ZONE
from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui import day_rows, tasks
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.day_rows import (
    ADDED_VISIT,
    CANCELLED_VISIT,
    DayRow,
    ScheduledPatient,
)
from healthprep_desktop.ui.schedule_model import ScheduleModel
from healthprep_desktop.ui.schedule_view import ScheduleView
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.window_host import WindowHost

PATIENTS_PER_READ = 100  # Patient?_id=a,b,c... per request


class DayLoaderHost(WindowHost, Protocol):
    """What the loader uses of the window (``MainWindow`` has it)."""

    @property
    def model(self) -> ScheduleModel: ...

    @property
    def schedule_view(self) -> ScheduleView: ...

    @property
    def runner(self) -> BatchRunner:
        """Read only: while a batch runs, its live events own the table."""
        ...

    @property
    def day_loaded(self) -> SignalInstance:
        """Emitted once the table shows the chosen day."""
        ...

    def show_empty_hint(self) -> None: ...


class DayLoader(QObject):
    def __init__(self, window: DayLoaderHost) -> None:
        super().__init__(window.window())
        self.window = window
        self.schedule: dict[tuple[str, date], list[ScheduledPatient]] = {}
        # Per day: patient -> ADDED_VISIT / CANCELLED_VISIT, from re-reads of the schedule.
        self.changes: dict[tuple[str, date], dict[str, str]] = {}
        self._task: asyncio.Task[Any] | None = None

    def reload(self, *, online: bool = True, reread: bool = False) -> None:
        """Rows from the store at once (offline); the live schedule too when connected.
        ``reread``: fetch the schedule again even if it was read before (F5)."""
        w = self.window
        if w.session.tenant_id is None:
            w.model.set_rows([])
            w.show_empty_hint()
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = tasks.start(
            self._load(w.session.tenant_id, w.clinic_day, online, reread),
            on_error=lambda exc: w.statusBar().showMessage(
                f"Could not load the day: {describe_error(exc)}"
            ),
            name="load-day",
            owner=self,
        )

    async def _load(self, tenant_id: str, day: date, online: bool, reread: bool) -> None:
        w = self.window
        scope = w.session.store.tenant(tenant_id)
        key = (tenant_id, day)
        cached = self.schedule.get(key)
        rows = await asyncio.to_thread(day_rows.rows_for_day, scope, day, cached)
        if w.runner.running:
            return  # live events own the table while a batch runs
        self._show(rows, key)
        if online and (cached is None or reread):
            fetched = await self.fetch(day)
            if fetched is not None and not w.runner.running:
                schedule, cancelled = fetched
                if cached is not None:
                    self._note_changes(key, cached, schedule, cancelled)
                self.schedule[key] = schedule
                rows = await asyncio.to_thread(day_rows.rows_for_day, scope, day, schedule)
                rows = self._with_cancelled(rows, key, cached)
                self._show(rows, key)
                if reread and cached is not None:
                    marks = self.changes.get(key, {})
                    added = sum(v == ADDED_VISIT for v in marks.values())
                    gone = sum(v == CANCELLED_VISIT for v in marks.values())
                    w.statusBar().showMessage(
                        f"Schedule read again: {added} added, {gone} cancelled.", 10_000
                    )
        w.day_loaded.emit()

    async def ensure_schedule(self, tenant_id: str, day: date) -> None:
        """Before Prepare: the schedule (for names and times in the rows), then the rows."""
        w = self.window
        key = (tenant_id, day)
        if key not in self.schedule:
            fetched = await self.fetch(day)
            if fetched is not None:
                self.schedule[key] = fetched[0]
        rows = await asyncio.to_thread(
            day_rows.rows_for_day, w.session.store.tenant(tenant_id), day, self.schedule.get(key)
        )
        self._show(self._with_cancelled(rows, key, None), key)

    def _note_changes(
        self,
        key: tuple[str, date],
        before: list[ScheduledPatient],
        after: list[ScheduledPatient],
        cancelled: set[str],
    ) -> None:
        old = {s.patient_id for s in before}
        new = {s.patient_id for s in after}
        marks = self.changes.setdefault(key, {})
        for pid in new - old:
            marks[pid] = ADDED_VISIT
        for pid in (old - new) | (cancelled & old):
            if pid not in new:
                marks[pid] = CANCELLED_VISIT
        for pid in list(marks):
            if marks[pid] == CANCELLED_VISIT and pid in new:
                marks[pid] = ADDED_VISIT  # booked again

    def _with_cancelled(
        self, rows: list[DayRow], key: tuple[str, date], before: list[ScheduledPatient] | None
    ) -> list[DayRow]:
        """The rows with their change marks; a cancelled visit stays listed (struck out) so the
        coordinator sees it went, with its old time and name."""
        marks = self.changes.get(key, {})
        if not marks:
            return rows
        known = {r.patient_id for r in rows}
        out = [replace(r, visit_change=marks.get(r.patient_id, "")) for r in rows]
        for planned in before or []:
            if marks.get(planned.patient_id) == CANCELLED_VISIT and planned.patient_id not in known:
                out.append(
                    DayRow(
                        planned.patient_id,
                        planned.start,
                        planned.patient,
                        planned.provider,
                        visit_type=planned.visit_type,
                        birth_date=planned.birth_date,
                        sex=planned.sex,
                        mrn=planned.mrn,
                        visit_change=CANCELLED_VISIT,
                    )
                )
        return sorted(out, key=lambda r: (r.start or "~", r.patient_text))

    def _show(self, rows: list[DayRow], key: tuple[str, date]) -> None:
        w = self.window
        w.model.today = key[1]
        w.model.set_rows(rows)
        w.schedule_view.refresh_providers()
        w.schedule_view.update_counts()
        w.show_empty_hint()

    async def fetch(self, day: date) -> tuple[list[ScheduledPatient], set[str]] | None:
        """The live schedule (visits, and the patients whose visit was cancelled), or None
        when not connected or the EHR is away (offline review keeps working)."""
        w = self.window
        stored = w.session.default_connection()
        if stored is None:
            return None
        live = await w.session.open(stored.id)
        if not live.status.is_connected:
            return None
        scope = w.session.scope
        # The day in the clinic's zone (explicit bounds, kept by local start date).
        zone = clinic_zone(await asyncio.to_thread(w.session.settings.get, TIME_ZONE, scope))
        try:
            appointments = await fetch_day_appointments(live.client, day, tz=zone)
        except Exception as exc:  # offline review must keep working when the EHR is away
            w.statusBar().showMessage(f"Schedule not loaded: {describe_error(exc)}")
            return None
        # Reading the schedule shows patient names: an access to PHI like any other fetch.
        await asyncio.to_thread(
            scope.audit,
            AuditAction.FETCH,
            detail=f"schedule {day.isoformat()}: {len(appointments)} appointments",
            ehr_user=live.status.user,
        )
        visits = day_rows.scheduled_from_appointments(appointments, zone)
        visits = await self._with_demographics(live, visits)
        return visits, day_rows.cancelled_patients(appointments)

    async def _with_demographics(
        self, live: Any, visits: list[ScheduledPatient]
    ) -> list[ScheduledPatient]:
        """Birth date, sex and MRN for the day's patients, in a few bulk reads (two patients
        with one name must be told apart before anything is prepared)."""
        ids = [v.patient_id for v in visits]
        found: dict[str, tuple[str, str, str]] = {}
        for start in range(0, len(ids), PATIENTS_PER_READ):
            chunk = ids[start : start + PATIENTS_PER_READ]
            params = [
                ("_id", ",".join(chunk)),
                ("_elements", "id,birthDate,gender,identifier"),
                ("_count", str(len(chunk))),
            ]
            try:
                async for page in live.client.search_pages("Patient", params):
                    for resource in page.resources:
                        found[str(resource.get("id"))] = day_rows.demographics(resource)
            except FhirError:
                break  # the schedule is still useful without them; a prepared chart fills in
        return [
            replace(v, birth_date=d[0], sex=d[1], mrn=d[2]) if (d := found.get(v.patient_id)) else v
            for v in visits
        ]
