"""``healthprep-desktop launch URL`` end to end: the sandbox issues an EHR launch over HTTP, the
real command (a subprocess with the real encrypted store) completes the SMART EHR-launch flow
with this test as the browser, and prepares that patient's sheet, which the store then holds.
An unknown ``iss`` is refused in one sentence, exit 2, with nothing sent to that server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir_support import LoopbackServer
from token_support import add_connection, small_sandbox

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.store import AuditFilter, Store

PASSPHRASE = "launch test passphrase"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with small_sandbox() as sb:
        yield sb


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")


def _store_with_connection(base_url: str) -> tuple[str, int]:
    store = Store.open(passphrase=PASSPHRASE, create=True)
    try:
        return add_connection(store, base_url)
    finally:
        store.close()


def _launch(*args: str, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "healthprep_desktop", "launch", *args, "--passphrase-stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
    )


def _follow(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=20):
            pass
    except urllib.error.HTTPError as refused:
        refused.close()


def test_launch_command_signs_in_and_prepares_the_launched_patient(
    sandbox: SandboxServer, healthprep_home: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    tenant, _ = _store_with_connection(sandbox.base_url())
    patient = sandbox.org().store.patient_ids()[2]
    # The EHR's button, as an admin would press it: the sandbox's launch command.
    root = sandbox.base_url().rsplit("/org/", 1)[0]
    issued = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "sandbox", "launch",
            "--sandbox-url", root, "--org", "clinic", "--patient", patient,
        ],
        capture_output=True, text=True, timeout=60, env=_env(healthprep_home),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stdout + issued.stderr
    url = issued.stdout.strip()
    assert url.startswith("healthprep://launch?iss=")
    handle = str(httpx.URL(url.replace("healthprep://launch", "http://x/", 1)).params["launch"])
    out_dir = tmp_path / "pdfs"
    with _launch(url, "--out", str(out_dir), home=healthprep_home) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        lines: list[str] = []
        sign_in = ""
        deadline = time.monotonic() + 60
        while not sign_in and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("http://127.0.0.1:"):
                sign_in = line.strip()
        assert sign_in, "".join(lines) + proc.stderr.read()
        # What the command shows and hands a browser is a loopback page, not the launch.
        assert handle not in sign_in
        threading.Thread(target=_follow, args=(sign_in,), daemon=True).start()
        errors: list[str] = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
        drain.start()
        out = proc.stdout.read()
        proc.wait(120)
        drain.join(10)
        err = "".join(errors)
    output = "".join(lines) + out
    assert proc.returncode == 0, output + err
    assert "Prepared the prep sheet of the launched patient" in output
    assert handle not in output + err
    pdfs = sorted(out_dir.glob("*.pdf"))
    assert pdfs and all(p.stat().st_mode & 0o777 == 0o600 for p in pdfs)

    store = Store.open(passphrase=PASSPHRASE, create=False)
    try:
        scope = store.tenant(tenant)
        sheets = scope.sheets.all(patient_id=patient)
        assert len(sheets) == 1
        sheet = scope.sheets.get(sheets[0].id)
        assert sheet is not None and sheet.pdf.startswith(b"%PDF")
        assert sheets[0].results  # the screening results behind it
        # No other patient was prepared.
        assert {s.patient_id for s in scope.sheets.all()} == {patient}
        # Audited by reference: the launch names the patient id, never the handle.
        events = store.audit.entries(AuditFilter(tenant_id=tenant))
        launch = [e for e in events if e.patient_id == patient and "via=ehr_launch" in e.detail]
        assert len(launch) == 1
        assert all(handle not in repr(e) for e in events)
    finally:
        store.close()
    # The log file (if any) never holds the handle.
    for log_file in healthprep_home.rglob("*.log*"):
        assert handle not in log_file.read_text(encoding="utf-8", errors="replace")
    print(f"launch end to end: {time.monotonic() - started:.1f} s")


def test_launch_from_an_unknown_server_is_refused_and_nothing_is_sent(
    sandbox: SandboxServer, server: LoopbackServer, healthprep_home: Path
) -> None:
    _store_with_connection(sandbox.base_url())
    url = "healthprep://launch?" + str(httpx.QueryParams({"iss": server.url, "launch": "h-123"}))
    with _launch(url, home=healthprep_home) as proc:
        out, err = proc.communicate(PASSPHRASE + "\n", timeout=60)
    assert proc.returncode == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "not the FHIR address of any connection set up here" in lines[0]
    assert "Traceback" not in out + err and "h-123" not in out + err
    assert server.seen == []
    store = Store.open(passphrase=PASSPHRASE, create=False)
    try:
        refused = [e for e in store.audit.entries() if "EHR launch refused" in e.detail]
    finally:
        store.close()
    assert len(refused) == 1 and refused[0].outcome == "failure"
    assert "127.0.0.1" in refused[0].detail and "h-123" not in refused[0].detail


def test_a_malformed_launch_address_gets_one_sentence(healthprep_home: Path) -> None:
    with _launch("healthprep://launch?launch=only", home=healthprep_home) as proc:
        out, err = proc.communicate(PASSPHRASE + "\n", timeout=60)
    assert proc.returncode == 2
    assert err.strip().startswith("Cannot launch: The EHR launch address must carry")
    assert "Traceback" not in out + err


def test_a_bare_launch_address_from_the_os_goes_to_the_headless_launch_without_a_display(
    healthprep_home: Path,
) -> None:
    # The OS starts `healthprep-desktop healthprep://launch?...`; with no display it is the
    # headless launch command (the window takes it where there is one).
    env = {
        k: v
        for k, v in _env(healthprep_home).items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "healthprep://launch?launch=secret-handle"],
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Cannot launch: The EHR launch address must carry")
    assert "secret-handle" not in result.stdout + result.stderr
