"""The batch's write-back step: posting one stored sheet to the chart (through the ledger, at
most once), and, when a job starts or resumes, the sheets a stopped run kept back for later.

The state of each post lives on the stored sheet (workers/writeback_step.py); this module
builds the document the EHR files and counts the outcomes on the job's summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from healthprep_desktop.fhir.errors import AuthError, ReauthenticationRequired, Unauthorized
from healthprep_desktop.fhir.presets import preset_for
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import StoreAudit
from healthprep_desktop.fhir.writeback import PrepSheetDocument, WritebackResult, write_back
from healthprep_desktop.store import Store
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.batch_progress import JobEvents
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import stable_hash
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.events import PatientState
from healthprep_desktop.workers.job_steps import pending_writebacks
from healthprep_desktop.workers.writeback_step import OwnedLedger, WritebackState, WritebackStep


@dataclass
class BatchPoster:
    """Posts the job's sheets; ``step`` holds the retries and the state on each sheet."""

    store: Store
    connection: FhirConnection
    db: StoreExecutor
    owner: ClaimOwner
    step: WritebackStep
    events: JobEvents
    tz: str | None
    user: str | None

    async def post(
        self,
        ctx: RunContext,
        patient_id: str,
        sheet_id: int,
        text: str | None,
        pdf: bytes,
        hashes: dict[str, str],
    ) -> None:
        summary = self.events.summary
        assert summary is not None
        self.events.patient(patient_id, PatientState.WRITING_BACK)
        state, reason = await self.step.run(
            patient_id, sheet_id, lambda: self._write_back(ctx, patient_id, text, pdf, hashes)
        )
        if state is WritebackState.POSTED:
            if reason in ("created", "replaced"):
                summary.written_back += 1
        else:
            summary.not_posted[patient_id] = reason

    async def post_stored(self, ctx: RunContext, job_id: int, stopped: Callable[[], bool]) -> None:
        """Sheets a stopped run stored but did not post, or kept back to retry (no encounter
        yet, no permission to file): post them now. Their patients are not prepared again."""
        scope = ctx.scope
        for pid, sheet_id in await self.db.call(pending_writebacks, scope, job_id):
            if stopped():
                return
            sheet = await self.db.call(scope.sheets.get, sheet_id)
            if sheet is None or not isinstance(sheet.info.results, dict):
                continue
            envelope = sheet.info.results
            try:
                await self.post(
                    ctx, pid, sheet_id, envelope.get("text"), sheet.pdf, envelope["hashes"]
                )
            except (ReauthenticationRequired, Unauthorized, AuthError):
                return  # stays pending: the next run posts it

    async def _write_back(
        self,
        ctx: RunContext,
        patient_id: str,
        text: str | None,
        pdf: bytes,
        hashes: dict[str, str],
    ) -> WritebackResult:
        summary = self.events.summary
        assert summary is not None
        config = self.connection.config
        preset = preset_for(config.vendor)
        visit = ctx.params.get("visits", {}).get(patient_id) or {}
        day = summary.clinic_day.isoformat()
        doc = PrepSheetDocument(
            patient_id=patient_id,
            sheet_key=f"prep-sheet/{day}",
            title=f"Pre-visit prep sheet {day}",
            text=text,
            pdf=None if preset.writeback_content_type == "text/plain" else pdf,
            encounter_id=visit.get("encounter"),
            content_key=stable_hash(hashes),
        )
        return await write_back(
            self.connection.client,
            doc,
            ledger=OwnedLedger(ctx.scope, self.owner),
            tenant=ctx.scope.id,
            connection=config.name,
            content_type=preset.writeback_content_type,
            single_attachment=preset.writeback_single_attachment,
            require_encounter=preset.writeback_needs_encounter,
            clinic_day=summary.clinic_day,
            appointment_id=visit.get("appointment"),
            visit_start=visit.get("start"),
            tz=self.tz,
            audit=StoreAudit(self.store),
            user=self.user,
        )
