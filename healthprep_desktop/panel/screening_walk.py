"""Screen the panel one patient at a time, whichever path brought the charts.

For each patient: merge what came (a whole chart, or with Bulk ``_since`` only the changed
resources) into the stored chart by (resourceType, id); when neither the chart nor the
screening inputs (library, options, date, the patient's dismissals and entries) changed since
the stored result, keep it; otherwise screen in the process pool and store the chart and the
result in one transaction. A patient that fails is recorded and the walk goes on; a stop lets
the patients in flight finish and leaves the rest for the rerun (their stored hashes say what
is already done).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from healthprep_desktop.panel.screen import PanelOutput, PanelTask, screen_panel_patient
from healthprep_desktop.screening.visit_status import UserEntry
from healthprep_desktop.store import AuditAction, Store, TenantScope
from healthprep_desktop.store.repos.panel_results import PanelResult
from healthprep_desktop.workers.chart import stable_hash
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.job_steps import dismissed_pairs, user_entries

log = logging.getLogger(__name__)
JSON = dict[str, Any]
EPOCH = "1970-01-01T00:00:00+00:00"
_AUDIT_EVERY = 500  # patients per audit entry (references only)


@dataclass(frozen=True, slots=True)
class ScreeningInputs:
    """What every patient's screening depends on besides the chart."""

    as_of: date
    years: tuple[int, ...]
    library_json: str | None
    library_hash: str
    options_hash: str
    due_soon_days: int | None
    tz: str | None


@dataclass(slots=True)
class WalkCounts:
    seen: int = 0
    screened: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # patient id -> one sentence
    invalid_resources: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.screened / elapsed if elapsed > 0 else 0.0


def canonical(resources: list[JSON]) -> list[JSON]:
    """One order for a chart, whichever path fetched it (the hash and the engine see the same)."""
    merged = {(str(r.get("resourceType")), str(r.get("id"))): r for r in resources}
    return [merged[k] for k in sorted(merged)]


def merge_resources(previous: list[JSON], changed: list[JSON]) -> list[JSON]:
    """The stored chart with the changed resources replacing theirs by (type, id). Bulk
    ``_since`` reports no deletions: a deleted resource stays until a full run."""
    return canonical([*previous, *changed])


def chart_hash(patient: JSON, resources: list[JSON]) -> str:
    return stable_hash({"patient": patient, "resources": resources})


