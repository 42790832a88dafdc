"""Two real batch processes on one store and one clinic day: the second is refused in one
sentence while the first runs (a new job or a resume of the running one), each sheet is posted
once, and the store holds one sheet per patient for the day."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from test_batch_cli import PASSPHRASE, _env, _prep_sheets_posted, _read_url
from workers_support import CLINIC_DAY

from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT, FaultConfig
from healthprep_desktop.store import Store
from healthprep_desktop.workers.demo import DemoClinic


def _start(args: list[str], home: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(home),
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(PASSPHRASE + "\n")
    proc.stdin.close()
    return proc


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        out, err = proc.stdout.read(), proc.stderr.read()  # both are short
    return proc.wait(120), out, err


@pytest.mark.slow
def test_a_second_batch_on_the_same_day_is_refused_and_nothing_is_posted_twice(
    healthprep_home: Path,
) -> None:
    with DemoClinic(
        patients=40, seed=11, clinic_day=CLINIC_DAY, faults=FaultConfig(latency_ms=150)
    ) as demo:
        pids = demo.clinic.patient_ids()[:16]
        common = [
            sys.executable, "-m", "healthprep_desktop", "batch",
            "--fhir-url", demo.base_url, "--auth", "smart", "--client-id", DEMO_PUBLIC_CLIENT,
            "--print-sign-in-link",
            "--write-back", "--concurrency", "2", "--passphrase-stdin",
        ]  # fmt: skip
        day = ["--patients", ",".join(pids), "--as-of", CLINIC_DAY.isoformat()]
        with subprocess.Popen(
            [*common, *day],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=_env(healthprep_home),
        ) as first:  # fmt: skip
            try:
                assert first.stdin is not None
                first.stdin.write(PASSPHRASE + "\n")
                first.stdin.close()
                url = _read_url(first, time.monotonic() + 60)
                httpx.get(url, follow_redirects=True, timeout=30)
                deadline = time.monotonic() + 90
                while sum(_prep_sheets_posted(demo).values()) < 3:
                    assert first.poll() is None, "the first batch ended too soon"
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                # While it runs: a second batch of the same day, and a resume of its job.
                others = [
                    _start([*common, *day], healthprep_home),
                    _start([*common, "--resume", "1"], healthprep_home),
                ]
                refusals = [_finish(p) for p in others]
                assert first.poll() is None, "the first batch ended before the others tried"
                assert first.stdout is not None
                rest = first.stdout.read()
                assert first.wait(120) == 0, rest
            finally:
                if first.poll() is None:
                    first.kill()
                    first.wait(30)
        for code, out, err in refusals:
            assert code == 2, out + err
            message = err.strip().splitlines()[-1]
            assert "already running for this connection and clinic day" in message, err
            assert "Traceback" not in err
        # Once the first is done, the same day runs again: nothing new is posted.
        code, out, err = _finish(_start([*common, *day], healthprep_home))
        assert code == 0, out + err
        posted = _prep_sheets_posted(demo)
        assert posted == dict.fromkeys(pids, 1), posted

    with Store.open(passphrase=PASSPHRASE, create=False) as store:
        (tenant,) = store.tenants()
        scope = store.tenant(tenant.id)
        sheets = Counter(s.patient_id for s in scope.sheets.all(clinic_day=CLINIC_DAY))
        assert sheets == dict.fromkeys(pids, 1)
        assert [j.id for j in scope.jobs.all()] == [2, 1]  # the refused ones created no job
        assert store.audit.verify().ok
