"""Bad input never stops a panel: a corrupt NDJSON line and a patient that cannot be screened
are reported (type and line number, patient id; no content) and the others are screened.
Memory stays bounded: the NDJSON files are streamed through the encrypted staging database and
only the charts in flight are in memory."""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.panel.run import PanelOptions, PanelSummary
from healthprep_desktop.panel.sources import BulkExport, ExportedFiles
from healthprep_desktop.panel.staging import PanelStaging, patient_of
from healthprep_desktop.panel.start import PathChoice, make_run
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor

AS_OF = date(2026, 12, 1)
SECRET_NAME = "Zelda Quux-Secretname"  # a name that must never reach a report or the audit


def clinic_files(folder: Path, patients: int, seed: int = 3) -> dict[str, Path]:
    """NDJSON per type, written straight from the synthetic clinic (what an export gives)."""
    handles: dict[str, Any] = {}
    try:
        for resource in SyntheticClinic(seed=seed, patients=patients, reference_date=AS_OF) \
                .iter_resources():  # fmt: skip
            kind = resource["resourceType"]
            if kind in ("Binary", "Appointment") or (
                kind != "Medication" and patient_of(resource) is None
            ):
                continue
            if kind not in handles:
                handles[kind] = (folder / f"{kind}.ndjson").open("w", encoding="utf-8")
            handles[kind].write(json.dumps(resource) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return {kind: folder / f"{kind}.ndjson" for kind in handles}


def export_of(files: dict[str, Path]) -> BulkExport:
    async def export(
        group: str | None, types: tuple[str, ...], since: str | None, folder: Path
    ) -> ExportedFiles:
        out = []
        for kind, source in sorted(files.items()):
            target = folder / source.name
            target.write_bytes(source.read_bytes())
            os.chmod(target, 0o600)
            out.append((kind, target))
        return ExportedFiles(out, "2026-12-01T12:00:00Z", requests=2, downloads=len(out))

    return export


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


async def run_files(
    store: Store, files: dict[str, Path], cpu: CpuPool, work: Path
) -> tuple[PanelSummary, int, list[str]]:
    tenant = store.create_tenant("Files clinic")
    scope = store.tenant(tenant.id)
    connection_id = scope.connections.add("files", "generic", "http://127.0.0.1:9/fhir").id
    config = ConnectionConfig(name="files", base_url="http://127.0.0.1:9/fhir",
                              auth_method=AuthMethod.NONE)  # fmt: skip
    lines: list[str] = []
    db = StoreExecutor()
    try:
        async with FhirConnection(
            config, tenant=tenant.id, tokens=MemoryTokenStore(), secrets=MemorySecrets()
        ) as conn:
            run = make_run(
                store, tenant.id, connection_id, conn, as_of=AS_OF,
                options=PanelOptions(since="never", types=tuple(sorted(files))),
                choice=PathChoice(export_of(files), "files"), capabilities=None,
                cpu=cpu, db=db, say=lines.append, work_dir=work,
            )  # fmt: skip
            return await run.run(), connection_id, lines
    finally:
        db.shutdown()


async def test_corrupt_line_and_bad_patient_are_reported_and_skipped(
    store: Store, cpu_pool: CpuPool, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    files = clinic_files(source, 6)
    good = sorted(json.loads(x)["id"] for x in files["Patient"].read_text().splitlines())
    with files["Observation"].open("a", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Observation", "id": "cut-off", "note": "' + SECRET_NAME)
        handle.write("\n")
        # A patient the export sent results for but no Patient resource: cannot be screened.
        handle.write(json.dumps({
            "resourceType": "Observation", "id": "orphan", "status": "final",
            "code": {"text": SECRET_NAME}, "subject": {"reference": "Patient/ghost"},
        }) + "\n")  # fmt: skip
        handle.write('["not", "a", "resource"]\n')
    work = tmp_path / "work"
    summary, connection_id, lines = await run_files(store, files, cpu_pool, work)

    assert summary.state == "complete"
    assert summary.counts.screened == len(good)
    assert summary.counts.failures == {
        "ghost": "the export has no Patient resource for this patient"
    }
    assert summary.imported.bad_lines == 2
    problems = summary.imported.problems
    assert any("Observation file, line" in p and "not valid JSON" in p for p in problems)
    assert any("not a FHIR resource" in p for p in problems)
    assert all(p in lines for p in problems)  # said as the run went
    scope = store.tenant(store.tenants()[0].id)
    assert sorted(r.patient_id for r in scope.panel.iter(connection_id)) == good
    (run,) = scope.panel.runs(connection_id)
    assert run.state == "complete" and run.summary["failures"] == summary.counts.failures
    # No content of the bad lines anywhere it could be seen: output, summary, audit trail.
    audit = [e.detail + " ".join(e.resource_ids) for e in scope.audit_entries()]
    for text in [*lines, json.dumps(run.summary), *audit]:
        assert SECRET_NAME not in text
    finished = [e for e in scope.audit_entries() if "complete" in e.detail]
    assert finished and finished[-1].action == AuditAction.SCREEN
    assert list(work.iterdir()) == []  # the downloaded files and staging database are gone


def staging_peak(folder: Path, patients: int) -> tuple[int, int, int]:
    """(tracemalloc peak, NDJSON bytes, resources) of importing and walking a clinic."""
    folder.mkdir()
    files = clinic_files(folder, patients, seed=9)
    size = sum(p.stat().st_size for p in files.values())
    resources = 0
    with PanelStaging(folder / "staging.db") as staging:
        staging.import_lines([b"{}"], "warm-up", None)  # first-use allocations, not data
        tracemalloc.start()
        try:
            for kind, path in sorted(files.items()):
                staging.import_ndjson(path, kind)
            for patient_id in staging.patient_ids(page=50):
                patient, chart = staging.chart(patient_id)
                assert patient is not None
                resources += len(chart) + 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, size, resources


def test_staging_memory_stays_bounded(tmp_path: Path) -> None:
    """Importing and walking thousands of resources holds one chart and one insert batch at a
    time: four times the patients, about the same peak."""
    small_peak, _, _ = staging_peak(tmp_path / "small", 40)
    peak, size, resources = staging_peak(tmp_path / "large", 160)
    assert resources > 4000
    # Loading the files would take several times their text size (parsed JSON is bigger).
    assert peak < size / 2, (peak, size)
    assert peak < small_peak * 1.5, (peak, small_peak)
