"""Stratifiers in the individual MeasureReports: each patient in the initial population falls
in exactly one age stratum, and the strata meet at the right birthday."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures, measure_defs
from tests.screening.measures.builders import MALE, Case, code_in

CASES = Path(__file__).resolve().parent / "cases"
PERIOD = MeasurementPeriod.calendar_year(2026)
STRATIFIED = sorted(
    cms for cms, d in measure_defs().items() if any(g.stratifiers for g in d.groups)
)
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"


def _report(cms: str, patient: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    result = evaluate_measures(patient, resources, PERIOD, only=[cms])
    assert not result.errors
    return result.reports(PERIOD)[cms]


def _inside(report: dict[str, Any]) -> list[list[str]]:
    """Per group, the criteria of the strata the patient is in."""
    return [
        [
            s["code"][0]["text"]
            for s in g.get("stratifier", [])
            if s["stratum"][0]["value"]["text"] == "true"
        ]
        for g in report["group"]
    ]


def test_the_stratified_measures() -> None:
    assert STRATIFIED == ["CMS125", "CMS130", "CMS153", "CMS155"]


@pytest.mark.parametrize("cms", STRATIFIED)
def test_every_case_in_the_population_is_in_exactly_one_stratum(cms: str) -> None:
    seen = 0
    for path in sorted((CASES / cms).rglob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        resources = [e["resource"] for e in bundle["entry"]]
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        rest = [r for r in resources if r["resourceType"] not in ("Patient", "MeasureReport")]
        report = _report(cms, patient, rest)
        for group, inside in zip(report["group"], _inside(report), strict=True):
            in_ipp = group["population"][0]["count"] == 1
            assert len(inside) == (1 if in_ipp else 0), (path.name, inside)
            seen += in_ipp
            for strat in group.get("stratifier", []):
                counts = [p["count"] for p in strat["stratum"][0]["population"]]
                if strat["stratum"][0]["value"]["text"] == "false":
                    assert set(counts) == {0}
    assert seen > 0


@pytest.mark.parametrize(
    ("cms", "birth", "sex", "stratum"),
    [
        ("CMS125", "1975-01-01", None, "Stratification 1"),  # 51 at the end of 2026
        ("CMS125", "1974-12-31", None, "Stratification 2"),  # 52 on the last day
        ("CMS125", "1952-12-31", None, "Stratification 2"),  # 74: the oldest in
        ("CMS130", "1977-01-01", MALE, "Stratification 1"),  # 49
        ("CMS130", "1976-12-31", MALE, "Stratification 2"),  # 50
    ],
)
def test_strata_meet_at_the_birthday(
    cms: str, birth: str, sex: str | None, stratum: str | None
) -> None:
    case = Case("p", birth=birth, sex=sex) if sex else Case("p", birth=birth)
    case.encounter(code_in(OFFICE_VISIT, "cpt"), "2026-03-01T09:00:00Z")
    report = _report(cms, case.patient, case.resources)
    (inside,) = _inside(report)
    assert inside == [stratum]
