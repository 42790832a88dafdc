"""The batch's screen/render and store steps for one patient.

* What decides the sheet: the chart, the library, the screening date, the clinic's options, the
  user's dismissals and entries, each hashed; an unchanged set lets a rerun keep the stored
  sheet instead of screening again.
* Screen and render in the process pool (off the event loop).
* Store the sheet, mark the patient done and audit in ONE transaction (job_steps.commit_patient):
  a crash before it redoes the patient; a crash after it leaves the sheet safe, its write-back
  "pending" on the sheet, which a resumed run posts (at most once: the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from healthprep_desktop.fhir.presets import preset_for
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet_model import Appointment
from healthprep_desktop.screening.visit_status import UserEntry
from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.workers.batch_fetch import FetchedChart
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import record_hash, stable_hash
from healthprep_desktop.workers.cpu import CpuPool, PrepareOutput, PrepareTask, prepare_patient
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.evidence_sources import EvidenceSources
from healthprep_desktop.workers.job_steps import commit_patient, dismissed_pairs, user_entries
from healthprep_desktop.workers.writeback_step import WRITEBACK_KEY, WritebackState, mark

SHEET_FORMAT = 1  # the layout of a stored sheet's results envelope


@dataclass
class SheetInputs:
    """Everything a sheet is made from besides the chart, and the hashes of it all."""

    hashes: dict[str, str]
    dismissed: list[tuple[str, str]]
    entries: list[UserEntry]


@dataclass
class StoredSheet:
    """A stored sheet made from the same inputs: a rerun keeps it."""

    sheet_id: int
    envelope: dict[str, Any]
    pdf: bytes


@dataclass
class SheetMaker:
    store: Store
    db: StoreExecutor
    connection: FhirConnection
    cpu: CpuPool
    job_id: int
    user: str | None
    tz: str | None
    clinic_name: str

    async def inputs(
        self, ctx: RunContext, patient_id: str, record: PatientRecord, as_of: date
    ) -> SheetInputs:
        scope = ctx.scope
        hashes = {
            "record": record_hash(record),
            "library": ctx.library_hash,
            "as_of": as_of.isoformat(),
            "options": ctx.options_hash,
        }
        dismissed = await self.db.call(dismissed_pairs, scope, patient_id)
        hashes["dismissed"] = stable_hash(sorted(dismissed))
        # A user's entry changes the sheet without any change on the server.
        entries = await self.db.call(user_entries, scope, patient_id)
        if entries:
            hashes["entries"] = stable_hash(sorted(repr(e) for e in entries))
        return SheetInputs(hashes, dismissed, entries)

    async def keep_chart(
        self, ctx: RunContext, conn_id: int, patient_id: str, chart: FetchedChart, chart_hash: str
    ) -> None:
        """The chart as fetched (documents by reference and hash: their text is in the cache),
        for the next run's incremental fetch."""
        record = chart.record
        stored_doc = {
            "patient": record.patient,
            "resources": record.resources,
            "documents": [
                {
                    "reference": d.reference,
                    "content_hash": d.content_hash,
                    "title": d.title,
                    "date": d.date.isoformat() if d.date else None,
                    "content_type": d.content_type,
                }
                for d in record.documents
            ],
        }
        await self.db.call(
            ctx.scope.records.put,
            conn_id,
            patient_id,
            fetched_at=(record.fetched_at or datetime.now(UTC)).isoformat(),
            etags=chart.fetched.report.etags,
            record=stored_doc,
            record_hash=chart_hash,
        )

    async def reusable(
        self, ctx: RunContext, patient_id: str, clinic_day: date, hashes: dict[str, str]
    ) -> StoredSheet | None:
        latest = await self.db.call(ctx.scope.sheets.latest, patient_id, clinic_day)
        envelope = latest.info.results if latest else None
        if latest is None or not isinstance(envelope, dict) or envelope.get("hashes") != hashes:
            return None
        return StoredSheet(latest.info.id, envelope, latest.pdf)

    async def screen(
        self,
        ctx: RunContext,
        record: PatientRecord,
        as_of: date,
        inputs: SheetInputs,
        appointment: Appointment | None,
        *,
        write_back: bool,
        sources: EvidenceSources | None = None,
    ) -> PrepareOutput:
        """Screen and render in the process pool."""
        preset = preset_for(self.connection.config.vendor)
        task = PrepareTask(
            record=record,
            as_of=as_of,
            generated_at=datetime.fromisoformat(ctx.params["generated_at"]),
            library_json=ctx.library_json,
            library_hash=ctx.library_hash,
            due_soon_days=ctx.options.get("due_soon_days"),
            dismissed=tuple(sorted(inputs.dismissed)),
            entries=tuple(inputs.entries),
            appointment=appointment,
            clinic_name=self.clinic_name,
            cutoffs=ctx.cutoffs,
            tz=self.tz,
            want_text=write_back and preset.writeback_content_type == "text/plain",
            sources=sources,
        )
        output: PrepareOutput = await self.cpu.run(prepare_patient, task)
        return output

    async def commit(
        self,
        ctx: RunContext,
        patient_id: str,
        clinic_day: date,
        as_of: date,
        record: PatientRecord,
        hashes: dict[str, str],
        output: PrepareOutput,
        *,
        write_back: bool,
    ) -> int:
        """Store the sheet (its write-back ``pending`` when asked), finish the patient and
        audit, in one transaction; returns the sheet's id."""
        envelope: dict[str, Any] = {
            "format": SHEET_FORMAT,
            "hashes": hashes,
            "as_of": as_of.isoformat(),
            "summary": output.summary,
            "results": output.results_json,
            "warnings": list(record.warnings),
            "text": output.text,
        }
        if write_back:
            envelope[WRITEBACK_KEY] = mark(WritebackState.PENDING)
        sheet_id: int = await self.db.call(
            commit_patient,
            self.store,
            ctx.scope,
            self.job_id,
            patient_id,
            clinic_day,
            output.pdf,
            envelope,
            hashes,
            self.user,
        )
        return sheet_id

    async def audit_screen(self, ctx: RunContext, patient_id: str, count: int) -> None:
        await self.db.call(
            ctx.scope.audit,
            AuditAction.SCREEN,
            patient_id=patient_id,
            detail=f"job {self.job_id}: {count} screenings",
            ehr_user=self.user,
        )
