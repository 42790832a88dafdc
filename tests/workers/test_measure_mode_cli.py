"""Measure mode end to end: the case bundles served by the embedded sandbox, fetched over
HTTP like any chart, then one individual MeasureReport per patient and measure; each must parse
with the R4B models and agree with the case's expected report."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.measurereport import MeasureReport

from healthprep_desktop.screening.measures import measure_defs

CASES = Path(__file__).resolve().parents[1] / "screening" / "measures" / "cases"


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")


def _counts(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        g["id"]: {p["code"]["coding"][0]["code"]: p["count"] for p in g["population"]}
        for g in report["group"]
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_measure_reports_for_every_case_agree(tmp_path: Path, healthprep_home: Path) -> None:
    out = tmp_path / "reports"
    result = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo",
            "--import", str(CASES), "--all-patients", "--as-of", "2026-12-31",
            "--measure-period", "2026", "--measure-reports", str(out),
        ],
        capture_output=True, text=True, env=_env(healthprep_home), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    urls = {d.url: cms for cms, d in measure_defs().items()}
    cases = sorted(CASES.rglob("*.json"))
    assert cases
    disagreements: list[str] = []
    for case in cases:
        bundle = json.loads(case.read_text(encoding="utf-8"))
        resources = [e["resource"] for e in bundle["entry"]]
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        expected = next(r for r in resources if r["resourceType"] == "MeasureReport")
        cms = urls[expected["measure"]]
        written = out / patient["id"] / f"{cms}.json"
        assert written.is_file(), f"no report for {case.relative_to(CASES)}"
        report = json.loads(written.read_text(encoding="utf-8"))
        MeasureReport.model_validate(report)  # a valid R4 resource
        assert report["measure"] == expected["measure"]
        assert report["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
        want = _counts(expected)
        got = {
            g: {c: n for c, n in counts.items() if c in want[g]}
            for g, counts in _counts(report).items()
            if g in want
        }
        if got != want:
            disagreements.append(f"{case.relative_to(CASES)}: {got} != {want}")
    assert disagreements == []
    # Reports hold patient references: private to the user.
    some = next(out.rglob("*.json"))
    assert stat.S_IMODE(some.stat().st_mode) == 0o600
    assert stat.S_IMODE(some.parent.stat().st_mode) == 0o700


def test_measure_period_needs_reports_dir(tmp_path: Path, healthprep_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--demo", "--measure-period", "2026"],
        capture_output=True, text=True, env=_env(healthprep_home), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--measure-reports" in result.stderr
    assert "Traceback" not in result.stderr
