"""The panel over Bulk Data files and over the per-patient fetch: same patients, same results;
a rerun with ``_since`` re-screens only the changed patients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from panel_support import PanelSetup

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.panel.bulk_source import bulk_problem, store_bulk_export
from healthprep_desktop.panel.run import PanelOptions, PanelSummary
from healthprep_desktop.panel.start import PathChoice, make_run
from healthprep_desktop.store import AuditAction
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor

AS_OF = date(2026, 12, 1)


@pytest.fixture
async def connection(setup: PanelSetup) -> AsyncIterator[FhirConnection]:
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    await setup.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()


async def run_panel(
    setup: PanelSetup,
    connection: FhirConnection,
    cpu: CpuPool,
    choice: PathChoice,
    *,
    since: str = "auto",
    lines: list[str] | None = None,
    tmp: Path | None = None,
    group: str | None = None,
) -> PanelSummary:
    db = StoreExecutor()
    try:
        run = make_run(
            setup.store, setup.scope.id, setup.connection_id, connection,
            as_of=AS_OF, options=PanelOptions(group_id=group, since=since), choice=choice,
            capabilities=await connection.capabilities(), cpu=cpu, db=db,
            say=(lines if lines is not None else []).append, work_dir=tmp,
        )  # fmt: skip
        return await run.run()
    finally:
        db.shutdown()


def stored_results(setup: PanelSetup) -> dict[str, tuple[Any, Any]]:
    return {
        r.patient_id: (r.results["results"], r.measures)
        for r in setup.scope.panel.iter(setup.connection_id)
    }


async def test_bulk_and_per_patient_give_the_same_results(
    setup: PanelSetup, connection: FhirConnection, cpu_pool: CpuPool, tmp_path: Path
) -> None:
    """Bulk Data over HTTP from the sandbox (Group/panel/$export), then the per-patient fetch."""
    server = setup.demo.server
    assert server is not None
    server.config.bulk.retry_after = 0
    datastore = server.org().store
    patients = sorted(datastore.patient_ids())
    capabilities = await connection.capabilities()
    assert bulk_problem(capabilities, "panel") is None
    lines: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    bulk = store_bulk_export(connection, setup.scope, setup.connection_id, say=lines.append)
    before = connection.client.stats.requests
    summary = await run_panel(
        setup, connection, cpu_pool, PathChoice(bulk, "the server supports Bulk Data"),
        lines=lines, tmp=work, group="panel",
    )  # fmt: skip
    assert summary.state == "complete" and summary.path == "bulk", lines
    assert summary.counts.screened == len(patients) and summary.counts.failed == 0
    assert summary.requests + summary.downloads == connection.client.stats.requests - before
    assert summary.requests <= 20 and summary.downloads >= 5
    assert list(work.iterdir()) == []  # NDJSON, the staging database, their folder: gone
    assert any("bulk (the server supports Bulk Data)" in line for line in lines)
    (run,) = setup.scope.panel.runs(setup.connection_id)
    assert run.export_id is not None and run.transaction_time
    by_bulk = stored_results(setup)
    assert sorted(by_bulk) == patients
    some = next(iter(by_bulk.values()))
    assert some[0] and str(AS_OF.year) in some[1] and str(AS_OF.year - 1) in some[1]

    # The same panel (the sandbox's "panel" group is every patient) fetched patient by
    # patient, into a clean slate: identical results.
    for pid in patients:
        setup.scope.panel.delete(setup.connection_id, pid)
        setup.scope.records.delete(setup.connection_id, pid)
    summary = await run_panel(
        setup, connection, cpu_pool, PathChoice(None, "no bulk here"), since="never"
    )
    assert summary.path == "per-patient" and summary.counts.screened == len(patients)
    assert summary.requests > len(patients)  # one or more per chart, and the listing
    assert stored_results(setup) == by_bulk


async def test_rerun_with_since_rescreens_only_changed_patients(
    setup: PanelSetup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    server = setup.demo.server
    assert server is not None
    server.config.bulk.retry_after = 0
    datastore = server.org().store
    bulk = store_bulk_export(connection, setup.scope, setup.connection_id, say=print)
    choice = PathChoice(bulk, "the server supports Bulk Data")
    first = await run_panel(setup, connection, cpu_pool, choice, group="panel")
    assert first.state == "complete" and first.since is None
    before = {r.patient_id: r for r in setup.scope.panel.iter(setup.connection_id)}
    # Two charts change: an Observation gets a new version; one patient gets a new condition.
    changed = sorted(before)[:2]
    observation = datastore.compartment(changed[0], ["Observation"])[0].json()
    observation["status"] = "amended"
    datastore.put(observation)
    datastore.put(
        {
            "resourceType": "Condition",
            "id": "panel-test-diabetes",
            "subject": {"reference": f"Patient/{changed[1]}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                               "condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "onsetDateTime": "2020-01-01",
        }
    )  # fmt: skip
    await asyncio.sleep(1.1)  # the sandbox's lastUpdated has one-second precision
    second = await run_panel(setup, connection, cpu_pool, choice, group="panel")
    # `_since` = the first run's transactionTime: only the two changed charts came back.
    assert second.since == setup.scope.panel.runs(setup.connection_id)[1].transaction_time
    assert second.patients == 2
    assert second.counts.screened + second.counts.unchanged == 2
    after = {r.patient_id: r for r in setup.scope.panel.iter(setup.connection_id)}
    assert sorted(after) == sorted(before)  # the others keep their stored results
    rescreened = sorted(p for p in after if after[p].run_id == second.run_id)
    assert changed[1] in rescreened and set(rescreened) <= set(changed)
    chart = setup.scope.records.get(setup.connection_id, changed[1])
    assert chart is not None
    ids = {(r["resourceType"], r["id"]) for r in chart.record["resources"]}
    assert ("Condition", "panel-test-diabetes") in ids  # merged into the stored chart
    assert len(ids) > 5  # ... which kept everything else
    assert after[changed[1]].record_hash != before[changed[1]].record_hash
    entries = setup.scope.audit_entries()
    screens = [e for e in entries if e.action == AuditAction.SCREEN]
    assert any(f"Patient/{changed[1]}" in e.resource_ids for e in screens), [
        (e.detail, e.resource_ids[:3]) for e in screens
    ]
