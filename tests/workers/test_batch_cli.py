"""The headless ``batch`` command in real subprocesses: the demo run, and a SIGKILL mid-run
followed by a resume that processes every patient exactly once and posts nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pymupdf
from proc_support import descendants, survivors
from workers_support import CLINIC_DAY

from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT, FaultConfig
from healthprep_desktop.store import PatientState as Stored
from healthprep_desktop.store import Store
from healthprep_desktop.workers.demo import DemoClinic

PASSPHRASE = "correct horse battery staple"


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")


def test_demo_batch_writes_sheets_day_pdf_and_json(tmp_path: Path, healthprep_home: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo",
            "--patients-in-demo", "30", "--date", CLINIC_DAY.isoformat(),
            "--out", str(out), "--json", str(out / "results.json"),
        ],
        capture_output=True, text=True, env=_env(healthprep_home), timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    patients = data["patients"]
    assert data["job"]["failed"] == 0 and len(patients) == data["job"]["total"] > 3
    sheets = sorted(out.glob("[0-9][0-9][0-9]-*.pdf"))
    assert len(sheets) == len(patients)
    with pymupdf.open(out / f"day-{CLINIC_DAY.isoformat()}.pdf") as day:
        pages = day.page_count
    assert pages >= len(patients)
    statuses = {s["status"] for p in patients for s in p["screenings"]}
    assert {"complete", "due", "not_applicable"} <= statuses
    assert all(s["explanation"] for p in patients for s in p["screenings"])
    # The demo store is throwaway: nothing is left in the user's data folder.
    assert not (healthprep_home / "data" / "healthprep.db").exists()


def _prep_sheets_posted(demo: DemoClinic) -> Counter[str]:
    assert demo.server is not None
    posted: Counter[str] = Counter()
    for stored in demo.server.org().store.all_of("DocumentReference"):
        doc = stored.json()
        if "prep sheet" in json.dumps(doc).lower():
            posted[doc["subject"]["reference"].split("/")[-1]] += 1
    return posted


def _describe(demo: DemoClinic, pids: list[str]) -> list[dict[str, object]]:
    """The posted prep sheets of some patients, for a readable failure message."""
    assert demo.server is not None
    out = []
    for stored in demo.server.org().store.all_of("DocumentReference"):
        doc = stored.json()
        if doc.get("masterIdentifier") and doc["subject"]["reference"].split("/")[-1] in pids:
            out.append({k: doc.get(k) for k in ("id", "masterIdentifier", "relatesTo", "date")})
    return out


def _read_url(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip().startswith("http"):
            return line.strip()
    raise AssertionError("the batch never printed the sign-in address")


def test_sigkill_midway_then_resume_processes_each_patient_exactly_once(
    healthprep_home: Path,
) -> None:
    with DemoClinic(
        patients=40, seed=11, clinic_day=CLINIC_DAY, faults=FaultConfig(latency_ms=40)
    ) as demo:
        pids = demo.clinic.patient_ids()[:24]
        common = [
            sys.executable, "-m", "healthprep_desktop", "batch",
            "--fhir-url", demo.base_url, "--auth", "smart", "--client-id", DEMO_PUBLIC_CLIENT,
            "--print-sign-in-link",
            "--write-back", "--concurrency", "2", "--passphrase-stdin",
        ]  # fmt: skip
        with subprocess.Popen(
            [*common, "--patients", ",".join(pids), "--as-of", CLINIC_DAY.isoformat()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=_env(healthprep_home),
        ) as first:  # fmt: skip
            try:
                assert first.stdin is not None
                first.stdin.write(PASSPHRASE + "\n")
                first.stdin.close()
                # Headless sign-in: the command prints the address; we play the browser.
                url = _read_url(first, time.monotonic() + 60)
                lines: list[str] = []
                assert first.stdout is not None
                reader = threading.Thread(target=lambda: lines.extend(first.stdout), daemon=True)
                reader.start()
                httpx.get(url, follow_redirects=True, timeout=30)
                deadline = time.monotonic() + 120
                while sum(_prep_sheets_posted(demo).values()) < 8:
                    assert first.poll() is None, "the batch ended before it could be killed"
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                # Every process of the app, listed before the kill (workers, resource tracker).
                app_processes = descendants(first.pid)
                assert app_processes
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(30)
        posted_at_kill = sum(_prep_sheets_posted(demo).values())
        assert posted_at_kill < len(pids)
        # None of them outlives the app by more than 5 s.
        assert not survivors(app_processes, within=5.0)
        # The job's number was printed before the first patient, so a crash leaves it known.
        reader.join(5)
        assert "Job 1 started (resume with --resume 1)\n" in lines

        listed = subprocess.run(
            [*common[:4], "--list-jobs", "--passphrase-stdin"],
            input=PASSPHRASE + "\n", capture_output=True, text=True,
            env=_env(healthprep_home), timeout=60,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stdout + listed.stderr
        (row,) = [x.split() for x in listed.stdout.splitlines() if x.split()[:1] == ["1"]]
        assert row[1] == CLINIC_DAY.isoformat() and row[3] == str(len(pids))

        resumed = subprocess.run(
            [*common, "--resume", "last"],
            input=PASSPHRASE + "\n", capture_output=True, text=True,
            env=_env(healthprep_home), timeout=240,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        posted = _prep_sheets_posted(demo)
        assert set(posted) == set(pids)
        twice = [pid for pid, n in posted.items() if n > 1]
        assert not twice, f"posted twice: {_describe(demo, twice)}"

    with Store.open(passphrase=PASSPHRASE, create=False) as store:
        (tenant,) = store.tenants()
        scope = store.tenant(tenant.id)
        states = {p.patient_id: p.state for p in scope.jobs.patients(1)}
        assert set(states) == set(pids) and set(states.values()) == {Stored.DONE}
        sheets = Counter(s.patient_id for s in scope.sheets.all(job_id=1))
        assert set(sheets) == set(pids) and set(sheets.values()) == {1}
        assert store.audit.verify().ok

    listed = subprocess.run(
        [*common[:4], "--list-jobs", "--passphrase-stdin"],
        input=PASSPHRASE + "\n", capture_output=True, text=True,
        env=_env(healthprep_home), timeout=60,
    )  # fmt: skip
    (row,) = [x.split() for x in listed.stdout.splitlines() if x.split()[:1] == ["1"]]
    assert row[2] == "done" and f"{len(pids)} done" in " ".join(row)


def test_demo_batch_over_imported_bundles(
    tmp_path: Path, healthprep_home: Path, shared_dir: Path
) -> None:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    chosen = sorted((shared_dir / "synthea" / "bundles").glob("*.json"))[:6]
    for path in chosen:
        (bundles / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo",
            "--import", str(bundles), "--all-patients", "--as-of", "2021-06-30",
            "--json", str(out),
        ],
        capture_output=True, text=True, env=_env(healthprep_home), timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert {p["patient_id"] for p in data["patients"]} == {p.stem for p in chosen}
    assert all(p["as_of"] == "2021-06-30" for p in data["patients"])
    assert all(s["status"] for p in data["patients"] for s in p["screenings"])
