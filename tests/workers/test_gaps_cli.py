"""Gaps in care from stored charts: private files, audited, parsed by the R4B models; posted to
the sandbox once when its CapabilityStatement and the sign-in allow it, and not otherwise.
Real encrypted store, real sandbox over loopback HTTP, real screening engine."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from workers_support import Setup

from healthprep_desktop.fhir.errors import FhirHttpError
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.screening.measures.gaps_bundle import bundle_gaps
from healthprep_desktop.store import AuditAction, AuditFilter
from healthprep_desktop.store.repos.ledger import LedgerState
from healthprep_desktop.workers.connections import connection_config, open_connection
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.gaps_cli import (
    UNSETTLED,
    GapsRun,
    describe,
    granted_scope,
    post_gaps_bundles,
    write_gaps_bundles,
)
from tests.screening.measures.builders import MALE, Case, code_in

OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
MAMMOGRAM = code_in("2.16.840.1.113883.3.464.1003.108.12.1018", "loinc")
AS_OF = date(2026, 6, 1)
BUNDLE_WRITE = "user/Bundle.write"
BUNDLE_READ = "user/Bundle.read"


def _store_chart(setup: Setup, case: Case) -> None:
    setup.scope.records.put(
        setup.connection_id,
        case.pid,
        fetched_at="2026-06-01T08:00:00+00:00",
        etags={},
        record={"patient": case.patient, "resources": case.resources},
        record_hash=case.pid,
    )


def _charts(setup: Setup) -> list[str]:
    """Three sandbox patients: a woman screened for breast cancer 19 months ago, one
    screened 5 months ago, and a young man in no measure's denominator."""
    ids = setup.demo.clinic.patient_ids()[:3]
    for pid, when in zip(ids[:2], ("2024-11-01T08:00:00Z", "2026-01-05T08:00:00Z"), strict=True):
        case = Case(pid, birth="1970-05-05")
        case.encounter(OFFICE, "2026-03-01T09:00:00Z")
        case.observation(MAMMOGRAM, when, category="imaging")
        _store_chart(setup, case)
    _store_chart(setup, Case(ids[2], birth="1996-01-01", sex=MALE))
    return ids


def _write(setup: Setup, out: Path, ids: list[str]) -> GapsRun:
    return write_gaps_bundles(
        setup.scope, setup.connection_id, [*ids, "never-fetched"], 2026, out, as_of=AS_OF
    )


def test_writes_private_parsed_audited_documents(setup: Setup, tmp_path: Path) -> None:
    ids = _charts(setup)
    out = tmp_path / "gaps"
    run = _write(setup, out, ids)
    assert run.patients == 3 and run.no_gaps == 1 and run.missing_charts == ["never-fetched"]
    assert sorted(run.files) == sorted(ids[:2])
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    gaps: dict[str, dict[str, str]] = {}
    for pid, path in run.files.items():
        assert path == out / f"{pid}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        bundle = json.loads(path.read_text(encoding="utf-8"))
        Bundle.model_validate(bundle)
        gaps[pid] = {detail.split()[0]: status for detail, status in bundle_gaps(bundle)}
    # The screening engine's biennial due date (2026-11-01) falls in the period: prospective.
    assert gaps[ids[0]]["CMS125"] == "prospective-gap"
    assert gaps[ids[1]]["CMS125"] == "closed-gap"  # due again in 2028
    assert gaps[ids[0]]["CMS130"] == gaps[ids[1]]["CMS130"] == "open-gap"
    assert run.statuses["prospective-gap"] == 1
    (entry,) = setup.scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.EXPORT})))
    assert "gaps in care 2026: 2 DEQM bundles for 3 patients" in entry.detail
    assert set(entry.resource_ids) == {f"Patient/{p}" for p in ids[:2]}
    text = "\n".join(describe(run, out))
    assert "Wrote 2 gaps-in-care bundles for 3 patients" in text
    assert "1 patient(s) are in no measure's denominator" in text


async def _signed_in(setup: Setup, extra: tuple[str, ...]) -> FhirConnection:
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    wider = dataclasses.replace(config, scopes=(*config.scopes, *extra))
    setup.scope.connections.update(setup.connection_id, config=config_for_store(wider))
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    await setup.demo.login(conn)
    return conn


@pytest.fixture
async def writer(setup: Setup) -> AsyncIterator[FhirConnection]:
    conn = await _signed_in(setup, (BUNDLE_WRITE, BUNDLE_READ))
    try:
        yield conn
    finally:
        await conn.aclose()


def _bundles_on_server(demo: DemoClinic) -> list[dict[str, Any]]:
    assert demo.server is not None
    return [s.json() for s in demo.server.org().store.all_of("Bundle")]


async def test_posts_each_document_once(
    setup: Setup, writer: FhirConnection, tmp_path: Path
) -> None:
    run = _write(setup, tmp_path / "gaps", _charts(setup))
    granted = granted_scope(writer)
    assert granted is not None and BUNDLE_WRITE in granted
    posting = await post_gaps_bundles(
        writer.client, setup.scope, setup.connection_id, run, granted=granted
    )
    assert posting.notice is None and posting.failed == {}
    assert posting.posted == 2
    on_server = _bundles_on_server(setup.demo)
    assert len(on_server) == 2
    assert {b["identifier"]["value"] for b in on_server} == {
        json.loads(p.read_text(encoding="utf-8"))["identifier"]["value"] for p in run.files.values()
    }
    # The same documents again: the ledger knows them, nothing is posted.
    again = await post_gaps_bundles(
        writer.client, setup.scope, setup.connection_id, run, granted=granted
    )
    assert (again.posted, again.unchanged) == (0, 2)
    assert len(_bundles_on_server(setup.demo)) == 2
    assert (
        len(setup.scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.WRITE_BACK}))))
        == 2
    )


