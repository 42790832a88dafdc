"""Raw setting values (JSON) for the app and per tenant; ``healthprep_desktop.settings`` types them.

Both classes share one small interface (``SettingValues``) so the settings layer treats app and
tenant values alike.
"""

from __future__ import annotations

from typing import Any, Protocol

from healthprep_desktop.store import clock
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import ScopedTable


class SettingValues(Protocol):
    def get_raw(self, name: str) -> Any | None: ...
    def set_raw(self, name: str, value: Any) -> None: ...
    def delete(self, name: str) -> bool: ...
    def all_raw(self) -> dict[str, Any]: ...


class TenantSettingValues:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def get_raw(self, name: str) -> Any | None:
        row = self._table.select_one({"name": name}, columns=("value",))
        return None if row is None else _json.load(row["value"])

    def set_raw(self, name: str, value: Any) -> None:
        self._table.upsert(
            {"name": name, "value": _json.dump(value), "updated_at": clock.now_text()},
            key=("name",),
        )

    def delete(self, name: str) -> bool:
        return self._table.delete({"name": name}) > 0

    def all_raw(self) -> dict[str, Any]:
        rows = self._table.select(columns=("name", "value"), order_by=("name",))
        return {str(r["name"]): _json.load(r["value"]) for r in rows}


class AppSettingValues:
    """Workstation-wide values (not tenant data: no PHI, no secrets)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get_raw(self, name: str) -> Any | None:
        row = self._db.query_one("SELECT value FROM app_settings WHERE name = ?", (name,))
        return None if row is None else _json.load(row[0])

    def set_raw(self, name: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO app_settings (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (name, _json.dump(value), clock.now_text()),
        )

    def delete(self, name: str) -> bool:
        cursor = self._db.execute("DELETE FROM app_settings WHERE name = ?", (name,))
        return int(cursor.rowcount) > 0

    def all_raw(self) -> dict[str, Any]:
        rows = self._db.query("SELECT name, value FROM app_settings ORDER BY name")
        return {str(r[0]): _json.load(r[1]) for r in rows}
