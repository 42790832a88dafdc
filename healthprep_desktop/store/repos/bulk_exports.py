"""Bulk Data exports this app started, kept so a killed process resumes them (table
`bulk_exports`, schema v6).

A row holds the request (its canonical JSON text, which is also how an unfinished export of the
same request is found again), the status URL, the state, the manifest once known and which files
are on disk. The status URL and file URLs are the server's job addresses (no token, no patient);
the store is encrypted anyway. The fhir side maps these rows to its own value objects
(fhir/bulk_store.py): the store knows no FHIR types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import Row, ScopedTable

# States the fhir side may still continue (see fhir/bulk/_resume.py).
ACTIVE = ("kicked_off", "complete")


@dataclass(frozen=True, slots=True)
class BulkExportRow:
    id: int
    connection_id: int
    request: str  # canonical JSON of the request
    status_url: str | None
    state: str
    transaction_time: str | None
    manifest: dict[str, Any] | None
    downloaded: dict[str, Any]  # file URL -> {"path", "done", "count", "size"}
    folder: str | None
    error: str | None
    created_at: str
    updated_at: str


def _row(row: Row) -> BulkExportRow:
    return BulkExportRow(
        id=int(row["id"]),
        connection_id=int(row["connection_id"]),
        request=row["request"],
        status_url=row["status_url"],
        state=row["state"],
        transaction_time=row["transaction_time"],
        manifest=_json.load(row["manifest"]) if row["manifest"] else None,
        downloaded=_json.load(row["downloaded"] or "{}"),
        folder=row["folder"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class BulkExportRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def create(
        self,
        connection_id: int,
        request: str,
        *,
        state: str,
        status_url: str | None = None,
        folder: str | None = None,
    ) -> int:
        now = clock.now_text()
        return self._table.insert(
            {
                "connection_id": connection_id,
                "request": request,
                "status_url": status_url,
                "state": state,
                "folder": folder,
                "created_at": now,
                "updated_at": now,
            }
        )

    def update(self, export_id: int, **changes: Any) -> None:
        allowed = {
            "status_url",
            "state",
            "transaction_time",
            "manifest",
            "downloaded",
            "folder",
            "error",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"bulk_exports cannot change {sorted(unknown)}")
        values = dict(changes)
        for name in ("manifest", "downloaded"):
            if name in values and values[name] is not None:
                values[name] = _json.dump(values[name])
        values["updated_at"] = clock.now_text()
        self._table.update({"id": export_id}, values)

    def get(self, export_id: int) -> BulkExportRow | None:
        row = self._table.select_one({"id": export_id})
        return _row(row) if row is not None else None

    def active(self, connection_id: int, request: str) -> BulkExportRow | None:
        """The newest unfinished export of this exact request, if any."""
        rows = self._table.select(
            {"connection_id": connection_id, "request": request, "state": ACTIVE},
            order_by=["-id"],
            limit=1,
        )
        return _row(rows[0]) if rows else None

    def list(self, connection_id: int, *, state: str | None = None) -> list[BulkExportRow]:
        """The connection's exports, newest first (optionally in one state)."""
        where: dict[str, Any] = {"connection_id": connection_id}
        if state is not None:
            where["state"] = state
        return [_row(r) for r in self._table.select(where, order_by=["-id"])]

    def delete(self, export_id: int) -> bool:
        return self._table.delete({"id": export_id}) > 0


__all__ = ["ACTIVE", "BulkExportRepository", "BulkExportRow"]
