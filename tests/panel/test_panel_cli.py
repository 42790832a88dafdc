"""The ``panel`` command in real subprocesses against a saved connection: SIGTERM mid-run stops
cleanly (exit 3, the run recorded as stopped), and running the same command again completes the
panel, screening only the patients the first run had not."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.credentials import ensure_backend_key
from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import (
    FaultConfig,
    OrgConfig,
    SandboxConfig,
    demo_clients,
)
from healthprep_desktop.sandbox.server import SandboxServer
from healthprep_desktop.store import Store

PASSPHRASE = "panel test passphrase"
PATIENTS = 40


@pytest.fixture
def saved_connection(healthprep_home: Path) -> Iterator[str]:
    """A clinic with a backend-services connection to a running sandbox (key in the store)."""
    with Store.open(passphrase=PASSPHRASE) as store:
        tenant = store.create_tenant("Panel clinic")
        config = ConnectionConfig(
            name="sandbox", base_url="http://127.0.0.1:9/fhir",
            auth_method=AuthMethod.SMART_BACKEND_SERVICES, client_id="healthprep-backend",
            scopes=("system/*.read",),
        )  # fmt: skip
        scope = store.tenant(tenant.id)
        conn = scope.connections.add("sandbox", "generic", config.base_url)
        key = ensure_backend_key(StoreSecrets(store), config.secret_key(tenant.id, "private_key"))
        org = OrgConfig(
            "panel",
            clients=demo_clients(backend_jwks=key.jwks()),
            source=SyntheticClinic(seed=11, patients=PATIENTS),
        )
        # Slow enough to be stopped midway: each chart waits for the server.
        server = SandboxServer(SandboxConfig(orgs=[org], faults=FaultConfig(latency_ms=250)))
        server.start()
        config = dataclasses.replace(config, base_url=server.base_url())
        scope.connections.update(conn.id, base_url=config.base_url,
                                 config=config_for_store(config))  # fmt: skip
    try:
        yield tenant.id
    finally:
        server.stop()


def _command(home: Path, *extra: str) -> tuple[list[str], dict[str, str]]:
    args = [
        sys.executable, "-m", "healthprep_desktop", "panel", "--tenant", "Panel clinic",
        "--connection", "sandbox", "--path", "per-patient", "--concurrency", "2",
        "--passphrase-stdin", *extra,
    ]  # fmt: skip
    return args, dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")


@pytest.mark.slow
def test_sigterm_mid_run_then_rerun_completes(
    saved_connection: str, healthprep_home: Path, tmp_path: Path
) -> None:
    args, env = _command(healthprep_home)
    with subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env,
    ) as first:  # fmt: skip
        assert first.stdin is not None and first.stdout is not None
        first.stdin.write(PASSPHRASE + "\n")
        first.stdin.close()
        lines: list[str] = []
        deadline = time.monotonic() + 120
        try:
            for line in first.stdout:
                lines.append(line)
                if line.startswith("Screened ") and not line.startswith("Screened 0 "):
                    first.send_signal(signal.SIGTERM)
                    break
                assert time.monotonic() < deadline, "".join(lines)
            lines.extend(first.stdout)
            code = first.wait(60)
        finally:
            if first.poll() is None:
                first.kill()
    output = "".join(lines)
    assert code == 3, output
    assert "Stopped early: run the same command again to continue" in output
    assert "Traceback" not in output

    with Store.open(passphrase=PASSPHRASE, create=False) as store:
        scope = store.tenant(saved_connection)
        (connection,) = scope.connections.all()
        (run,) = scope.panel.runs(connection.id)
        assert run.state == "stopped" and run.transaction_time is None
        screened_first = scope.panel.count(connection.id)
    assert 0 < screened_first < PATIENTS

    out = tmp_path / "panel.json"
    args, env = _command(healthprep_home, "--json", str(out))
    second = subprocess.run(
        args, input=PASSPHRASE + "\n", capture_output=True, text=True, env=env, timeout=240
    )
    assert second.returncode == 0, second.stdout + second.stderr
    summary = json.loads(out.read_text())
    assert summary["run"]["state"] == "complete"
    assert summary["run"]["unchanged"] == screened_first  # kept, not screened again
    assert summary["run"]["screened"] == PATIENTS - screened_first
    assert summary["patients"] == PATIENTS
    assert summary["measures"] and summary["statuses"]
    assert (out.stat().st_mode & 0o777) == 0o600
    with Store.open(passphrase=PASSPHRASE, create=False) as store:
        scope = store.tenant(saved_connection)
        (connection,) = scope.connections.all()
        assert scope.panel.count(connection.id) == PATIENTS
        assert [r.state for r in scope.panel.runs(connection.id)] == ["complete", "stopped"]
        assert store.audit.verify().ok
