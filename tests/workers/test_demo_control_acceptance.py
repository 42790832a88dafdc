"""Acceptance: on the demo day no out-of-range control result is printed or exported as
Complete (CMS165 blood pressure at or above 140/90, CMS122 HbA1c above 9 %).

Runs the real headless demo batch in a subprocess, then judges its results.json and every
patient's PDF against an oracle written here from the FHIR charts themselves (the synthetic
clinic regenerated with the demo's seed), not from the engine's code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pymupdf
from workers_support import CLINIC_DAY

from healthprep_desktop.sandbox.clinic import SyntheticClinic

JSON = dict[str, Any]
PATIENTS_IN_DEMO = 150
ROOT = Path(__file__).resolve().parents[2]
BP_CODES = {"85354-9", "55284-4"}
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
ACUTE_CLASSES = {"IMP", "ACUTE", "EMER"}
DONE = {"final", "amended", "corrected"}


def _codes_of(oid: str) -> set[str]:
    data = json.loads((ROOT / "resources" / "valuesets" / f"{oid}.json").read_text())
    return {code for _system, code, *_ in data["codes"]}


ACUTE_TYPES = _codes_of("2.16.840.1.113883.3.666.5.307") | _codes_of(
    "2.16.840.1.113883.3.464.1003.101.12.1010"
)
HBA1C = _codes_of("2.16.840.1.113883.3.464.1003.198.12.1013")


def _codes(cc: Any) -> set[str]:
    items = cc if isinstance(cc, list) else [cc]
    return {c.get("code") for i in items if isinstance(i, dict) for c in i.get("coding", [])}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _acute_periods(chart: list[JSON]) -> dict[str, tuple[datetime, datetime]]:
    out = {}
    for enc in chart:
        if enc["resourceType"] != "Encounter":
            continue
        klass = enc.get("class", {})
        if klass.get("code") in ACUTE_CLASSES or _codes(enc.get("type", [])) & ACUTE_TYPES:
            period = enc["period"]
            out[f"Encounter/{enc['id']}"] = (_moment(period["start"]), _moment(period["end"]))
    return out


def representative_bp(chart: list[JSON], as_of: date) -> tuple[date, float, float] | None:
    """CMS165: lowest systolic and lowest diastolic of the latest day with both in the last
    year (the day after as-of minus a year, through as-of), acute-care readings left out."""
    acute = _acute_periods(chart)
    days: dict[date, dict[str, float]] = {}
    for obs in chart:
        if obs["resourceType"] != "Observation" or obs.get("status") not in DONE:
            continue
        codes = _codes(obs["code"])
        if not codes & (BP_CODES | {SYSTOLIC, DIASTOLIC}):
            continue
        when = _moment(obs["effectiveDateTime"])
        ref = obs.get("encounter", {}).get("reference")
        if ref in acute or any(start <= when <= end for start, end in acute.values()):
            continue
        values = {
            c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
            for c in obs.get("component", [])
        }
        for code in codes & {SYSTOLIC, DIASTOLIC}:
            values[code] = obs["valueQuantity"]["value"]
        low = days.setdefault(when.date(), {})
        for code in (SYSTOLIC, DIASTOLIC):
            if code in values:
                low[code] = min(low.get(code, values[code]), values[code])
    start = date(as_of.year - 1, as_of.month, as_of.day) + timedelta(days=1)
    whole = [d for d, low in days.items() if len(low) == 2 and start <= d <= as_of]
    if not whole:
        return None
    day = max(whole)
    return day, days[day][SYSTOLIC], days[day][DIASTOLIC]


def latest_hba1c(chart: list[JSON], as_of: date) -> float | None:
    start = date(as_of.year - 1, as_of.month, as_of.day) + timedelta(days=1)
    by_day: dict[date, float] = {}
    for obs in chart:
        if obs["resourceType"] != "Observation" or obs.get("status") not in DONE:
            continue
        if not _codes(obs["code"]) & HBA1C or "valueQuantity" not in obs:
            continue
        day = _moment(obs["effectiveDateTime"]).date()
        if start <= day <= as_of:
            value = obs["valueQuantity"]["value"]
            by_day[day] = min(by_day.get(day, value), value)
    return by_day[max(by_day)] if by_day else None


def _shapes(chart: list[JSON]) -> set[str]:
    """Which blood pressure shapes a chart holds."""
    acute = _acute_periods(chart)
    found: set[str] = set()
    parts: dict[date, set[str]] = {}
    for obs in chart:
        if obs["resourceType"] != "Observation":
            continue
        codes = _codes(obs["code"])
        if codes & {SYSTOLIC, DIASTOLIC}:
            parts.setdefault(_moment(obs["effectiveDateTime"]).date(), set()).update(codes)
        if codes & BP_CODES and obs.get("encounter", {}).get("reference") in acute:
            found.add("acute")
    for codes in parts.values():
        found.add("separate pair" if {SYSTOLIC, DIASTOLIC} <= codes else "one part only")
    return found


def test_no_out_of_range_control_result_is_complete_on_the_demo_day(
    tmp_path: Path, healthprep_home: Path
) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo",
            "--patients-in-demo", str(PATIENTS_IN_DEMO), "--date", CLINIC_DAY.isoformat(),
            "--out", str(out), "--json", str(out / "results.json"),
        ],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, HEALTHPREP_HOME=str(healthprep_home), QT_QPA_PLATFORM="offscreen"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    clinic = SyntheticClinic(seed=1, patients=PATIENTS_IN_DEMO, reference_date=CLINIC_DAY)
    pdfs = {p.stem.split("-", 1)[1]: p for p in out.glob("[0-9][0-9][0-9]-*.pdf")}
    out_of_range: list[tuple[str, str, str]] = []
    shapes: set[str] = set()
    for patient in data["patients"]:
        pid = patient["patient_id"]
        as_of = date.fromisoformat(patient["as_of"])
        chart = clinic.patient_resources(pid)
        shapes |= _shapes(chart)
        for s in patient["screenings"]:
            if s["id"] == "blood_pressure" and "control" in s["name"].lower():
                reading = representative_bp(chart, as_of)
                if reading is not None and (reading[1] >= 140 or reading[2] >= 90):
                    out_of_range.append((pid, s["name"], s["status"]))
            elif s["id"] == "diabetes_hba1c" and s["status"] != "not_applicable":
                value = latest_hba1c(chart, as_of)
                if value is not None and value > 9:
                    out_of_range.append((pid, s["name"], s["status"]))
    names = {name for _pid, name, _status in out_of_range}
    assert any("Blood pressure" in n for n in names), "no uncontrolled BP on the demo day"
    assert any("HbA1c" in n for n in names), "no HbA1c above 9 % on the demo day"
    assert [r for r in out_of_range if r[2] == "complete"] == []
    assert {status for _pid, _name, status in out_of_range} == {"not_at_goal"}
    for pid, name, _status in out_of_range:
        with pymupdf.open(pdfs[pid]) as doc:
            text = " ".join(" ".join(page.get_text().split()) for page in doc)
        row = re.escape(" ".join(name.split()))
        assert re.search(row + r" Not at goal", text), (pid, name)
        assert not re.search(row + r" Complete", text), (pid, name)
    # The demo day shows every shape of blood pressure charting the engine must handle.
    assert {"separate pair", "one part only", "acute"} <= shapes, shapes
