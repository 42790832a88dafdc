"""Two real processes on one store refresh the same connection at the same time.

The embedded sandbox rotates refresh tokens (each works once) and here issues 2-second access
tokens, so over a few seconds both processes meet due tokens again and again. Both must end
signed in, with no refused refresh: the refresh runs under the store's cross-process lock and
re-reads the stored tokens first.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from token_support import CONNECTION, add_connection, follow_authorize, open_stored, small_sandbox

from healthprep_desktop.fhir.store_adapters import StoreTokenStore
from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.store import AuditAction, AuditFilter, Store

PASSPHRASE = "two processes, one clinic"
WORKER = Path(__file__).with_name("refresh_worker.py")
SECONDS = 6.0


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    sb = small_sandbox()
    sb.config.tokens.access_token_lifetime = 2.0
    with sb:
        yield sb


async def _sign_in(store: Store, tenant: str, connection_id: int) -> None:
    async with open_stored(store, tenant, connection_id) as conn:
        await conn.login_interactive(open_url=follow_authorize, time_limit=10)


async def _read(store: Store, tenant: str, connection_id: int, patient: str) -> str:
    async with open_stored(store, tenant, connection_id) as conn:
        return str((await conn.client.read("Patient", patient))["id"])


@pytest.mark.slow
def test_two_processes_refreshing_one_connection_both_stay_signed_in(
    sandbox: SandboxServer,
) -> None:
    with Store.open(passphrase=PASSPHRASE) as store:
        tenant, connection_id = add_connection(store, sandbox.base_url())
        asyncio.run(_sign_in(store, tenant, connection_id))
        patient = sandbox.org().store.patient_ids()[0]
        path = store.path
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    args = [sys.executable, str(WORKER), str(path), tenant, str(connection_id), patient]
    workers = [
        subprocess.Popen(
            [*args, str(SECONDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=WORKER.parent,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(PASSPHRASE + "\n")
            worker.stdin.flush()
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")  # both start at once
            worker.stdin.flush()
        finished = [w.communicate(timeout=50) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    outcomes = []
    for worker, (out, err) in zip(workers, finished, strict=True):
        assert worker.returncode == 0, err[-2000:]
        assert "Traceback" not in err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    print(outcomes)
    for outcome in outcomes:
        assert outcome["errors"] == [] and outcome["connected"], outcome
        assert outcome["reads"] > 0
    # The race really happened: tokens were refreshed several times, and at least once a
    # process found the other's fresh tokens and used them instead of refreshing.
    assert sum(o["refreshes"] for o in outcomes) >= 3
    assert sum(o["adopted"] for o in outcomes) >= 1
    with Store.open(passphrase=PASSPHRASE) as store:
        assert StoreTokenStore(store).load(tenant, CONNECTION) is not None
        actions = [e.action for e in store.tenant(tenant).audit_entries(AuditFilter())]
        assert AuditAction.REFRESH_FAILURE not in actions
        assert asyncio.run(_read(store, tenant, connection_id, patient)) == patient