class ScreeningWalk:
    """Screens charts as they arrive, at most ``in_flight`` at a time (bounded memory)."""

    def __init__(
        self,
        store: Store,
        scope: TenantScope,
        connection_id: int,
        *,
        run_id: int,
        inputs: ScreeningInputs,
        db: StoreExecutor,
        cpu: CpuPool,
        say: Callable[[str], None],
        in_flight: int | None = None,
        progress_every: float = 2.0,
    ) -> None:
        self.store, self.scope, self.connection_id = store, scope, connection_id
        self.run_id, self.inputs, self.db, self.cpu = run_id, inputs, db, cpu
        self.say = say
        self.counts = WalkCounts()
        self.total: int | None = None
        self._gate = asyncio.Semaphore(in_flight or cpu.workers * 3)
        self._tasks: set[asyncio.Task[None]] = set()
        self._screened_refs: list[str] = []
        self.seen_ids: set[str] = set()  # every patient this run brought (kept on full runs)
        self._progress_every = progress_every
        self._last_progress = time.monotonic()

    # --- per patient --------------------------------------------------------------------------

    def begin(self, total: int) -> None:
        """The walk starts now (the rate counts from here, not from the export)."""
        self.total = total
        self.counts.started = time.monotonic()

    async def submit(
        self,
        patient_id: str,
        patient: JSON | None,
        resources: list[JSON],
        *,
        delta: bool,
        validated: bool = False,
    ) -> None:
        """Queue one patient; waits while ``in_flight`` patients are being screened.
        ``delta``: only changed resources (merge into the stored chart); ``validated``: the
        resources were checked against the R4B models on the way in."""
        self.seen_ids.add(patient_id)
        await self._gate.acquire()
        task = asyncio.get_running_loop().create_task(
            self._one(patient_id, patient, resources, delta, validated)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(
        self,
        patient_id: str,
        patient: JSON | None,
        resources: list[JSON],
        delta: bool,
        validated: bool,
    ) -> None:
        try:
            await self._screen(patient_id, patient, resources, delta, validated)
        except Exception as exc:  # one bad patient never stops the panel
            reason = _reason(exc)
            log.warning("panel patient failed: %s", type(exc).__name__)
            self._fail(patient_id, reason)
        finally:
            self.counts.seen += 1
            self._gate.release()
            self._maybe_progress()

    def record_failure(self, patient_id: str, reason: str) -> None:
        """A patient that failed before screening (its fetch): counted like the others."""
        self.seen_ids.add(patient_id)
        self.counts.seen += 1
        self._fail(patient_id, reason)
        self._maybe_progress()

    def _fail(self, patient_id: str, reason: str) -> None:
        self.counts.failed += 1
        self.counts.failures[patient_id] = reason

    async def _screen(
        self,
        patient_id: str,
        patient: JSON | None,
        resources: list[JSON],
        delta: bool,
        validated: bool,
    ) -> None:
        scope, conn = self.scope, self.connection_id
        stored = await self.db.call(scope.records.get, conn, patient_id)
        if delta and stored is not None:
            resources = merge_resources(list(stored.record.get("resources") or []), resources)
            patient = patient or stored.record.get("patient")
        else:
            resources = canonical(resources)
        if not patient or patient.get("resourceType") != "Patient":
            self._fail(patient_id, "the export has no Patient resource for this patient")
            return
        record_hash = chart_hash(patient, resources)
        dismissed = tuple(sorted(await self.db.call(dismissed_pairs, scope, patient_id)))
        entries: tuple[UserEntry, ...] = tuple(await self.db.call(user_entries, scope, patient_id))
        inputs = self._inputs_hash(dismissed, entries)
        previous = await self.db.call(scope.panel.get, conn, patient_id)
        if (
            previous is not None
            and previous.record_hash == record_hash
            and previous.results.get("inputs") == inputs
        ):
            self.counts.unchanged += 1
            return
        task = PanelTask(
            patient=patient,
            resources=resources,
            as_of=self.inputs.as_of,
            years=self.inputs.years,
            library_json=self.inputs.library_json,
            library_hash=self.inputs.library_hash,
            due_soon_days=self.inputs.due_soon_days,
            dismissed=dismissed,
            entries=entries,
            tz=self.inputs.tz,
            validate=not validated,
        )
        output = await self.cpu.run(screen_panel_patient, task)
        await self.db.call(
            self._commit,
            patient_id,
            patient,
            resources,
            record_hash,
            inputs,
            output,
            stored.fetched_at if stored else None,
            stored.etags if stored else {},
            stored.record.get("documents") if stored else None,
        )
        self.counts.screened += 1
        self.counts.invalid_resources += output.invalid
        self._screened_refs.append(f"Patient/{patient_id}")
        if len(self._screened_refs) >= _AUDIT_EVERY:
            await self._audit_screened()

    def _inputs_hash(
        self, dismissed: tuple[tuple[str, str], ...], entries: tuple[UserEntry, ...]
    ) -> str:
        i = self.inputs
        return stable_hash(
            [
                i.as_of.isoformat(),
                list(i.years),
                i.library_hash,
                i.options_hash,
                [list(d) for d in dismissed],
                sorted(repr(e) for e in entries),
            ]
        )

    def _commit(
        self,
        patient_id: str,
        patient: JSON,
        resources: list[JSON],
        record_hash: str,
        inputs: str,
        output: PanelOutput,
        fetched_at: str | None,
        etags: dict[str, str],
        documents: list[Any] | None,
    ) -> None:
        """Chart and result together: a kill between them never keeps a stale result."""
        envelope = dict(output.envelope, inputs=inputs)
        with self.store.transaction():
            # The chart goes where the batch keeps it. Its fetched_at stays the batch's own
            # (or the epoch when only the panel has seen the patient): the panel reads no
            # attachments, so the batch's next incremental fetch must still ask for every
            # document it has not read.
            self.scope.records.put(
                self.connection_id,
                patient_id,
                fetched_at=fetched_at or EPOCH,
                etags=etags,
                record={"patient": patient, "resources": resources, "documents": documents or []},
                record_hash=record_hash,
            )
            self.scope.panel.put(
                PanelResult(
                    connection_id=self.connection_id,
                    patient_id=patient_id,
                    results=envelope,
                    record_hash=record_hash,
                    measures=output.measures,
                    run_id=self.run_id,
                )
            )

    async def _audit_screened(self) -> None:
        refs, self._screened_refs = self._screened_refs, []
        if refs:
            await self.db.call(
                self.scope.audit,
                AuditAction.SCREEN,
                resource_ids=refs,
                detail=f"panel run {self.run_id}: {len(refs)} patients screened",
            )

    # --- the whole walk -----------------------------------------------------------------------

    async def drain(self) -> WalkCounts:
        """Wait for every patient in flight; audit the rest; a last progress line."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._audit_screened()
        self.progress()
        return self.counts

    def _maybe_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress >= self._progress_every:
            self._last_progress = now
            self.progress()

    def progress(self) -> None:
        c = self.counts
        of = f" of {self.total}" if self.total is not None else ""
        self.say(
            f"Screened {c.screened}{of} patients ({c.rate:.0f}/s), {c.unchanged} unchanged, "
            f"{c.failed} failed"
        )


def _reason(exc: BaseException) -> str:
    from healthprep_desktop.workers.batch_support import failure_reason

    return failure_reason(exc)


__all__ = [
    "EPOCH",
    "ScreeningInputs",
    "ScreeningWalk",
    "WalkCounts",
    "canonical",
    "chart_hash",
    "merge_resources",
]
