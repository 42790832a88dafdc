"""Secrets of a connection (tokens, client secrets, private keys) as name -> text.

They live only in the encrypted database; nothing here logs or echoes a value.
"""

from __future__ import annotations

from healthprep_desktop.store import clock
from healthprep_desktop.store.errors import RecordNotFoundError
from healthprep_desktop.store.scoped import ScopedTable

# The OAuth token set of a connection (JSON, written by fhir.store_adapters.StoreTokenStore).
TOKENS_SECRET = "oauth_tokens"  # noqa: S105 - the entry name, not a secret


class SecretRepository:
    def __init__(self, table: ScopedTable, connections: ScopedTable) -> None:
        self._table = table
        self._connections = connections

    def put(self, connection_id: int, name: str, value: str) -> None:
        with self._table.transaction():
            if not self._connections.count({"id": connection_id}):
                raise RecordNotFoundError(f"no connection {connection_id} in this clinic")
            self._table.upsert(
                {
                    "connection_id": connection_id,
                    "name": name,
                    "value": value,
                    "updated_at": clock.now_text(),
                },
                key=("connection_id", "name"),
            )

    def get(self, connection_id: int, name: str) -> str | None:
        row = self._table.select_one(
            {"connection_id": connection_id, "name": name}, columns=("value",)
        )
        return None if row is None else str(row["value"])

    def names(self, connection_id: int) -> list[str]:
        rows = self._table.select(
            {"connection_id": connection_id}, columns=("name",), order_by=("name",)
        )
        return [str(r["name"]) for r in rows]

    def delete(self, connection_id: int, name: str) -> bool:
        return self._table.delete({"connection_id": connection_id, "name": name}) > 0

    def clear(self, connection_id: int) -> int:
        """Forget every secret of a connection (disconnect); return how many."""
        return self._table.delete({"connection_id": connection_id})
