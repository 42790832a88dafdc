"""The audit trail: append-only, hash-chained entries of who did what to which record.

Entries hold references (FHIR ids), never PHI content: no names, no note text. ``detail`` is a
short, non-PHI reason such as "HTTP 401" or "3 sheets".

Each entry's hash is SHA-256 over the previous entry's hash and a canonical serialisation of the
entry that includes its sequence number (so moving an entry changes its hash). The chain's head
(last sequence number and hash) is kept in its own row, updated in the same transaction, so
deleting entries at the tail is caught too. ``verify()`` walks the chain and names the first
broken link. Someone holding the database key could rewrite the whole chain and head, so the head
is also anchored outside the database (``audit_anchor``: an append-only 0600 file beside it) and
``verify()`` checks every anchored head. This is tamper-evidence, not tamper-proofing: record the
head hash that ``audit verify`` and ``audit export`` print somewhere else as well.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.audit_anchor import Anchor, AnchorFile, AnchorRead
from healthprep_desktop.store.database import Database

GENESIS_HASH = "0" * 64
_SERIALISATION_TAG = "healthprep-audit-v1"  # bump if the canonical form ever changes
DETAIL_MAX = 200


class AuditAction(StrEnum):
    FETCH = "fetch"
    SCREEN = "screen"
    GENERATE_SHEET = "generate_sheet"
    VIEW_SHEET = "view_sheet"
    PRINT = "print"
    EXPORT = "export"
    WRITE_BACK = "write_back"
    CONNECT = "connect"
    REFRESH_FAILURE = "refresh_failure"
    DISCONNECT = "disconnect"
    SETTINGS_CHANGE = "settings_change"
    KEY_CHANGE = "key_change"
    DISMISS_MATCH = "dismiss_match"
    LOGIN = "login"
    TENANT_CREATE = "tenant_create"
    CONNECTION_CHANGE = "connection_change"
    SCREENING_ENTRY = "screening_entry"
    PATIENT_LINK = "patient_link"  # a cross-source link decided (auto or by a person)


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What a caller records; the log adds time, OS user, sequence and hashes."""

    action: AuditAction
    tenant_id: str | None = None
    patient_id: str | None = None
    resource_ids: tuple[str, ...] = ()
    outcome: Outcome = Outcome.SUCCESS
    detail: str = ""
    ehr_user: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str  # UTC, fixed-width ISO text (clock.to_text)
    os_user: str
    ehr_user: str | None
    tenant_id: str | None
    action: str  # an AuditAction value (kept as text so an unknown future value still verifies)
    patient_id: str | None
    resource_ids: tuple[str, ...]
    outcome: str
    detail: str
    prev_hash: str
    hash: str

    @property
    def time(self) -> datetime:
        return clock.from_text(self.at)

    def canonical_bytes(self) -> bytes:
        return canonical_bytes(
            seq=self.seq,
            at=self.at,
            os_user=self.os_user,
            ehr_user=self.ehr_user,
            tenant_id=self.tenant_id,
            action=self.action,
            patient_id=self.patient_id,
            resource_ids=self.resource_ids,
            outcome=self.outcome,
            detail=self.detail,
            prev_hash=self.prev_hash,
        )


