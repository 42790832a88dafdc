"""``batch --demo --explain-fetch``: the plan per sandbox profile, printed by the real command
(a subprocess), without signing in or reading a patient."""

from __future__ import annotations

import os
import subprocess
import sys


def test_explain_fetch_prints_the_plan_of_every_profile() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--demo", "--explain-fetch"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for profile in ("generic", "us-core", "epic-like", "oracle-like", "athena-like"):
        assert f"== {profile}" in out
    generic, us_core = out.split("== us-core")[0], out.split("== us-core")[1].split("== ")[0]
    assert "strategy: everything" in generic
    assert "strategy: per-type" in us_core
    assert "GET Observation?patient={patient}&_count=1000&category=laboratory," in us_core
    assert "skip MedicationStatement: the server does not offer it" in us_core
    assert "expected requests per chart" in us_core and "naive fetch" in us_core
    assert "Traceback" not in done.stderr


def test_explain_fetch_needs_a_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--explain-fetch"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "--explain-fetch goes with --demo" in done.stderr and "Traceback" not in done.stderr
