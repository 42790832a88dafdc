"""The audit trail: appends, filters, and detection of edits, deletions and reordering."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from healthprep_desktop.store import AuditAction, AuditEvent, AuditFilter, Outcome, Store
from healthprep_desktop.store.audit import GENESIS_HASH, entry_hash
from healthprep_desktop.store.errors import StoreError

Tamper = Callable[[str], None]


def _fill(store: Store, count: int = 10) -> None:
    store.audit.append_many(
        AuditEvent(
            AuditAction.FETCH,
            tenant_id="t1",
            patient_id=f"p{i}",
            resource_ids=(f"Observation/{i}", f"Condition/{i}"),
            detail=f"{i} resources",
        )
        for i in range(1, count + 1)
    )


def test_entries_are_chained_from_genesis(store: Store) -> None:
    _fill(store, 3)
    single = store.audit.append(AuditEvent(AuditAction.PRINT, ehr_user="dr.who"))
    entries = store.audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
        assert entry.hash == entry_hash(entry.prev_hash, entry.canonical_bytes())
    assert entries[-1] == single
    assert single.os_user and single.ehr_user == "dr.who"
    assert abs(single.time - datetime.now(UTC)) < timedelta(minutes=1)
    result = store.audit.verify()
    assert result.ok and result.entries == 4 and result.head_hash == single.hash


def test_empty_trail_verifies(store: Store) -> None:
    assert store.audit.verify().ok


def test_the_trail_is_append_only_through_sql(store: Store) -> None:
    _fill(store, 2)
    db = store._db  # the store's own connection: the triggers refuse edits
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 1")
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    assert store.audit.verify().ok


@pytest.mark.parametrize(
    ("sql", "broken_seq", "reason"),
    [
        pytest.param(
            "UPDATE audit_log SET patient_id = 'p99' WHERE seq = 4", 4, "edited", id="edit-field"
        ),
        pytest.param(
            "UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 7",
            7,
            "edited",
            id="edit-time",
        ),
        pytest.param(
            "UPDATE audit_log SET outcome = 'failure' WHERE seq = 1", 1, "edited", id="edit-first"
        ),
        pytest.param("DELETE FROM audit_log WHERE seq = 5", 5, "missing", id="delete-middle"),
        pytest.param("DELETE FROM audit_log WHERE seq = 1", 1, "missing", id="delete-first"),
        pytest.param(
            "DELETE FROM audit_log WHERE seq >= 8", 8, "deleted from the end", id="truncate-tail"
        ),
        pytest.param(
            # Swap entries 3 and 6 (their content, hashes included, moves to the other's seq).
            "UPDATE audit_log SET seq = -3 WHERE seq = 3;"
            "UPDATE audit_log SET seq = 3 WHERE seq = 6;"
            "UPDATE audit_log SET seq = 6 WHERE seq = -3;",
            3,
            "reordered",
            id="reorder-swap",
        ),
        pytest.param(
            # Delete entry 5 and renumber the rest down to close the gap.
            "DELETE FROM audit_log WHERE seq = 5;UPDATE audit_log SET seq = seq - 1 WHERE seq > 5;",
            5,
            "reordered",
            id="delete-and-renumber",
        ),
        pytest.param(
            # A stored hash that no longer matches its entry.
            "UPDATE audit_log SET hash = substr(hash, 2) || substr(hash, 1, 1) WHERE seq = 2",
            2,
            "edited",
            id="rehash",
        ),
        pytest.param("DELETE FROM audit_head", 10, "head is missing", id="delete-head"),
        pytest.param(
            "UPDATE audit_head SET hash = substr(hash, 2) || substr(hash, 1, 1)",
            10,
            "head does not match",
            id="edit-head",
        ),
    ],
)
def test_tampering_is_detected(
    store: Store, tamper: Tamper, sql: str, broken_seq: int, reason: str
) -> None:
    _fill(store)
    assert store.audit.verify().ok
    tamper(sql)
    result = store.audit.verify()
    assert not result.ok
    assert result.broken_seq == broken_seq
    assert result.reason is not None and reason in result.reason
    assert f"#{broken_seq}" in result.summary()


def test_edit_with_recomputed_hash_is_caught_at_the_next_link(store: Store, tamper: Tamper) -> None:
    _fill(store, 5)
    victim = store.audit.entries()[2]  # seq 3
    forged = entry_hash(
        victim.prev_hash,
        victim.canonical_bytes().replace(b'"p3"', b'"p77"'),
    )
    assert all(c in "0123456789abcdef" for c in forged)  # safe to inline
    tamper(f"UPDATE audit_log SET patient_id = 'p77', hash = '{forged}' WHERE seq = 3")  # noqa: S608
    result = store.audit.verify()
    assert (result.ok, result.broken_seq) == (False, 4)
    assert result.reason is not None and "link" in result.reason


def test_appends_after_a_gap_do_not_heal_it(store: Store, tamper: Tamper) -> None:
    _fill(store, 4)
    tamper("DELETE FROM audit_log WHERE seq = 2")
    store.audit.append(AuditEvent(AuditAction.VIEW_SHEET))
    assert store.audit.verify().broken_seq == 2


def test_filters(store: Store) -> None:
    _fill(store, 3)
    store.audit.append(AuditEvent(AuditAction.PRINT, tenant_id="t2", ehr_user="nurse.a"))
    store.audit.append(
        AuditEvent(AuditAction.WRITE_BACK, tenant_id="t2", patient_id="p2", outcome=Outcome.FAILURE)
    )
    assert [e.seq for e in store.audit.entries(AuditFilter(patient_id="p2"))] == [2, 5]
    assert [e.seq for e in store.audit.entries(AuditFilter(user="nurse.a"))] == [4]
    assert [e.seq for e in store.audit.entries(AuditFilter(tenant_id="t2"))] == [4, 5]
    actions = frozenset({"print", "write_back"})
    assert [e.seq for e in store.audit.entries(AuditFilter(actions=actions))] == [4, 5]
    now = datetime.now(UTC)
    assert store.audit.entries(AuditFilter(since=now + timedelta(minutes=5))) == []
    assert len(store.audit.entries(AuditFilter(until=now + timedelta(minutes=5)))) == 5
    assert store.audit.entries(AuditFilter(until=now - timedelta(minutes=5))) == []


def test_detail_is_capped(store: Store) -> None:
    entry = store.audit.append(AuditEvent(AuditAction.FETCH, detail="x" * 1000))
    assert len(entry.detail) == 200


def test_a_failed_transaction_leaves_no_entry(store: Store) -> None:
    with pytest.raises(StoreError), store.transaction():
        store.audit.append(AuditEvent(AuditAction.SCREEN))
        raise StoreError("boom")
    assert store.audit.count() == 0
    assert store.audit.verify().ok