async def test_a_crashed_post_is_settled_not_repeated(
    setup: Setup, writer: FhirConnection, tmp_path: Path
) -> None:
    run = _write(setup, tmp_path / "gaps", _charts(setup)[:2])
    landed_pid, lost_pid = sorted(run.files)
    for pid in (landed_pid, lost_pid):
        bundle = json.loads(run.files[pid].read_text(encoding="utf-8"))
        key = f"deqm-gaps|{setup.connection_id}|{pid}|{bundle['identifier']['value']}"
        # A run claimed both and died; its lease has run out. One POST had landed.
        setup.scope.ledger.claim(key, pid, lease=timedelta(seconds=-1))
        if pid == landed_pid:
            await writer.client.create(bundle)
    posting = await post_gaps_bundles(writer.client, setup.scope, setup.connection_id, run)
    assert (posting.recovered, posting.posted) == (1, 1)
    assert len(_bundles_on_server(setup.demo)) == 2  # not three
    states = {e.patient_id: e.state for e in setup.scope.ledger.all()}
    assert states == {landed_pid: LedgerState.POSTED, lost_pid: LedgerState.POSTED}


async def test_not_posted_without_permission(setup: Setup, tmp_path: Path) -> None:
    run = _write(setup, tmp_path / "gaps", _charts(setup))
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    narrower = dataclasses.replace(
        config, scopes=tuple(s for s in config.scopes if "Bundle" not in s)
    )
    setup.scope.connections.update(setup.connection_id, config=config_for_store(narrower))
    connection = open_connection(setup.store, setup.scope.id, setup.connection_id)
    await setup.demo.login(connection)
    granted = granted_scope(connection)
    assert granted is not None and "Bundle" not in granted  # signed in without Bundle scopes
    posting = await post_gaps_bundles(
        connection.client, setup.scope, setup.connection_id, run, granted=granted
    )
    assert posting.posted == 0 and posting.notice is not None
    assert "may not create Bundles" in posting.notice
    assert posting.lines() == [posting.notice]
    assert _bundles_on_server(setup.demo) == []
    await connection.aclose()


async def test_not_posted_where_the_ehr_offers_no_bundle_create(
    setup: Setup, writer: FhirConnection, tmp_path: Path
) -> None:
    run = _write(setup, tmp_path / "gaps", _charts(setup))
    assert setup.demo.server is not None
    setup.demo.server.config.profile = "epic-like"  # its CapabilityStatement: no Bundle
    posting = await post_gaps_bundles(
        writer.client, setup.scope, setup.connection_id, run, granted=granted_scope(writer)
    )
    assert posting.posted == 0
    assert posting.notice is not None and "offers no Bundle create" in posting.notice
    assert _bundles_on_server(setup.demo) == []
    assert setup.scope.ledger.all() == []


async def test_an_unverifiable_crashed_post_is_not_repeated(setup: Setup, tmp_path: Path) -> None:
    # A sign-in that may create Bundles but not search them cannot check a pending claim.
    conn = await _signed_in(setup, (BUNDLE_WRITE,))
    try:
        run = _write(setup, tmp_path / "gaps", _charts(setup)[:1])
        ((pid, path),) = run.files.items()
        bundle = json.loads(path.read_text(encoding="utf-8"))
        key = f"deqm-gaps|{setup.connection_id}|{pid}|{bundle['identifier']['value']}"
        setup.scope.ledger.claim(key, pid, lease=timedelta(seconds=-1))
        await conn.client.create(bundle)  # it had landed
        posting = await post_gaps_bundles(conn.client, setup.scope, setup.connection_id, run)
    finally:
        await conn.aclose()
    assert posting.posted == 0 and posting.failed == {pid: UNSETTLED}
    assert len(_bundles_on_server(setup.demo)) == 1
    (entry,) = setup.scope.ledger.all()
    assert entry.state is LedgerState.PENDING


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--demo", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_batch_writes_gaps_in_care(tmp_path: Path, healthprep_home: Path) -> None:
    out = tmp_path / "gaps"
    result = _cli(
        healthprep_home, "--patients-in-demo", "3", "--all-patients",
        "--measure-period", "2026", "--gaps-in-care", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gaps-in-care bundles for 3 patients" in result.stdout
    assert "Not posted to the EHR" in result.stdout
    files = sorted(out.glob("*.json"))
    assert files
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        Bundle.model_validate(json.loads(path.read_text(encoding="utf-8")))


def test_gaps_in_care_needs_a_period(tmp_path: Path, healthprep_home: Path) -> None:
    result = _cli(healthprep_home, "--gaps-in-care", str(tmp_path / "gaps"))
    assert result.returncode == 2
    assert "--gaps-in-care" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "gaps").exists()


async def test_the_sandbox_takes_only_document_bundles_about_its_patients(
    setup: Setup, writer: FhirConnection, tmp_path: Path
) -> None:
    run = _write(setup, tmp_path / "gaps", _charts(setup)[:1])
    (path,) = run.files.values()
    document = json.loads(path.read_text(encoding="utf-8"))
    collection = {**document, "type": "collection"}
    subject = document["entry"][0]["resource"]["subject"]["reference"]
    stranger = json.loads(json.dumps(document).replace(f'"{subject}"', '"Patient/nobody"'))
    for body, words in ((collection, "only document Bundles"), (stranger, "existing Patient")):
        with pytest.raises(FhirHttpError) as caught:
            await writer.client.create(body)
        assert caught.value.status == 422 and words in str(caught.value)
    assert _bundles_on_server(setup.demo) == []
    created = await writer.client.create(document)
    assert created.status == 201 and created.resource_id
