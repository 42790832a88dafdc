"""The per-patient chart copy used for incremental reruns: round trip, replace, isolation."""

from __future__ import annotations

from healthprep_desktop.store import Store


def _record(n: int) -> dict[str, object]:
    return {
        "patient": {"resourceType": "Patient", "id": "p1"},
        "resources": [{"resourceType": "Observation", "id": f"o{i}"} for i in range(n)],
    }


def test_round_trip_and_replace(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic A").id)
    conn = scope.connections.add("EHR", "generic", "http://127.0.0.1:1/fhir").id
    assert scope.records.get(conn, "p1") is None
    scope.records.put(
        conn,
        "p1",
        fetched_at="2026-11-20T10:00:00Z",
        etags={"Patient/p1": 'W/"1"'},
        record=_record(3),
        record_hash="h1",
    )
    got = scope.records.get(conn, "p1")
    assert got is not None
    assert got.record == _record(3)
    assert got.etags == {"Patient/p1": 'W/"1"'}
    scope.records.put(
        conn,
        "p1",
        fetched_at="2026-11-21T10:00:00Z",
        etags={},
        record=_record(5),
        record_hash="h2",
    )
    again = scope.records.get(conn, "p1")
    assert again is not None and again.record_hash == "h2" and len(again.record["resources"]) == 5
    assert len(scope.records) == 1


def test_another_tenant_cannot_see_the_chart(store: Store) -> None:
    a = store.tenant(store.create_tenant("Clinic A").id)
    b = store.tenant(store.create_tenant("Clinic B").id)
    conn = a.connections.add("EHR", "generic", "http://127.0.0.1:1/fhir").id
    a.records.put(
        conn,
        "p1",
        fetched_at="2026-11-20T10:00:00Z",
        etags={},
        record=_record(1),
        record_hash="h",
    )
    assert b.records.get(conn, "p1") is None
    assert len(b.records) == 0
    assert not b.records.delete(conn, "p1")
    assert a.records.get(conn, "p1") is not None
