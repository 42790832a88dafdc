"""The last fetched chart of each patient, per connection, for incremental reruns.

A rerun of the same clinic day asks the server only for what changed since ``fetched_at`` and
merges it into this copy; ``record_hash`` lets the batch skip re-screening an unchanged chart.
The chart is stored compressed (charts are repetitive JSON: about 10x smaller).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import ScopedTable


@dataclass(frozen=True, slots=True)
class StoredRecord:
    connection_id: int
    patient_id: str
    fetched_at: str  # ISO 8601 UTC instant
    etags: dict[str, str]
    record: dict[str, Any]  # {"patient": {...}, "resources": [...]} as fetched
    record_hash: str


class PatientRecordRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def get(self, connection_id: int, patient_id: str) -> StoredRecord | None:
        row = self._table.select_one({"connection_id": connection_id, "patient_id": patient_id})
        if row is None:
            return None
        return StoredRecord(
            connection_id=int(row["connection_id"]),
            patient_id=row["patient_id"],
            fetched_at=row["fetched_at"],
            etags=_json.load(row["etags"]),
            record=json.loads(zlib.decompress(bytes(row["record"]))),
            record_hash=row["record_hash"],
        )

    def put(
        self,
        connection_id: int,
        patient_id: str,
        *,
        fetched_at: str,
        etags: dict[str, str],
        record: dict[str, Any],
        record_hash: str,
    ) -> None:
        blob = zlib.compress(json.dumps(record, separators=(",", ":")).encode("utf-8"), 6)
        self._table.upsert(
            {
                "connection_id": connection_id,
                "patient_id": patient_id,
                "fetched_at": fetched_at,
                "etags": _json.dump(etags),
                "record": blob,
                "record_hash": record_hash,
                "updated_at": clock.now_text(),
            },
            key=("connection_id", "patient_id"),
        )

    def delete(self, connection_id: int, patient_id: str) -> bool:
        return self._table.delete({"connection_id": connection_id, "patient_id": patient_id}) > 0

    def __len__(self) -> int:
        return self._table.count()