def canonical_bytes(
    *,
    seq: int,
    at: str,
    os_user: str,
    ehr_user: str | None,
    tenant_id: str | None,
    action: str,
    patient_id: str | None,
    resource_ids: Sequence[str],
    outcome: str,
    detail: str,
    prev_hash: str,
) -> bytes:
    """A JSON array in a fixed field order: no key-order or whitespace ambiguity, and null stays
    distinct from the empty string."""
    fields: list[Any] = [
        _SERIALISATION_TAG,
        seq,
        at,
        os_user,
        ehr_user,
        tenant_id,
        action,
        patient_id,
        list(resource_ids),
        outcome,
        detail,
        prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    entries: int  # entries checked
    head_hash: str
    broken_seq: int | None = None  # the first broken link
    reason: str | None = None
    anchored_seq: int | None = None  # the newest head anchored outside the database
    anchor_file: str | None = None  # None: this store keeps no anchor (an ephemeral one)

    def summary(self) -> str:
        if not self.ok:
            return f"Audit trail broken at entry #{self.broken_seq}: {self.reason}"
        text = f"Audit trail intact: {self.entries} entries, head {self.head_hash}"
        if self.anchor_file is None:
            return text
        if self.anchored_seq:
            return f"{text}; anchored outside the database up to entry #{self.anchored_seq}"
        return f"{text}; not yet anchored outside the database"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    user: str | None = None  # OS user or EHR user
    patient_id: str | None = None
    actions: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str | None = None


_COLUMNS = (
    "seq, at, os_user, ehr_user, tenant_id, action, patient_id, resource_ids, outcome, detail, "
    "prev_hash, hash"
)


class AuditLog:
    """Append and read the trail. Thread-safe through the database lock."""

    def __init__(self, db: Database, anchor: AnchorFile | None = None) -> None:
        self._db = db
        self._os_user = _os_user()
        self.anchor = anchor

    def append(self, event: AuditEvent) -> AuditEntry:
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Append in one transaction: the head is read and moved once."""
        entries: list[AuditEntry] = []
        with self._db.transaction():
            # Only the outermost transaction commits; an enclosing one may still roll back, so
            # its head is anchored later (next commit or close), never before it is durable.
            outermost = self._db.transaction_depth == 1
            head = self._db.query_one("SELECT seq, hash FROM audit_head WHERE id = 1")
            seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)
            rows: list[tuple[Any, ...]] = []
            for event in events:
                seq += 1
                entry = self._build(seq, prev, event)
                prev = entry.hash
                entries.append(entry)
                rows.append(_to_row(entry))
            if not rows:
                return entries
            self._db.executemany(_INSERT_SQL, rows)
            self._db.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (seq, prev),
            )
        if self.anchor is not None:
            with self._db.lock:
                if outermost:
                    self.anchor.committed(seq, prev)
                else:
                    self.anchor.unanchored = True
        return entries

    def head(self) -> tuple[int, str]:
        """The committed head: (last sequence number, its hash); (0, GENESIS_HASH) when empty."""
        row = self._db.query_one("SELECT seq, hash FROM audit_head WHERE id = 1")
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def flush_anchor(self) -> None:
        """Anchor the head now if commits since the last anchor are not yet anchored (close)."""
        if self.anchor is None:
            return
        with self._db.lock:
            if self.anchor.unanchored and self._db.transaction_depth == 0:
                self.anchor.write(*self.head())

    def entries(self, where: AuditFilter | None = None) -> list[AuditEntry]:
        clause, params = _filter_sql(where or AuditFilter())
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {clause} ORDER BY seq",  # noqa: S608 (fixed columns)
            params,
        )
        return [_from_row(row) for row in rows]

    def count(self) -> int:
        return int(self._db.query_one("SELECT count(*) FROM audit_log")[0])

    def verify(self) -> ChainVerification:
        """Walk the chain from the first entry; report the first broken link."""
        expected_seq, prev = 1, GENESIS_HASH
        # One transaction for the walk: no append (from any process) lands between the entries
        # and the head. The anchor file is read inside it too, so every anchored head it lists
        # belongs to a committed transaction this walk sees.
        with self._db.transaction():
            read = self.anchor.read() if self.anchor is not None else AnchorRead([])
            anchors = _AnchorCheck(read.anchors)
            head = self._db.query_one("SELECT seq, hash FROM audit_head WHERE id = 1")
            cursor = self._db.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq")  # noqa: S608 (fixed columns)
            for row in cursor:
                entry = _from_row(row)
                broken = _check_link(entry, expected_seq, prev) or anchors.check(entry)
                if broken is not None:
                    return ChainVerification(False, expected_seq - 1, prev, *broken)
                expected_seq, prev = entry.seq + 1, entry.hash
        count = expected_seq - 1
        file = str(self.anchor.path) if self.anchor is not None else None
        verdict = _head_problem(head, count, prev) or _anchor_problem(read, anchors, count, file)
        if verdict is not None:
            return ChainVerification(False, count, prev, *verdict)
        anchored = read.anchors[-1].seq if read.anchors else None
        return ChainVerification(True, count, prev, anchored_seq=anchored, anchor_file=file)

    def _build(self, seq: int, prev: str, event: AuditEvent) -> AuditEntry:
        at = clock.now_text()
        detail = event.detail[:DETAIL_MAX]
        resource_ids = tuple(event.resource_ids)
        canonical = canonical_bytes(
            seq=seq,
            at=at,
            os_user=self._os_user,
            ehr_user=event.ehr_user,
            tenant_id=event.tenant_id,
            action=str(event.action),
            patient_id=event.patient_id,
            resource_ids=resource_ids,
            outcome=str(event.outcome),
            detail=detail,
            prev_hash=prev,
        )
        return AuditEntry(
            seq=seq,
            at=at,
            os_user=self._os_user,
            ehr_user=event.ehr_user,
            tenant_id=event.tenant_id,
            action=str(event.action),
            patient_id=event.patient_id,
            resource_ids=resource_ids,
            outcome=str(event.outcome),
            detail=detail,
            prev_hash=prev,
            hash=entry_hash(prev, canonical),
        )


_INSERT_SQL = f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 12)})"  # noqa: S608 (fixed columns)


def _check_link(entry: AuditEntry, expected_seq: int, prev: str) -> tuple[int, str] | None:
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            return expected_seq, f"entry #{expected_seq} is missing (deleted)"
        return entry.seq, "entry is out of sequence"
    if entry.prev_hash != prev:
        return entry.seq, "entry does not link to the previous entry (deleted or reordered)"
    if entry_hash(entry.prev_hash, entry.canonical_bytes()) != entry.hash:
        return entry.seq, "entry's content does not match its hash (edited or moved)"
    return None


class _AnchorCheck:
    """Compares the chain, as it is walked, with the heads anchored outside the database."""

    def __init__(self, anchors: list[Anchor]) -> None:
        self._anchors = anchors
        self._next = 0
        self.last_good = 0  # the newest anchored entry that still matched

    def check(self, entry: AuditEntry) -> tuple[int, str] | None:
        while self._next < len(self._anchors) and self._anchors[self._next].seq <= entry.seq:
            anchor = self._anchors[self._next]
            self._next += 1
            if anchor.seq != entry.seq:
                continue  # unreachable: every seq up to this entry was walked
            if anchor.hash != entry.hash:
                first = self.last_good + 1
                span = f"#{first}" if first == entry.seq else f"#{first} to #{entry.seq}"
                return first, (
                    f"entries {span} were rewritten: entry #{entry.seq} no longer has the hash "
                    f"anchored outside the database at {anchor.at}"
                )
            self.last_good = entry.seq
        return None

    def beyond(self, count: int) -> Anchor | None:
        later = [a for a in self._anchors if a.seq > count]
        return later[-1] if later else None


def _head_problem(head: Any, count: int, prev: str) -> tuple[int, str] | None:
    if head is None:
        return (count, "the chain's head is missing") if count else None
    head_seq, head_hash = int(head[0]), str(head[1])
    if head_seq > count:
        return count + 1, f"entries #{count + 1} to #{head_seq} are missing (deleted from the end)"
    if head_seq != count or head_hash != prev:
        return count, "the chain's head does not match the last entry"
    return None


def _anchor_problem(
    read: AnchorRead, anchors: _AnchorCheck, count: int, file: str | None
) -> tuple[int, str] | None:
    if read.unreadable_line is not None:
        return count, f"the audit anchor file {file} is damaged at line {read.unreadable_line}"
    if read.conflict is not None:
        return read.conflict.seq, (
            f"the audit anchor file {file} names two different hashes for entry "
            f"#{read.conflict.seq}: the trail was rolled back and rewritten"
        )
    last = anchors.beyond(count)
    if last is not None:
        return count + 1, (
            f"entries #{count + 1} to #{last.seq} are missing (deleted from the end): the trail "
            f"reached #{last.seq} at {last.at}, as anchored outside the database"
        )
    return None


def _to_row(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.at,
        entry.os_user,
        entry.ehr_user,
        entry.tenant_id,
        entry.action,
        entry.patient_id,
        json.dumps(list(entry.resource_ids), separators=(",", ":")),
        entry.outcome,
        entry.detail,
        entry.prev_hash,
        entry.hash,
    )


def _from_row(row: Sequence[Any]) -> AuditEntry:
    try:
        resources = json.loads(row[7])
        resource_ids = tuple(str(r) for r in resources) if isinstance(resources, list) else ()
    except (TypeError, ValueError):
        # A damaged cell must not crash verify(); the hash check reports it.
        resource_ids = ("<unreadable>",)
    return AuditEntry(
        seq=int(row[0]),
        at=str(row[1]),
        os_user=str(row[2]),
        ehr_user=row[3],
        tenant_id=row[4],
        action=str(row[5]),
        patient_id=row[6],
        resource_ids=resource_ids,
        outcome=str(row[8]),
        detail=str(row[9]),
        prev_hash=str(row[10]),
        hash=str(row[11]),
    )


def _filter_sql(where: AuditFilter) -> tuple[str, list[Any]]:
    terms = ["1"]
    params: list[Any] = []
    if where.since is not None:
        terms.append("at >= ?")
        params.append(clock.to_text(where.since))
    if where.until is not None:
        terms.append("at < ?")
        params.append(clock.to_text(where.until))
    if where.user is not None:
        terms.append("(os_user = ? OR ehr_user = ?)")
        params.extend([where.user, where.user])
    if where.patient_id is not None:
        terms.append("patient_id = ?")
        params.append(where.patient_id)
    if where.actions:
        actions = sorted(where.actions)
        terms.append(f"action IN ({', '.join('?' * len(actions))})")
        params.extend(actions)
    if where.tenant_id is not None:
        terms.append("tenant_id = ?")
        params.append(where.tenant_id)
    return " AND ".join(terms), params


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no USER/LOGNAME and no passwd entry
        return "unknown"
