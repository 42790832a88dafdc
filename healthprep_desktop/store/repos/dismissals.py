"""Document matches a user dismissed as wrong: who, when, why, for which screening and evidence.

The engine reads ``dismissed_references`` so a dismissed match no longer counts. Callers record
the matching ``dismiss_match`` audit entry (they know the EHR user).
"""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.store import clock
from healthprep_desktop.store.scoped import Row, ScopedTable


@dataclass(frozen=True, slots=True)
class MatchDismissal:
    id: int
    patient_id: str
    screening_id: str
    evidence_reference: str  # "DocumentReference/xyz"
    reason: str
    dismissed_by: str
    dismissed_at: str


class DismissalRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def dismiss(
        self,
        patient_id: str,
        screening_id: str,
        evidence_reference: str,
        *,
        reason: str,
        dismissed_by: str,
    ) -> MatchDismissal:
        """Record a dismissal; dismissing the same match again updates who, when and why."""
        key = {
            "patient_id": patient_id,
            "screening_id": screening_id,
            "evidence_reference": evidence_reference,
        }
        with self._table.transaction():
            self._table.upsert(
                {
                    **key,
                    "reason": reason,
                    "dismissed_by": dismissed_by,
                    "dismissed_at": clock.now_text(),
                },
                key=tuple(key),
            )
            row = self._table.select_one(key)
        assert row is not None
        return _dismissal(row)

    def all(
        self, *, patient_id: str | None = None, screening_id: str | None = None
    ) -> list[MatchDismissal]:
        where: dict[str, str] = {}
        if patient_id is not None:
            where["patient_id"] = patient_id
        if screening_id is not None:
            where["screening_id"] = screening_id
        return [_dismissal(r) for r in self._table.select(where, order_by=("id",))]

    def dismissed_references(self, patient_id: str, screening_id: str) -> frozenset[str]:
        rows = self._table.select(
            {"patient_id": patient_id, "screening_id": screening_id},
            columns=("evidence_reference",),
        )
        return frozenset(str(r["evidence_reference"]) for r in rows)

    def undo(self, dismissal_id: int) -> bool:
        return self._table.delete({"id": dismissal_id}) > 0


def _dismissal(row: Row) -> MatchDismissal:
    return MatchDismissal(
        id=int(row["id"]),
        patient_id=row["patient_id"],
        screening_id=row["screening_id"],
        evidence_reference=row["evidence_reference"],
        reason=row["reason"],
        dismissed_by=row["dismissed_by"],
        dismissed_at=row["dismissed_at"],
    )
