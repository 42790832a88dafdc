"""The newest screening of every panel patient, and the panel runs that produced them.

A panel can hold tens of thousands of patients, so ``iter`` pages through the table by patient id
(keyset paging) instead of loading every row: memory stays bounded whatever the panel's size.
``results`` is the same envelope a sheet stores (``{"as_of", "summary", "results": [...]}``);
``measures`` holds measure-mode population counts per measurement year, CMS id and group:
``{"2026": {"CMS125": {"group-1": {"initial-population": 1, "denominator": 1, ...}}}}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import Row, ScopedTable

MeasureCounts = dict[str, dict[str, dict[str, dict[str, int]]]]  # year -> CMS -> group -> code


@dataclass(frozen=True, slots=True)
class PanelResult:
    connection_id: int
    patient_id: str
    results: dict[str, Any]
    record_hash: str
    measures: MeasureCounts = field(default_factory=dict)
    run_id: int | None = None
    screened_at: str = ""


@dataclass(frozen=True, slots=True)
class PanelRun:
    id: int
    connection_id: int
    group_id: str | None
    export_id: int | None
    state: str  # "running", "complete", "failed"
    since: str | None
    transaction_time: str | None
    patients: int
    summary: dict[str, Any]
    created_at: str
    updated_at: str


def _result(row: Row) -> PanelResult:
    return PanelResult(
        connection_id=int(row["connection_id"]),
        patient_id=row["patient_id"],
        results=_json.load(row["results"]),
        record_hash=row["record_hash"],
        measures=_json.load(row["measures"]),
        run_id=row["run_id"],
        screened_at=row["screened_at"],
    )


def _run(row: Row) -> PanelRun:
    return PanelRun(
        id=int(row["id"]),
        connection_id=int(row["connection_id"]),
        group_id=row["group_id"],
        export_id=row["export_id"],
        state=row["state"],
        since=row["since"],
        transaction_time=row["transaction_time"],
        patients=int(row["patients"]),
        summary=_json.load(row["summary"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PanelResultRepository:
    def __init__(self, results: ScopedTable, runs: ScopedTable) -> None:
        self._results = results
        self._runs = runs

    # --- results --------------------------------------------------------------------------------

    def put(self, result: PanelResult) -> None:
        now = clock.now_text()
        self._results.upsert(
            {
                "connection_id": result.connection_id,
                "patient_id": result.patient_id,
                "run_id": result.run_id,
                "screened_at": result.screened_at or now,
                "record_hash": result.record_hash,
                "results": _json.dump(result.results),
                "measures": _json.dump(result.measures),
                "updated_at": now,
            },
            key=("connection_id", "patient_id"),
        )

    def get(self, connection_id: int, patient_id: str) -> PanelResult | None:
        row = self._results.select_one({"connection_id": connection_id, "patient_id": patient_id})
        return _result(row) if row is not None else None

    def iter(self, connection_id: int, *, page: int = 500) -> Iterator[PanelResult]:
        """Every stored result of the connection's panel, in patient-id order, ``page`` rows at
        a time (the whole panel is never in memory at once)."""
        after = ""
        while True:
            rows = self._results.select_after(
                {"connection_id": connection_id}, "patient_id", after, limit=page
            )
            yield from (_result(row) for row in rows)
            if len(rows) < page:
                return
            after = rows[-1]["patient_id"]

    def patient_ids(self, connection_id: int) -> set[str]:
        rows = self._results.select({"connection_id": connection_id}, columns=["patient_id"])
        return {row["patient_id"] for row in rows}

    def count(self, connection_id: int) -> int:
        return self._results.count({"connection_id": connection_id})

    def delete(self, connection_id: int, patient_id: str) -> bool:
        where = {"connection_id": connection_id, "patient_id": patient_id}
        return self._results.delete(where) > 0

    # --- runs -----------------------------------------------------------------------------------

    def start_run(
        self, connection_id: int, *, group_id: str | None, since: str | None = None
    ) -> PanelRun:
        now = clock.now_text()
        run_id = self._runs.insert(
            {
                "connection_id": connection_id,
                "group_id": group_id,
                "state": "running",
                "since": since,
                "created_at": now,
                "updated_at": now,
            }
        )
        run = self.run(run_id)
        assert run is not None  # just inserted
        return run

    def update_run(self, run_id: int, **changes: Any) -> None:
        allowed = {"export_id", "state", "transaction_time", "patients", "summary"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"panel runs cannot change {sorted(unknown)}")
        values = {k: (_json.dump(v) if k == "summary" else v) for k, v in changes.items()}
        values["updated_at"] = clock.now_text()
        self._runs.update({"id": run_id}, values)

    def run(self, run_id: int) -> PanelRun | None:
        row = self._runs.select_one({"id": run_id})
        return _run(row) if row is not None else None

    def runs(self, connection_id: int) -> list[PanelRun]:
        rows = self._runs.select({"connection_id": connection_id}, order_by=["-id"])
        return [_run(row) for row in rows]

    def last_complete(self, connection_id: int, group_id: str | None) -> PanelRun | None:
        rows = self._runs.select(
            {"connection_id": connection_id, "group_id": group_id, "state": "complete"},
            order_by=["-id"],
            limit=1,
        )
        return _run(rows[0]) if rows else None


__all__ = ["MeasureCounts", "PanelResult", "PanelResultRepository", "PanelRun"]
