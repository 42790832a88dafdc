"""Rendered prep sheets: the PDF bytes and the screening results (JSON) behind them.

Listing returns ``SheetInfo`` without the PDF so a day of 500 sheets does not load 500 blobs.
Saving again for the same patient and day keeps the old sheet; ``latest`` returns the newest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import Row, ScopedTable

_INFO_COLUMNS = (
    "id",
    "job_id",
    "patient_id",
    "clinic_day",
    "pdf_sha256",
    "results",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class SheetInfo:
    id: int
    job_id: int | None
    patient_id: str
    clinic_day: date
    pdf_sha256: str
    results: Any  # JSON: typically [ScreeningResult.to_json(), ...]
    created_at: str


@dataclass(frozen=True, slots=True)
class Sheet:
    info: SheetInfo
    pdf: bytes


class SheetRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def save(
        self,
        patient_id: str,
        clinic_day: date,
        pdf: bytes,
        results: Any,
        *,
        job_id: int | None = None,
    ) -> SheetInfo:
        sheet_id = self._table.insert(
            {
                "job_id": job_id,
                "patient_id": patient_id,
                "clinic_day": clinic_day.isoformat(),
                "pdf": pdf,
                "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                "results": _json.dump(results),
                "created_at": clock.now_text(),
            }
        )
        info = self.info(sheet_id)
        assert info is not None
        return info

    def set_results(self, sheet_id: int, results: Any) -> bool:
        """Replace a stored sheet's results envelope (e.g. to mark its write-back state)."""
        return self._table.update({"id": sheet_id}, {"results": _json.dump(results)}) > 0

    def info(self, sheet_id: int) -> SheetInfo | None:
        row = self._table.select_one({"id": sheet_id}, columns=_INFO_COLUMNS)
        return _info(row) if row else None

    def get(self, sheet_id: int) -> Sheet | None:
        row = self._table.select_one({"id": sheet_id})
        return Sheet(_info(row), bytes(row["pdf"])) if row else None

    def latest(self, patient_id: str, clinic_day: date) -> Sheet | None:
        rows = self._table.select(
            {"patient_id": patient_id, "clinic_day": clinic_day.isoformat()},
            order_by=("-id",),
            limit=1,
        )
        return Sheet(_info(rows[0]), bytes(rows[0]["pdf"])) if rows else None

    def all(
        self,
        *,
        clinic_day: date | None = None,
        job_id: int | None = None,
        patient_id: str | None = None,
    ) -> list[SheetInfo]:
        where: dict[str, Any] = {}
        if clinic_day is not None:
            where["clinic_day"] = clinic_day.isoformat()
        if job_id is not None:
            where["job_id"] = job_id
        if patient_id is not None:
            where["patient_id"] = patient_id
        rows = self._table.select(where, columns=_INFO_COLUMNS, order_by=("clinic_day", "id"))
        return [_info(r) for r in rows]

    def delete(self, sheet_id: int) -> bool:
        return self._table.delete({"id": sheet_id}) > 0


def _info(row: Row) -> SheetInfo:
    return SheetInfo(
        id=int(row["id"]),
        job_id=row["job_id"],
        patient_id=row["patient_id"],
        clinic_day=date.fromisoformat(row["clinic_day"]),
        pdf_sha256=row["pdf_sha256"],
        results=_json.load(row["results"]),
        created_at=row["created_at"],
    )
