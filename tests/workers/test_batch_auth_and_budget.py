"""Issue 13 item 2 over real HTTP against the embedded sandbox (real store, real process pool):
the authorization-lost reason reaches the message, the log (no secrets) and the audit uncut;
a patient fails within its time budget; cancel during preparation puts patients back to
pending at once; and the command line's sentences for a lost, a refused and a missing
authorization (exit 3 and 2)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.cli import main
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import StoreTokenStore
from healthprep_desktop.fhir.tokens import refresh_refused
from healthprep_desktop.store import AuditFilter
from healthprep_desktop.store import PatientState as Stored
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DEMO_CONNECTION
from healthprep_desktop.workers.events import Event, JobPhase, PatientEvent, PatientState
from healthprep_desktop.workers.job import JobSpec

LOST = refresh_refused("invalid_grant")


def _spec(setup: Setup, **kw: Any) -> JobSpec:
    base: dict[str, Any] = {"tenant_id": setup.scope.id, "connection_id": str(setup.connection_id)}
    base.update(kw or {"clinic_date": CLINIC_DAY})
    return JobSpec(**base)


def _job(setup: Setup, conn: FhirConnection, cpu: CpuPool, spec: JobSpec, **kw: Any) -> BatchJob:
    return BatchJob(
        setup.store,
        spec,
        connection=conn,
        connection_id=setup.connection_id,
        cpu=cpu,
        tz=setup.demo.clinic.time_zone if setup.demo.clinic else None,
        **kw,
    )


async def test_the_lost_authorization_reason_reaches_the_log_and_the_audit_uncut(
    setup: Setup,
    connection: FhirConnection,
    cpu_pool: CpuPool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = setup.demo.server
    assert server is not None
    tokens = connection.tokens.tokens
    assert tokens is not None and tokens.refresh_token
    secrets = (tokens.access_token, tokens.refresh_token)

    def revoke_after_the_first_patient(event: Event) -> None:
        if isinstance(event, PatientEvent) and event.state is PatientState.DONE:
            # The EHR administrator revokes the app's grant mid-run.
            server.revoke_refresh_tokens()
            server.revoke_access_tokens()

    caplog.set_level(logging.INFO)
    job = _job(
        setup,
        connection,
        cpu_pool,
        _spec(setup),
        listener=revoke_after_the_first_patient,
        reconnect_timeout=0.0,
        concurrency=2,
    )
    summary = await job.run()
    assert summary.phase is JobPhase.RECONNECT and summary.done >= 1
    assert job.lost_reason == LOST
    # The audit says why, whole; the log says why, and holds no token.
    details = [e.detail or "" for e in setup.scope.audit_entries(AuditFilter())]
    assert any(d.endswith(f"authorization was lost: {LOST}") for d in details), details
    assert f"authorization was lost: {LOST}" in caplog.text
    assert not any(secret in caplog.text for secret in secrets)
    assert not any(secret in d for secret in secrets for d in details)
    # Nobody failed for it: the patients not done are pending, for --resume.
    stored = setup.scope.jobs.patients(summary.job_id)
    assert {p.state for p in stored} <= {Stored.DONE, Stored.PENDING}
    assert not summary.failures


async def test_a_patient_fails_within_its_time_budget(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    server = setup.demo.server
    assert server is not None
    await connection.capabilities()  # read before the server slows down
    pids = setup.demo.clinic.patient_ids()[:2] if setup.demo.clinic else []
    server.set_faults(latency_ms=2500)  # every request answers after 2.5 s
    try:
        started = time.monotonic()
        job = _job(
            setup, connection, cpu_pool, _spec(setup, patient_ids=tuple(pids)), patient_budget=2.0
        )
        summary = await job.run()
        took = time.monotonic() - started
    finally:
        server.set_faults(latency_ms=0)
    assert summary.failed == 2, summary
    for reason in summary.failures.values():
        # Inside workers.batch_support.failure_reason's outage wording (the window's outage
        # handling keys on it), the sentence whole.
        assert (
            "127.0.0.1 did not send this patient's chart within 2 s: the server may be "
            "overloaded; try again later." in reason
        )
    assert took < 8, took  # two patients at once, each stopped at its 2 s budget


async def test_cancel_during_preparation_puts_patients_back_to_pending(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    cancelled_at: list[float] = []
    job: BatchJob | None = None

    def cancel_while_screening(event: Event) -> None:
        if (
            isinstance(event, PatientEvent)
            and event.state is PatientState.SCREENING
            and not cancelled_at
        ):
            cancelled_at.append(time.monotonic())
            assert job is not None
            job.cancel()

    job = _job(setup, connection, cpu_pool, _spec(setup), listener=cancel_while_screening)
    summary = await job.run()
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 5
    assert summary.phase is JobPhase.CANCELLED
    assert not summary.failures
    stored = setup.scope.jobs.patients(summary.job_id)
    assert any(p.state is Stored.PENDING for p in stored)
    assert not any(p.state is Stored.FAILED for p in stored)


def _revoke_once_patients_are_read(setup: Setup, stop: threading.Event) -> None:
    """The EHR side, from another thread: once the batch is reading charts, revoke the grant."""
    server = setup.demo.server
    assert server is not None
    while not stop.is_set():
        if server.stats["by_type"].get("Patient", 0):  # a chart ($everything) was read
            server.revoke_refresh_tokens()
            server.revoke_access_tokens()
            return
        time.sleep(0.02)


async def test_the_command_line_says_why_authorization_was_lost(
    setup: Setup, connection: FhirConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    server = setup.demo.server
    assert server is not None
    server.set_faults(latency_ms=50)
    stop = threading.Event()
    watcher = threading.Thread(target=_revoke_once_patients_are_read, args=(setup, stop))
    watcher.start()
    try:
        code = await asyncio.to_thread(
            main,
            ["batch", "--tenant", setup.scope.tenant.name, "--connection", DEMO_CONNECTION,
             "--date", CLINIC_DAY.isoformat(), "--concurrency", "2"],
        )  # fmt: skip
    finally:
        stop.set()
        watcher.join(5)
        server.set_faults(latency_ms=0)
    out = capsys.readouterr()
    assert code == 3, (out, server.stats)
    assert f"Stopped early because authorization was lost ({LOST}); continue with --resume" in (
        out.out
    )
    assert "Traceback" not in out.out + out.err


async def test_a_refused_refresh_at_the_start_is_one_sentence_and_exit_2(
    setup: Setup, connection: FhirConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    tokens = connection.tokens.tokens
    assert tokens is not None
    # The stored sign-in has expired, and the EHR has revoked its refresh token.
    expired = replace(tokens, expires_at=datetime.now(UTC) - timedelta(minutes=5))
    StoreTokenStore(setup.store).save(setup.scope.id, DEMO_CONNECTION, expired)
    assert setup.demo.server is not None
    setup.demo.server.revoke_refresh_tokens()
    code = await asyncio.to_thread(
        main,
        ["batch", "--tenant", setup.scope.tenant.name, "--connection", DEMO_CONNECTION,
         "--date", CLINIC_DAY.isoformat()],
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 2, out
    assert out.err.strip().splitlines()[-1] == (
        f"Cannot run the batch: The sign-in to 127.0.0.1 cannot be used ({LOST}): sign in again."
    )


async def test_a_connection_nobody_signed_in_to_fails_at_once(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = await asyncio.to_thread(
        main,
        ["batch", "--tenant", setup.scope.tenant.name, "--connection", DEMO_CONNECTION,
         "--date", CLINIC_DAY.isoformat()],
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 2, out
    assert out.err.strip() == (
        "Cannot run the batch: the connection 'Demo clinic (sandbox)' has no authorization "
        "(nobody is signed in): run 'healthprep-desktop connection sign-in --tenant 'Test clinic' "
        "--connection 'Demo clinic (sandbox)' --lasting' once, then run the batch again"
    )
    assert time.monotonic() - started < 10
