"""The write-back ledger: idempotency key -> posted resource id, unique per tenant.

Epic's DocumentReference.Create has no conditional create and no de-duplication, so the app
claims a key before posting and completes it with the new resource id after. A claim left
``pending`` (the app died mid-post) means the outcome is unknown: check the server before
posting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from healthprep_desktop.store import clock
from healthprep_desktop.store.errors import RecordNotFoundError
from healthprep_desktop.store.scoped import Row, ScopedTable


class LedgerState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    idempotency_key: str
    patient_id: str
    state: LedgerState
    resource_id: str | None
    created_at: str
    updated_at: str


class WritebackLedger:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def get(self, idempotency_key: str) -> LedgerEntry | None:
        row = self._table.select_one({"idempotency_key": idempotency_key})
        return _entry(row) if row else None

    def claim(self, idempotency_key: str, patient_id: str) -> LedgerEntry:
        """Reserve the key before posting; DuplicateKeyError if it was claimed or posted before."""
        now = clock.now_text()
        self._table.insert(
            {
                "idempotency_key": idempotency_key,
                "patient_id": patient_id,
                "state": LedgerState.PENDING.value,
                "resource_id": None,
                "created_at": now,
                "updated_at": now,
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
    return LedgerEntry(
        idempotency_key=row["idempotency_key"],
        patient_id=row["patient_id"],
        state=LedgerState(row["state"]),
        resource_id=row["resource_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
