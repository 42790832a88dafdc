"""Status counts per screening and measure lines (population sums, performance rate) from a
real store's panel results."""

from __future__ import annotations

import pytest

from healthprep_desktop.exports.summary import (
    measure_summary,
    measure_years,
    performance_rate,
    status_counts,
)
from healthprep_desktop.store import Store
from healthprep_desktop.store.repos.panel_results import PanelResult


def _panel_result(pid: str, crc: str, populations: dict[str, int]) -> PanelResult:
    return PanelResult(
        connection_id=1,
        patient_id=pid,
        results={
            "results": [
                {"screening_id": "crc", "status": crc},
                {"screening_id": "crc", "status": crc},  # a variant listed twice counts once
                {"screening_id": "flu", "status": "due"},
            ]
        },
        record_hash=pid,
        measures={"2026": {"CMS130": {"Group_1": populations}}, "2025": {"CMS130": {}}},
    )


def test_status_counts_and_measure_summary_over_a_stored_panel(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    ip = {"initial-population": 1, "denominator": 1}
    scope.panel.put(_panel_result("a", "due", {**ip, "numerator": 1}))
    scope.panel.put(_panel_result("b", "complete", {**ip, "numerator": 0}))
    scope.panel.put(_panel_result("c", "complete", {**ip, "denominator-exclusion": 1}))
    scope.panel.put(_panel_result("d", "overdue", {"initial-population": 0}))

    counts = status_counts(r.results for r in scope.panel.iter(1))
    assert counts == {"crc": {"complete": 2, "due": 1, "overdue": 1}, "flu": {"due": 4}}

    lines = measure_summary(scope.panel.iter(1), "2026")
    assert len(lines) == 1
    line = lines[0]
    assert (line.cms, line.year, line.group) == ("CMS130", "2026", "Group_1")
    assert line.title.lower().startswith("colorectal")
    assert line.populations["denominator"] == 3 and line.populations["numerator"] == 1
    assert line.performance_rate == pytest.approx(1 / 2)  # 3 in the denominator, 1 excluded
    assert measure_summary(scope.panel.iter(1), "2024") == []
    assert measure_years(scope.panel.iter(1)) == ["2026", "2025"]


def test_performance_rate_none_when_nobody_is_left() -> None:
    assert performance_rate({"denominator": 2, "denominator-exception": 2}) is None
    assert performance_rate({}) is None
    assert performance_rate({"denominator": 4, "numerator": 3}) == pytest.approx(0.75)
