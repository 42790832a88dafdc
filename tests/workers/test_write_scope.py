"""Missing write permission before a write-back run: the scope needed is compared with the
scope granted, and the fix is offered (a terminal: a question, then a new sign-in asking for
the missing scope; none: the exact command). Real sandbox over loopback HTTP, real store."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import pty
import shlex
import sys
import threading
from collections.abc import AsyncIterator

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.cli import main
from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.store import AuditAction, AuditFilter
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.connections import connection_config, open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DEMO_CONNECTION, follow_authorize_redirects
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.write_scope import (
    PROMPT,
    offer_in_terminal,
    offer_write_sign_in,
    write_scope_for,
    write_scope_gap,
)
from healthprep_desktop.workers.writeback_step import scope_allows_write

WRITE = "user/DocumentReference.write"


@pytest.fixture
async def read_only(setup: Setup) -> AsyncIterator[FhirConnection]:
    """A connection that neither asks for nor was granted DocumentReference write."""
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    narrowed = dataclasses.replace(config, scopes=tuple(s for s in config.scopes if s != WRITE))
    setup.scope.connections.update(setup.connection_id, config=config_for_store(narrowed))
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    await setup.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()


def _requested(setup: Setup) -> tuple[str, ...]:
    return connection_config(setup.store, setup.scope.id, setup.connection_id).scopes


class Terminal:
    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.asked.append(prompt)
        if self.answer is None:
            raise AssertionError("asked without a terminal")
        return self.answer

    def say(self, text: str) -> None:
        self.said.append(text)


def test_the_missing_scope_is_asked_in_the_connections_own_style(setup: Setup) -> None:
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    v1 = dataclasses.replace(config, scopes=("openid", "user/Patient.read"))
    v2 = dataclasses.replace(config, scopes=("openid", "user/Patient.rs"))
    system = dataclasses.replace(
        config, scopes=("system/Patient.read",), auth_method=AuthMethod.SMART_BACKEND_SERVICES
    )
    assert write_scope_for(v1) == WRITE
    assert write_scope_for(v2) == "user/DocumentReference.cu"
    assert write_scope_for(system) == "system/DocumentReference.write"
    assert all(scope_allows_write(write_scope_for(c)) for c in (v1, v2, system))


async def test_without_a_terminal_one_sentence_gives_the_exact_command(
    setup: Setup, read_only: FhirConnection
) -> None:
    gap = write_scope_gap(read_only)
    assert gap is not None and gap.needed == WRITE and not gap.requested
    term = Terminal(None)
    kept = await offer_write_sign_in(
        setup.store, setup.scope.id, "Test clinic", setup.connection_id, read_only,
        interactive=False, ask=term.ask, say=term.say, open_url=follow_authorize_redirects,
    )  # fmt: skip
    assert kept is read_only and not term.asked
    (sentence,) = term.said
    command = sentence.rsplit(": ", 1)[1]
    assert shlex.split(command) == [
        "healthprep-desktop", "connection", "sign-in",
        "--tenant", "Test clinic", "--connection", read_only.config.name,
    ]  # fmt: skip
    assert sentence.count(". ") == 0 and "--resume" in sentence
    assert WRITE not in _requested(setup)  # nothing changed without the user's word


async def test_answering_no_changes_nothing(setup: Setup, read_only: FhirConnection) -> None:
    term = Terminal("n")
    kept = await offer_write_sign_in(
        setup.store, setup.scope.id, "Test clinic", setup.connection_id, read_only,
        interactive=True, ask=term.ask, say=term.say, open_url=follow_authorize_redirects,
    )  # fmt: skip
    assert kept is read_only and term.asked == [PROMPT]
    assert WRITE not in _requested(setup)
    assert write_scope_gap(kept) is not None


async def test_answering_yes_signs_in_for_the_missing_scope_and_the_run_posts(
    setup: Setup, read_only: FhirConnection, cpu_pool: CpuPool
) -> None:
    term = Terminal("y")
    opened: list[str] = []

    async def browser(url: str) -> None:
        opened.append(url)
        await follow_authorize_redirects(url)

    fresh = await offer_write_sign_in(
        setup.store, setup.scope.id, "Test clinic", setup.connection_id, read_only,
        interactive=True, ask=term.ask, say=term.say, open_url=browser,
    )  # fmt: skip
    try:
        assert fresh is not read_only and term.asked == [PROMPT]
        (url,) = opened
        assert "DocumentReference.write" in url  # the new sign-in asked for it
        assert WRITE in _requested(setup)
        assert write_scope_gap(fresh) is None
        changes = [
            e.detail
            for e in setup.scope.audit_entries(AuditFilter())
            if e.action == AuditAction.CONNECTION_CHANGE.value
        ]
        assert any(WRITE in (d or "") for d in changes)
        pids = setup.demo.clinic.patient_ids()[:2]
        spec = JobSpec(
            tenant_id=setup.scope.id, connection_id=str(setup.connection_id),
            patient_ids=tuple(pids), as_of=CLINIC_DAY, write_back=True,
        )  # fmt: skip
        summary = await BatchJob(
            setup.store, spec, connection=fresh, connection_id=setup.connection_id,
            cpu=cpu_pool, tz=setup.demo.clinic.time_zone,
        ).run()  # fmt: skip
        assert summary.written_back == len(pids) and not summary.notices
        assert summary.failed == 0 and not summary.not_posted
        assert setup.demo.server is not None
        posted = [
            d.json()
            for d in setup.demo.server.org().store.all_of("DocumentReference")
            if "prep sheet" in json.dumps(d.json()).lower()
        ]
        assert len(posted) == len(pids)
    finally:
        await fresh.aclose()


async def test_the_command_line_without_a_terminal_prints_the_command_and_stores_the_sheets(
    setup: Setup, read_only: FhirConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = setup.demo.clinic.patient_ids()[:2]
    code = await asyncio.to_thread(
        main,
        ["batch", "--tenant", setup.scope.tenant.name, "--connection", DEMO_CONNECTION,
         "--date", CLINIC_DAY.isoformat(), "--write-back", "--patients", ",".join(pids)],
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out
    command = (
        "healthprep-desktop connection sign-in --tenant 'Test clinic' "
        "--connection 'Demo clinic (sandbox)'"
    )
    said = [line for line in out.err.splitlines() if line.startswith("Write-back needs")]
    assert len(said) == 1 and said[0].endswith(f"--resume to post them: {command}"), out.err
    assert "Traceback" not in out.out + out.err
    assert "2 stored sheets were not posted" in out.out
    assert WRITE not in _requested(setup)  # asked for nothing without the user's word


async def test_on_a_terminal_the_batch_asks_and_yes_signs_in_again(
    setup: Setup, read_only: FhirConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line's own glue on a real pseudo-terminal: the question is shown, "y" is
    typed, the printed link is followed as a browser would, and the new sign-in may post."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)  # no browser: the link is printed only
    master, slave = pty.openpty()
    tty_in = os.fdopen(os.dup(slave), "r")
    tty_out = os.fdopen(os.dup(slave), "w")
    os.close(slave)
    monkeypatch.setattr(sys, "stdin", tty_in)
    monkeypatch.setattr(sys, "stdout", tty_out)
    shown: list[str] = []
    followed: list[str] = []

    def user_at_the_terminal() -> None:
        buffer = ""
        answered = False
        while "Signed in again" not in buffer and "still may not" not in buffer:
            try:
                chunk = os.read(master, 4096).decode(errors="replace")
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            if not answered and "[y/N]" in buffer:
                answered = True
                os.write(master, b"y\n")
            lines = buffer.split("\n")
            for line in lines[:-1]:  # whole lines only: the link may arrive in pieces
                if line.strip().startswith("http") and not followed:
                    followed.append(line.strip())
                    asyncio.run(follow_authorize_redirects(line.strip()))
        shown.append(buffer)

    user = threading.Thread(target=user_at_the_terminal, daemon=True)
    user.start()
    try:
        fresh = await offer_in_terminal(setup.store, setup.scope.id, setup.connection_id, read_only)
    finally:
        tty_out.flush()
        user.join(10)
        tty_in.close()
        tty_out.close()
        os.close(master)
    try:
        assert fresh is not read_only and write_scope_gap(fresh) is None
        assert followed and "DocumentReference.write" in followed[0]
        assert PROMPT.strip() in shown[0]
        assert "Signed in again with permission to file documents." in shown[0]
    finally:
        await fresh.aclose()
