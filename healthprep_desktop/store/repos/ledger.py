"""The write-back ledger: idempotency key -> posted resource id, unique per tenant.

Epic's DocumentReference.Create has no conditional create and no de-duplication, so the app
claims a key before posting and completes it with the new resource id after. A claim left
``pending`` means the outcome is unknown: check the server before posting again.

Every claim has an owner (process id, a random token, the host and the process's start time)
and a lease (a time after which the claim counts as abandoned whoever holds it). Another
process may settle a pending claim only when its owner is dead or its lease has expired: a
live process's in-flight post is never released under it (which would post the sheet twice).
While a claim is pending the ``resource_id`` column holds its owner and lease as JSON (no
resource id exists yet); once posted it holds the resource id.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from healthprep_desktop.store import clock
from healthprep_desktop.store.errors import RecordNotFoundError
from healthprep_desktop.store.scoped import Row, ScopedTable

CLAIM_LEASE = timedelta(minutes=10)  # a post (with the client's retries) ends well within this


class LedgerState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"


@dataclass(frozen=True, slots=True)
class ClaimOwner:
    """Who holds a claim or a running job: a process, told apart from a later process that
    reuses its id by the start time (where the OS tells it) and by a random token."""

    pid: int
    token: str
    host: str
    started: str | None = None

    @classmethod
    def new(cls) -> ClaimOwner:
        pid = os.getpid()
        return cls(pid, secrets.token_hex(8), socket.gethostname(), _process_started(pid))

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> ClaimOwner | None:
        if not isinstance(data, dict):
            return None
        try:
            started = data.get("started")
            return cls(
                int(data["pid"]),
                str(data["token"]),
                str(data["host"]),
                str(started) if started is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def alive(self) -> bool:
        """False only when this process certainly no longer runs."""
        if self.host != socket.gethostname():
            return True  # another machine's process: only its lease can tell
        if self.pid == os.getpid():
            return True
        if not _pid_running(self.pid):
            return False
        started = _process_started(self.pid)
        return not (self.started and started and started != self.started)


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == 0x102)  # WAIT_TIMEOUT
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_stat(pid)
    return not (stat is not None and stat[0] in ("Z", "X"))  # a zombie is dead


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), from the state on."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _process_started(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else None  # starttime, field 22


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    idempotency_key: str
    patient_id: str
    state: LedgerState
    resource_id: str | None  # once posted
    created_at: str
    updated_at: str
    owner: ClaimOwner | None = None  # while pending (None: a claim from before owners)
    lease_until: str | None = None

    def settleable(self, now: datetime | None = None) -> bool:
        """May another process settle this claim? Only a pending claim whose owner is dead or
        whose lease expired (or an old claim with no owner at all)."""
        if self.state is not LedgerState.PENDING:
            return False
        if self.owner is None or self.lease_until is None:
            return True
        if clock.to_text(now or clock.utc_now()) >= self.lease_until:
            return True
        return not self.owner.alive()


class WritebackLedger:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def get(self, idempotency_key: str) -> LedgerEntry | None:
        row = self._table.select_one({"idempotency_key": idempotency_key})
        return _entry(row) if row else None

    def claim(
        self,
        idempotency_key: str,
        patient_id: str,
        *,
        owner: ClaimOwner | None = None,
        lease: timedelta = CLAIM_LEASE,
    ) -> LedgerEntry:
        """Reserve the key before posting; DuplicateKeyError if it was claimed or posted before."""
        now = clock.utc_now()
        holder = owner or ClaimOwner.new()
        claim = {"owner": holder.to_json(), "lease_until": clock.to_text(now + lease)}
        self._table.insert(
            {
                "idempotency_key": idempotency_key,
                "patient_id": patient_id,
                "state": LedgerState.PENDING.value,
                "resource_id": json.dumps(claim, sort_keys=True),
                "created_at": clock.to_text(now),
                "updated_at": clock.to_text(now),
            }
        )
        entry = self.get(idempotency_key)
        assert entry is not None
        return entry

    def complete(self, idempotency_key: str, resource_id: str) -> LedgerEntry:
        changed = self._table.update(
            {"idempotency_key": idempotency_key},
            {
                "state": LedgerState.POSTED.value,
                "resource_id": resource_id,
                "updated_at": clock.now_text(),
            },
        )
        if not changed:
            raise RecordNotFoundError("no write-back claim with that key in this clinic")
        entry = self.get(idempotency_key)
        assert entry is not None
        return entry

    def record(self, idempotency_key: str, patient_id: str, resource_id: str) -> LedgerEntry:
        """Claim and complete in one step (when the post already happened)."""
        with self._table.transaction():
            self.claim(idempotency_key, patient_id)
            return self.complete(idempotency_key, resource_id)

    def release(self, idempotency_key: str) -> bool:
        """Drop a pending claim after a post that certainly failed; posted entries stay."""
        deleted = self._table.delete(
            {"idempotency_key": idempotency_key, "state": LedgerState.PENDING.value}
        )
        return deleted > 0

    def all(self, *, patient_id: str | None = None) -> list[LedgerEntry]:
        where = {} if patient_id is None else {"patient_id": patient_id}
        return [_entry(r) for r in self._table.select(where, order_by=("created_at",))]


def _entry(row: Row) -> LedgerEntry:
    state = LedgerState(row["state"])
    resource_id = row["resource_id"]
    owner: ClaimOwner | None = None
    lease: str | None = None
    if state is LedgerState.PENDING:
        if isinstance(resource_id, str) and resource_id.startswith("{"):
            try:
                claim = json.loads(resource_id)
            except ValueError:
                claim = {}
            owner = ClaimOwner.from_json(claim.get("owner"))
            lease = claim.get("lease_until") if isinstance(claim.get("lease_until"), str) else None
        resource_id = None
    return LedgerEntry(
        idempotency_key=row["idempotency_key"],
        patient_id=row["patient_id"],
        state=state,
        resource_id=resource_id,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        owner=owner,
        lease_until=lease,
    )
