"""Screening entries a user made by hand, as Epic Health Maintenance allows: "done elsewhere"
(with the date it was done), "declined" and "postponed until" a date.

One entry per patient and screening; a new entry replaces the old one. The engine honours
entries on the next batch without a refetch; the sheet shows who entered them and when. The
caller records the audit entry (it knows the EHR user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from healthprep_desktop.store import clock
from healthprep_desktop.store.scoped import Row, ScopedTable


class EntryKind(StrEnum):
    DONE_ELSEWHERE = "done_elsewhere"  # on_date: when it was done
    DECLINED = "declined"  # on_date: when the patient declined (optional)
    POSTPONED = "postponed"  # until_date: not to be raised before this day


@dataclass(frozen=True, slots=True)
class ScreeningEntry:
    id: int
    patient_id: str
    screening_id: str
    kind: EntryKind
    on_date: date | None
    until_date: date | None
    note: str
    entered_by: str
    entered_at: str  # ISO 8601 UTC

    def validate(self) -> None:
        _check(self.kind, self.on_date, self.until_date)


def _check(kind: EntryKind, on_date: date | None, until_date: date | None) -> None:
    if kind is EntryKind.DONE_ELSEWHERE and on_date is None:
        raise ValueError("a screening done elsewhere needs the date it was done")
    if kind is EntryKind.POSTPONED and until_date is None:
        raise ValueError("a postponed screening needs the date it is postponed until")


class ScreeningEntryRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def put(
        self,
        patient_id: str,
        screening_id: str,
        kind: EntryKind,
        *,
        entered_by: str,
        on_date: date | None = None,
        until_date: date | None = None,
        note: str = "",
    ) -> ScreeningEntry:
        _check(kind, on_date, until_date)
        key = {"patient_id": patient_id, "screening_id": screening_id}
        with self._table.transaction():
            self._table.upsert(
                {
                    **key,
                    "kind": kind.value,
                    "on_date": on_date.isoformat() if on_date else None,
                    "until_date": until_date.isoformat() if until_date else None,
                    "note": note,
                    "entered_by": entered_by,
                    "entered_at": clock.now_text(),
                },
                key=tuple(key),
            )
            row = self._table.select_one(key)
        assert row is not None
        return _entry(row)

    def all(self, *, patient_id: str | None = None) -> list[ScreeningEntry]:
        where = {"patient_id": patient_id} if patient_id is not None else {}
        return [_entry(r) for r in self._table.select(where, order_by=("id",))]

    def get(self, entry_id: int) -> ScreeningEntry | None:
        row = self._table.select_one({"id": entry_id})
        return _entry(row) if row is not None else None

    def remove(self, entry_id: int) -> bool:
        return self._table.delete({"id": entry_id}) > 0


def _day(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _entry(row: Row) -> ScreeningEntry:
    return ScreeningEntry(
        id=int(row["id"]),
        patient_id=str(row["patient_id"]),
        screening_id=str(row["screening_id"]),
        kind=EntryKind(str(row["kind"])),
        on_date=_day(row["on_date"]),
        until_date=_day(row["until_date"]),
        note=str(row["note"] or ""),
        entered_by=str(row["entered_by"]),
        entered_at=str(row["entered_at"]),
    )


__all__ = ["EntryKind", "ScreeningEntry", "ScreeningEntryRepository"]
