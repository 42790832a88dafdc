"""The export job's writer: NDJSON files written to disk as it goes, never built in memory.

It runs as a task on the server's own event loop (so it reads the datastore from the thread
that writes it), one patient's compartment at a time, and yields to the loop every few
patients so the server keeps answering while a 20,000-patient panel is written. Each resource
is written as of the job's transactionTime: a resource changed after kick-off is written in its
earlier version (or left out if it did not exist), and shows up in the next ``_since`` export.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator
from io import BufferedWriter
from pathlib import Path

from healthprep_desktop.sandbox.bulk.jobs import BulkJob, OutputFile
from healthprep_desktop.sandbox.config import BulkConfig, FaultConfig
from healthprep_desktop.sandbox.datastore import ResourceStore, StoredResource, dumps
from healthprep_desktop.sandbox.faults import corrupt, is_malformed, operation_outcome

log = logging.getLogger(__name__)


def millis(epoch: float) -> int:
    """The millisecond an instant falls in (meta.lastUpdated is written to the millisecond)."""
    return int(epoch * 1000)


def private_file(path: Path) -> BufferedWriter:
    """A new file only its owner can read (patient data outside the encrypted store)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


class NdjsonFiles:
    """One open file per resource type, rolled over to ``{Type}-{n+1}.ndjson`` when full."""

    def __init__(self, folder: Path, max_lines: int) -> None:
        self.folder = folder
        self.max_lines = max(1, max_lines)
        self.files: list[OutputFile] = []
        self._open: dict[str, tuple[OutputFile, BufferedWriter]] = {}
        self._numbers: dict[str, int] = {}

    def write(self, resource_type: str, line: bytes) -> None:
        current = self._open.get(resource_type)
        if current is None or current[0].count >= self.max_lines:
            if current is not None:
                self._close(resource_type)
            number = self._numbers.get(resource_type, 0) + 1
            self._numbers[resource_type] = number
            name = f"{resource_type}-{number}.ndjson"
            output = OutputFile(resource_type, name, self.folder / name)
            current = (output, private_file(output.path))
            self._open[resource_type] = current
            self.files.append(output)
        output, handle = current
        handle.write(line)
        handle.write(b"\n")
        output.count += 1

    def _close(self, resource_type: str) -> None:
        output, handle = self._open.pop(resource_type)
        handle.close()
        output.size = output.path.stat().st_size

    def close(self) -> list[OutputFile]:
        for resource_type in list(self._open):
            self._close(resource_type)
        return self.files


def as_of(store: ResourceStore, stored: StoredResource, moment: int) -> StoredResource | None:
    """The version of a resource current at ``moment`` (milliseconds), None if none was."""
    if millis(stored.last_updated) <= moment:
        return stored
    for version in range(stored.version - 1, 0, -1):
        older = store.get_version(stored.resource_type, stored.id, version)
        if older is not None and millis(older.last_updated) <= moment:
            return older
    return None


def _by_patient(
    store: ResourceStore, patients: Iterable[str], types: tuple[str, ...] | None, job: BulkJob
) -> Iterator[StoredResource | None]:
    """Each patient's compartment in turn (None after each patient: a progress tick); the
    practitioners, organizations, locations and medications they reference once each."""
    shared_seen: set[str] = set()
    for patient_id in patients:
        for stored in store.compartment(patient_id, types):
            if stored.patient is None:
                if stored.key in shared_seen:
                    continue
                shared_seen.add(stored.key)
            yield stored
        job.done_patients += 1
        yield None


def _by_type(store: ResourceStore, types: tuple[str, ...]) -> Iterator[StoredResource | None]:
    """A system export: every resource of each type (None every few hundred: a yield point)."""
    for resource_type in types:
        for n, stored in enumerate(store.all_of(resource_type)):
            yield stored
            if n % 500 == 499:
                yield None


def _line(stored: StoredResource, faults: FaultConfig) -> bytes:
    """The resource as a search would serve it (malformed when the fault setting says so)."""
    if is_malformed(faults.seed, faults.malformed_fraction, stored.resource_type, stored.key):
        return dumps(corrupt(stored.json(), faults.seed))
    return stored.body


def write_errors(job: BulkJob, warnings: Iterable[str]) -> None:
    """Lenient handling's warnings as OperationOutcome lines in the manifest's error file."""
    lines = [operation_outcome("informational", w, severity="warning") for w in warnings]
    if not lines:
        return
    errors = NdjsonFiles(job.folder, len(lines))
    for line in lines:
        errors.write("OperationOutcome", line)
    job.errors = errors.close()


async def run_export(
    job: BulkJob,
    store: ResourceStore,
    types: tuple[str, ...] | None,
    bulk: BulkConfig,
    faults: FaultConfig,
) -> None:
    """Write the job's files; sets ``job.outputs`` and ``job.finished_at`` (or
    ``job.writer_error``)."""
    files = NdjsonFiles(job.folder, bulk.max_lines_per_file)
    since = job.request.since
    since_ms = millis(since) if since is not None else None
    moment = millis(job.transaction_time)
    step = max(1, bulk.patients_per_step)
    try:
        write_errors(job, job.request.warnings)
        source = (
            _by_patient(store, job.patients, types, job)
            if job.request.level != "system"
            else _by_type(store, types if types is not None else tuple(store.types()))
        )
        ticks = 0
        for stored in source:
            if stored is None:
                ticks += 1
                if ticks % step == 0:
                    await asyncio.sleep(0)
                continue
            version = as_of(store, stored, moment)
            if version is None:
                continue
            if since_ms is not None and millis(version.last_updated) <= since_ms:
                continue
            files.write(version.resource_type, _line(version, faults))
        job.outputs = files.close()
        job.finished_at = store.clock.now()
    except asyncio.CancelledError:  # deleted while running
        files.close()
        raise
    except Exception:
        log.exception("sandbox bulk export: the writer failed")
        files.close()
        job.writer_error = "the export failed while writing its files"
        job.finished_at = store.clock.now()
