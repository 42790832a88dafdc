"""Tenant scoping, enforced here and only here.

``ScopedTable`` is the generic data-access layer for every tenant-scoped table: it adds
``tenant_id = ?`` to every WHERE, sets ``tenant_id`` on every INSERT, and refuses any column not
declared in the table's ``TableSpec`` (``tenant_id`` is never declared, so it can be neither
chosen nor changed by a caller). Repositories build on it and never see the raw connection, so
no query can forget the tenant. Identifiers come only from the specs; values are always bound
parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlcipher3

from healthprep_desktop.store.database import Database, SqlParams
from healthprep_desktop.store.errors import ConstraintError, DuplicateKeyError
from healthprep_desktop.store.schema import TableSpec

Row = dict[str, Any]
Where = Mapping[str, Any]


class ScopedTable:
    def __init__(self, db: Database, spec: TableSpec, tenant_id: str) -> None:
        self._db = db
        self._spec = spec
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def insert(self, values: Mapping[str, Any]) -> int:
        """Insert one row; return its rowid."""
        columns = self._checked(values)
        sql = (
            f"INSERT INTO {self._spec.name} (tenant_id, {', '.join(columns)}) "  # noqa: S608 (identifiers from the spec)
            f"VALUES (?{', ?' * len(columns)})"
        )
        cursor = self._write(sql, [self._tenant_id, *(values[c] for c in columns)])
        return int(cursor.lastrowid)

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        columns = self._checked(rows[0])
        for row in rows[1:]:
            if sorted(row) != columns:
                raise ValueError("insert_many needs the same columns in every row")
        sql = (
            f"INSERT INTO {self._spec.name} (tenant_id, {', '.join(columns)}) "  # noqa: S608 (identifiers from the spec)
            f"VALUES (?{', ?' * len(columns)})"
        )
        with self._db.transaction(), self._constraints():
            self._db.executemany(sql, [[self._tenant_id, *(r[c] for c in columns)] for r in rows])

    def upsert(self, values: Mapping[str, Any], key: Sequence[str], *, update: bool = True) -> None:
        """Insert, or (``update``) set the non-key columns of the row with the same
        (tenant_id, *key); with ``update=False`` an existing row is left as it is."""
        columns = self._checked(values)
        key_columns = self._checked(dict.fromkeys(key))
        updates = [c for c in columns if c not in key_columns] if update else []
        conflict = ", ".join(["tenant_id", *key_columns])
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {self._spec.name} (tenant_id, {', '.join(columns)}) "  # noqa: S608 (identifiers from the spec)
            f"VALUES (?{', ?' * len(columns)}) ON CONFLICT ({conflict}) {action}"
        )
        self._write(sql, [self._tenant_id, *(values[c] for c in columns)])

    def select(
        self,
        where: Where | None = None,
        *,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Row]:
        """Rows of this tenant matching ``where`` (equality; None is IS NULL; a tuple is IN).

        ``order_by`` names columns, a leading "-" for descending.
        """
        chosen = self._checked(dict.fromkeys(columns)) if columns else sorted(self._spec.columns)
        clause, params = self._where(where or {})
        sql = f"SELECT {', '.join(chosen)} FROM {self._spec.name} WHERE {clause}"  # noqa: S608 (identifiers from the spec)
        if order_by:
            sql += " ORDER BY " + ", ".join(self._order_term(term) for term in order_by)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [dict(zip(chosen, row, strict=True)) for row in self._db.query(sql, params)]

    def select_after(
        self,
        where: Where,
        key: str,
        after: Any,
        *,
        limit: int,
        columns: Sequence[str] | None = None,
    ) -> list[Row]:
        """Keyset paging: up to ``limit`` rows whose ``key`` is greater than ``after``, in ``key``
        order, so a caller walks a large table in pages without OFFSET's rescans."""
        self._checked({key: None})
        chosen = self._checked(dict.fromkeys(columns)) if columns else sorted(self._spec.columns)
        clause, params = self._where(where)
        sql = (
            f"SELECT {', '.join(chosen)} FROM {self._spec.name} "  # noqa: S608 (identifiers from the spec)
            f"WHERE {clause} AND {key} > ? ORDER BY {key} LIMIT ?"
        )
        rows = self._db.query(sql, [*params, after, int(limit)])
        return [dict(zip(chosen, row, strict=True)) for row in rows]

    def select_one(self, where: Where, *, columns: Sequence[str] | None = None) -> Row | None:
        rows = self.select(where, columns=columns, limit=1)
        return rows[0] if rows else None

    def count(self, where: Where | None = None) -> int:
        clause, params = self._where(where or {})
        row = self._db.query_one(f"SELECT count(*) FROM {self._spec.name} WHERE {clause}", params)  # noqa: S608 (identifiers from the spec)
        return int(row[0])

    def update(
        self,
        where: Where,
        values: Mapping[str, Any],
        *,
        increments: Mapping[str, int] | None = None,
    ) -> int:
        """Set ``values`` (and add ``increments``) on matching rows; return how many changed."""
        columns = self._checked(values)
        bumped = self._checked(increments or {})
        if not columns and not bumped:
            raise ValueError("update needs at least one column")
        assignments = [f"{c} = ?" for c in columns] + [f"{c} = {c} + ?" for c in bumped]
        clause, params = self._where(where)
        sql = f"UPDATE {self._spec.name} SET {', '.join(assignments)} WHERE {clause}"  # noqa: S608 (identifiers from the spec)
        set_params = [values[c] for c in columns] + [int((increments or {})[c]) for c in bumped]
        return int(self._write(sql, [*set_params, *params]).rowcount)

    def delete(self, where: Where) -> int:
        clause, params = self._where(where)
        sql = f"DELETE FROM {self._spec.name} WHERE {clause}"  # noqa: S608 (identifiers from the spec)
        return int(self._write(sql, params).rowcount)

    def _write(self, sql: str, params: SqlParams) -> Any:
        with self._constraints():
            return self._db.execute(sql, params)

    @contextmanager
    def _constraints(self) -> Iterator[None]:
        try:
            yield
        except sqlcipher3.IntegrityError as exc:
            # SQLite's message names table and columns only, never the values.
            message = str(exc)
            if "UNIQUE" in message or "PRIMARY KEY" in message:
                raise DuplicateKeyError(message) from None
            raise ConstraintError(message) from None

    def _checked(self, names: Mapping[str, Any]) -> list[str]:
        unknown = [n for n in names if n not in self._spec.columns]
        if unknown:
            # tenant_id lands here too: a caller can never choose or change it.
            raise ValueError(f"{self._spec.name} has no column(s) {unknown} open to callers")
        return sorted(names)

    def _where(self, where: Where) -> tuple[str, list[Any]]:
        terms = ["tenant_id = ?"]
        params: list[Any] = [self._tenant_id]
        for column in self._checked(where):
            value = where[column]
            if value is None:
                terms.append(f"{column} IS NULL")
            elif isinstance(value, tuple | list | set | frozenset):
                items = list(value)
                if not items:
                    terms.append("0")  # IN () matches nothing
                    continue
                terms.append(f"{column} IN ({', '.join('?' * len(items))})")
                params.extend(items)
            else:
                terms.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(terms), params

    def _order_term(self, term: str) -> str:
        column = term.removeprefix("-")
        self._checked({column: None})
        return f"{column} DESC" if term.startswith("-") else column
