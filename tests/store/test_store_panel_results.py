"""Panel results: per tenant, upserted per patient, paged in patient order, runs tracked."""

from __future__ import annotations

import pytest

from healthprep_desktop.store import Store
from healthprep_desktop.store.repos.panel_results import PanelResult


def _result(pid: str, status: str = "due") -> PanelResult:
    return PanelResult(
        connection_id=1,
        patient_id=pid,
        results={"results": [{"screening_id": "crc", "status": status}]},
        record_hash=f"h-{pid}",
        measures={"2026": {"CMS130": {"group-1": {"initial-population": 1}}}},
    )


def test_paging_walks_every_patient_once_in_order(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    ids = [f"p{n:04d}" for n in range(1203)]
    for pid in reversed(ids):
        scope.panel.put(_result(pid))
    seen = [r.patient_id for r in scope.panel.iter(1, page=100)]
    assert seen == ids
    assert scope.panel.count(1) == 1203 and scope.panel.count(2) == 0


@pytest.mark.parametrize("patients", [0, 5, 6])
def test_paging_boundaries_empty_one_page_and_one_more(store: Store, patients: int) -> None:
    # Pages of 5: nothing stored, exactly one full page (a last read finds nothing), one more.
    scope = store.tenant(store.create_tenant("Clinic").id)
    ids = [f"p{n}" for n in range(patients)]
    for pid in ids:
        scope.panel.put(_result(pid))
    assert [r.patient_id for r in scope.panel.iter(1, page=5)] == ids


def test_upsert_replaces_and_tenants_do_not_see_each_other(store: Store) -> None:
    a = store.tenant(store.create_tenant("A").id)
    b = store.tenant(store.create_tenant("B").id)
    a.panel.put(_result("p1", "due"))
    a.panel.put(_result("p1", "complete"))
    got = a.panel.get(1, "p1")
    assert got is not None and got.results["results"][0]["status"] == "complete"
    assert got.measures["2026"]["CMS130"]["group-1"]["initial-population"] == 1
    assert b.panel.get(1, "p1") is None and list(b.panel.iter(1)) == []


def test_runs_last_complete(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    first = scope.panel.start_run(1, group_id="panel")
    scope.panel.update_run(first.id, state="complete", transaction_time="2026-12-01T00:00:00Z")
    second = scope.panel.start_run(1, group_id="panel", since="2026-12-01T00:00:00Z")
    assert second.state == "running"
    done = scope.panel.last_complete(1, "panel")
    assert done is not None and done.id == first.id and done.transaction_time
    with pytest.raises(ValueError, match="cannot change"):
        scope.panel.update_run(first.id, connection_id=2)
