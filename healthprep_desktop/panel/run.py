"""One panel run: choose the path, bring the charts, screen every patient, record the run.

Bulk path: export the group with ``_type`` = the types the library reads and ``_since`` = the
last complete run's transactionTime; stream each NDJSON file into the encrypted staging
database (then delete the file), walk patients in id order and screen each. A ``_since`` export
brings only changed resources: they are merged into each patient's stored chart; patients not in
it keep their stored results. Bulk ``_since`` reports no deletions (a deleted resource stays in
the stored chart until a run without ``_since``, e.g. ``--since never``).

Per-patient path (no Bulk Data): the group's members (or every patient), each chart fetched as
the batch fetches it; on a rerun, where the server can list changed patients, only those and
patients never screened are fetched.

The run's row (panel_runs) says running / complete / stopped / failed; only a complete run's
transaction time is the next run's ``_since``, so a stopped run is simply done again, and the
stored hashes make the rerun skip every patient already screened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.panel.screening_walk import ScreeningInputs, ScreeningWalk, WalkCounts
from healthprep_desktop.panel.sources import (
    BulkExport,
    changed_since,
    fetch_charts,
    group_members,
)
from healthprep_desktop.panel.staging import ImportReport, PanelStaging
from healthprep_desktop.paths import data_dir
from healthprep_desktop.store import AuditAction, Outcome, Store, TenantScope
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.private_files import make_private_dir

SINCE_SKEW = timedelta(minutes=5)  # per-patient reruns: clocks differ, ask for a little more


@dataclass(slots=True)
class PanelOptions:
    group_id: str | None = None
    since: str = "auto"  # "auto": the last complete run's time; "never": everything
    types: tuple[str, ...] = ()  # what the library reads (screening/needs.py)
    concurrency: int = 8  # per-patient path: charts in flight


@dataclass(slots=True)
class PanelSummary:
    run_id: int
    path: str  # "bulk" or "per-patient"
    why: str  # one sentence: why this path
    since: str | None
    state: str  # complete / stopped / failed
    patients: int  # patients in this run's data
    counts: WalkCounts
    imported: ImportReport = field(default_factory=ImportReport)
    requests: int = 0
    downloads: int = 0
    removed: int = 0  # results of patients no longer in the panel (full runs only)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # export / import / screening

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "run": self.run_id,
            "path": self.path,
            "why": self.why,
            "since": self.since,
            "state": self.state,
            "patients": self.patients,
            "screened": c.screened,
            "unchanged": c.unchanged,
            "failed": c.failed,
            "failures": dict(sorted(c.failures.items())),
            "invalid_resources": c.invalid_resources,
            "resources_imported": self.imported.resources,
            "bad_lines": self.imported.bad_lines,
            "problems": list(self.imported.problems),
            "requests": self.requests,
            "downloads": self.downloads,
            "removed": self.removed,
            "seconds": round(self.seconds, 2),
            "phases": {k: round(v, 2) for k, v in self.phases.items()},
        }


class StopRequested:
    def __init__(self) -> None:
        self.is_set = False


class PanelRun:
    def __init__(
        self,
        store: Store,
        scope: TenantScope,
        connection_id: int,
        connection: FhirConnection,
        *,
        inputs: ScreeningInputs,
        options: PanelOptions,
        cpu: CpuPool,
        db: StoreExecutor,
        say: Callable[[str], None],
        bulk: BulkExport | None,
        why: str,
        capabilities: Capabilities | None = None,
        work_dir: Path | None = None,
    ) -> None:
        self.store, self.scope, self.connection_id = store, scope, connection_id
        self.connection, self.inputs, self.options = connection, inputs, options
        self.cpu, self.db, self.say = cpu, db, say
        self.bulk, self.why, self.capabilities = bulk, why, capabilities
        self.work_dir = work_dir
        self.stop = StopRequested()
        self.walk: ScreeningWalk | None = None

    def request_stop(self) -> None:
        """No new patient starts; those in flight finish and are stored."""
        self.stop.is_set = True

    async def run(self) -> PanelSummary:
        scope, conn = self.scope, self.connection_id
        started = time.monotonic()
        since = None
        if self.options.since == "auto":
            last = await self.db.call(scope.panel.last_complete, conn, self.options.group_id)
            since = last.transaction_time if last is not None else None
        run = await self.db.call(
            scope.panel.start_run, conn, group_id=self.options.group_id, since=since
        )
        walk = self.walk = ScreeningWalk(
            self.store,
            scope,
            conn,
            run_id=run.id,
            inputs=self.inputs,
            db=self.db,
            cpu=self.cpu,
            say=self.say,
        )
        path = "bulk" if self.bulk is not None else "per-patient"
        summary = PanelSummary(run.id, path, self.why, since, "failed", 0, walk.counts)
        self.say(
            f"Panel run {run.id}: {path} ({self.why})"
            + (f"; changes since {since}" if since else "; everything")
        )
        await self.db.call(
            scope.audit,
            AuditAction.FETCH,
            detail=f"panel run {run.id} started: {path}, group {self.options.group_id or 'all'}, "
            f"{'since ' + since if since else 'full'}",
        )
        transaction_time: str | None = None
        # The workers start (a few seconds) while the server exports or the first charts come.
        warming = asyncio.get_running_loop().create_task(self.cpu.warm())
        try:
            if self.bulk is not None:
                transaction_time = await self._bulk(summary, since)
            else:
                transaction_time = await self._per_patient(summary, since)
            await walk.drain()
            summary.phases["screening"] = time.monotonic() - walk.counts.started
            stopped = self.stop.is_set
            summary.state = "stopped" if stopped else "complete"
            if not stopped and since is None and transaction_time is not None:
                summary.removed = await self.db.call(self._remove_departed, run.id)
        except BaseException as exc:
            # Cancelled (Ctrl-C before the handler, a closing window) is a stop; anything else
            # failed the run. Either way the patients in flight are finished and stored.
            stopped = self.stop.is_set or isinstance(exc, asyncio.CancelledError)
            self.request_stop()
            with contextlib.suppress(Exception):
                await walk.drain()
            summary.state = "stopped" if stopped else "failed"
            raise
        finally:
            with contextlib.suppress(Exception):
                await warming
            summary.seconds = time.monotonic() - started
            await self.db.call(
                scope.panel.update_run,
                run.id,
                state=summary.state,
                transaction_time=transaction_time if summary.state == "complete" else None,
                patients=summary.patients,
                summary=summary.to_json(),
            )
            c = summary.counts
            await self.db.call(
                scope.audit,
                AuditAction.SCREEN,
                outcome=Outcome.SUCCESS if summary.state == "complete" else Outcome.FAILURE,
                detail=f"panel run {run.id} {summary.state}: {c.screened} screened, "
                f"{c.unchanged} unchanged, {c.failed} failed, "
                f"{summary.imported.bad_lines} bad lines",
            )
        return summary

    # --- bulk ---------------------------------------------------------------------------------

    async def _bulk(self, summary: PanelSummary, since: str | None) -> str | None:
        assert self.bulk is not None
        folder = await _to_thread(self._export_folder)
        staging = PanelStaging(folder / f"staging-{summary.run_id}-{os.getpid()}.db")
        complete = False
        try:
            self.say("Exporting the panel (Bulk Data)...")
            mark = time.monotonic()
            exported = await self.bulk(self.options.group_id, self.options.types, since, folder)
            summary.phases["export"] = time.monotonic() - mark
            mark = time.monotonic()
            summary.requests += exported.requests
            summary.downloads += exported.downloads
            if exported.export_id is not None:
                await self.db.call(
                    self.scope.panel.update_run, summary.run_id, export_id=exported.export_id
                )
            for resource_type, path in exported.files:
                if self.stop.is_set:
                    return None
                report = await _to_thread(staging.import_ndjson, path, resource_type)
                summary.imported.add(report)
                with contextlib.suppress(OSError):
                    await _to_thread(path.unlink)  # imported: the plaintext copy goes at once
                self.say(
                    f"Imported {summary.imported.resources} resources "
                    f"({staging.patient_count()} patients) from {resource_type}"
                )
            for problem in summary.imported.problems:
                self.say(problem)
            summary.patients = staging.patient_count()
            summary.phases["import"] = time.monotonic() - mark
            walk = self.walk
            assert walk is not None
            walk.begin(summary.patients)
            delta = since is not None
            for patient_id in staging.patient_ids():
                if self.stop.is_set:
                    return None
                patient, resources = await _to_thread(staging.chart, patient_id)
                await walk.submit(patient_id, patient, resources, delta=delta)
            complete = True
            return exported.transaction_time
        finally:
            staging.close()
            if complete:
                # A stopped export keeps what it downloaded (private files) for the rerun.
                await _to_thread(_remove_files, folder)

    def _export_folder(self) -> Path:
        """One private folder per connection, kept across runs so a stopped export resumes."""
        base = self.work_dir or (data_dir() / "panel-exports")
        folder = base / f"{self.scope.id}-{self.connection_id}"
        make_private_dir(folder)
        return folder

    # --- per patient --------------------------------------------------------------------------

    async def _per_patient(self, summary: PanelSummary, since: str | None) -> str | None:
        walk = self.walk
        assert walk is not None
        transaction_time = datetime.now(UTC).isoformat()
        before = self.connection.client.stats.requests
        members = await group_members(self.connection, self.options.group_id, self.capabilities)
        wanted = members
        if since is not None:
            changed = await changed_since(
                self.connection,
                self.capabilities,
                self.options.types,
                datetime.fromisoformat(since) - SINCE_SKEW,
            )
            if changed is not None:
                known = await self.db.call(self.scope.panel.patient_ids, self.connection_id)
                wanted = [p for p in members if p in changed or p not in known]
        summary.patients = len(wanted)
        walk.begin(len(wanted))
        self.say(f"{len(members)} patients in the panel; fetching {len(wanted)} charts")
        try:
            async for item in fetch_charts(
                self.connection,
                self.capabilities,
                wanted,
                concurrency=self.options.concurrency,
                stopped=lambda: self.stop.is_set,
            ):
                if item.error is not None:
                    from healthprep_desktop.workers.batch_support import failure_reason

                    walk.record_failure(item.patient_id, failure_reason(item.error))
                    continue
                await walk.submit(
                    item.patient_id,
                    item.patient,
                    item.resources,
                    delta=False,
                    validated=self.connection.client.validate,
                )
                if self.stop.is_set:
                    return None
        finally:
            summary.requests += self.connection.client.stats.requests - before
        return None if self.stop.is_set else transaction_time

    def _remove_departed(self, run_id: int) -> int:
        """After a complete full run: results of patients the panel no longer holds go."""
        assert self.walk is not None
        seen = self.walk.seen_ids
        stale = [
            r.patient_id
            for r in self.scope.panel.iter(self.connection_id)
            if r.run_id != run_id and r.patient_id not in seen
        ]
        with self.store.transaction():
            removed = sum(int(self.scope.panel.delete(self.connection_id, p)) for p in stale)
        if stale:
            self.scope.audit(
                AuditAction.SCREEN,
                resource_ids=[f"Patient/{p}" for p in stale],
                detail=f"panel run {run_id}: {len(stale)} patients no longer in the panel",
            )
        return removed


def _remove_files(folder: Path) -> None:
    """What a finished run leaves in its export folder (nothing should be left), and the
    folder itself."""
    for leftover in folder.iterdir():
        with contextlib.suppress(OSError):
            leftover.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


__all__ = ["PanelOptions", "PanelRun", "PanelSummary", "StopRequested"]
