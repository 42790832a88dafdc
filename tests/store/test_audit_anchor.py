"""The audit chain anchored outside the database (issue 12, item 9).

Someone holding only the database key (a second SQLCipher connection, as the ``tamper`` fixture
opens) deletes the tail and fixes the head row, or rewrites an entry and recomputes the whole
chain: ``audit verify`` must catch both, from the head hashes written to the anchor file."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.store import AuditAction, AuditEvent, Store
from healthprep_desktop.store.audit import canonical_bytes, entry_hash
from healthprep_desktop.store.audit_anchor import anchor_path
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import KEYRING_SERVICE, DatabaseKey, keyring_username


def _events(n: int, start: int = 0) -> list[AuditEvent]:
    return [
        AuditEvent(AuditAction.FETCH, tenant_id="t1", patient_id=f"p{start + i}") for i in range(n)
    ]


def _second_connection(path: Path, keyring: Any) -> Database:
    """What someone holding only the database key can do: open it and drop the guards."""
    key = keyring.entries[(KEYRING_SERVICE, keyring_username(path))]
    db = Database.open(path, DatabaseKey.raw(key))
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    return db


def _delete_tail_and_fix_head(path: Path, keyring: Any, keep: int) -> None:
    db = _second_connection(path, keyring)
    try:
        db.execute("DELETE FROM audit_log WHERE seq > ?", (keep,))
        db.execute(
            "UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_log WHERE seq = ?)",
            (keep, keep),
        )
    finally:
        db.close()


def _rewrite_and_rechain(path: Path, keyring: Any, seq: int, patient: str) -> None:
    """Change one entry, then recompute every hash after it and the head: a valid chain."""
    db = _second_connection(path, keyring)
    try:
        rows = db.query(
            "SELECT seq, at, os_user, ehr_user, tenant_id, action, patient_id, resource_ids,"
            " outcome, detail FROM audit_log ORDER BY seq"
        )
        prev = "0" * 64
        for row in rows:
            patient_id = patient if row[0] == seq else row[6]
            digest = entry_hash(
                prev,
                canonical_bytes(
                    seq=row[0],
                    at=row[1],
                    os_user=row[2],
                    ehr_user=row[3],
                    tenant_id=row[4],
                    action=row[5],
                    patient_id=patient_id,
                    resource_ids=json.loads(row[7]),
                    outcome=row[8],
                    detail=row[9],
                    prev_hash=prev,
                ),
            )
            db.execute(
                "UPDATE audit_log SET patient_id = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (patient_id, prev, digest, row[0]),
            )
            prev = digest
        db.execute("UPDATE audit_head SET seq = ?, hash = ?", (rows[-1][0], prev))
    finally:
        db.close()


def _session(events: list[AuditEvent]) -> Path:
    with Store.open() as store:
        for event in events:
            store.audit.append(event)
        return store.path


def test_tail_deletion_with_a_fixed_up_head_is_detected(memory_keyring: Any) -> None:
    path = _session(_events(6))
    _delete_tail_and_fix_head(path, memory_keyring, keep=3)
    with Store.open() as store:
        # The chain itself is consistent again; only the outside anchor knows better.
        result = store.audit.verify()
    assert not result.ok
    assert result.broken_seq == 4
    assert "#4 to #6" in (result.reason or "") and "anchor" in (result.reason or "")


def test_entry_rewrite_with_a_recomputed_chain_is_detected(memory_keyring: Any) -> None:
    path = _session(_events(5))
    _rewrite_and_rechain(path, memory_keyring, seq=2, patient="someone-else")
    with Store.open() as store:
        assert store.audit.entries()[1].patient_id == "someone-else"
        result = store.audit.verify()
    assert not result.ok
    assert "rewritten" in (result.reason or "")


def test_the_head_is_anchored_while_the_app_runs_not_only_at_close(
    memory_keyring: Any,
) -> None:
    with Store.open() as store:
        store.audit.append_many(_events(4))
        anchor = anchor_path(store.path)
        assert anchor.exists()
        assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
        # Tampered while this process still has the store open (it was killed later, say).
        _delete_tail_and_fix_head(store.path, memory_keyring, keep=2)
        with Store.open() as other:
            assert not other.audit.verify().ok


def test_an_honest_trail_over_several_sessions_verifies_and_names_its_anchor(
    memory_keyring: Any,
) -> None:
    for round_ in range(3):
        _session(_events(3, start=round_ * 3))
    with Store.open() as store:
        result = store.audit.verify()
    assert result.ok and result.entries == 9
    assert result.anchored_seq == 9
    assert "anchored outside the database up to entry #9" in result.summary()


def test_ephemeral_stores_write_no_anchor(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    store = Store.open_ephemeral(path)
    try:
        store.audit.append_many(_events(3))
    finally:
        store.close()
    assert not anchor_path(path).exists()


def test_cli_verify_fails_and_export_prints_the_head(
    memory_keyring: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _session(_events(5))
    assert main(["audit", "export", "--csv", str(tmp_path / "a.csv")]) == 0
    out = capsys.readouterr().out
    with Store.open() as store:
        seq, head = store.audit.head()
    assert seq == 6  # the export itself is audited
    assert f"entry #6, hash {head}" in out and str(anchor_path(path)) in out
    _rewrite_and_rechain(path, memory_keyring, seq=3, patient="x")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "broken" in err and "rewritten" in err and err[-1] == "\n" and err.count("\n") == 1


def test_a_new_database_does_not_inherit_a_deleted_ones_anchor(memory_keyring: Any) -> None:
    path = _session(_events(4))
    path.unlink()  # the user deleted the database and starts again
    memory_keyring.entries.clear()
    _session(_events(2))
    with Store.open() as store:
        assert store.audit.verify().ok
    assert list(path.parent.glob(path.name + ".audit-anchor.retired-*"))
