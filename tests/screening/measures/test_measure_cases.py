"""Every case bundle under cases/ through measure mode: one test item per case file.

A case is a FHIR Bundle whose MeasureReport entry holds the expected populations; the folder
names the measure and the CQL definition the case exercises, the file the clinical situation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures, measure_defs
from healthprep_desktop.screening.measures.report import measure_report

CASES = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES.rglob("*.json"))


def _split(bundle: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    expected = next(r for r in resources if r["resourceType"] == "MeasureReport")
    rest = [r for r in resources if r["resourceType"] not in ("Patient", "MeasureReport")]
    return patient, rest, expected


def _counts(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        g["id"]: {p["code"]["coding"][0]["code"]: p["count"] for p in g["population"]}
        for g in report["group"]
    }


def _cms_for(url: str) -> str:
    return next(cms for cms, d in measure_defs().items() if d.url == url)


@pytest.mark.parametrize(
    "path", CASE_FILES, ids=[str(p.relative_to(CASES).with_suffix("")) for p in CASE_FILES]
)
def test_case(path: Path) -> None:
    patient, resources, expected = _split(json.loads(path.read_text(encoding="utf-8")))
    cms = _cms_for(expected["measure"])
    year = int(expected["period"]["start"][:4])
    period = MeasurementPeriod.calendar_year(year)
    result = evaluate_measures(patient, resources, period, only=[cms])
    assert not result.errors, result.errors
    actual = measure_report(cms, patient["id"], period, result.outcomes[cms])
    want = _counts(expected)
    got = {
        gid: {code: counts[code] for code in want[gid]}
        for gid, counts in _counts(actual).items()
        if gid in want
    }
    assert got == want


def test_every_measure_has_cases() -> None:
    from healthprep_desktop.screening.measures.registry import MEASURES

    covered = {p.relative_to(CASES).parts[0] for p in CASE_FILES}
    assert set(MEASURES) <= covered
