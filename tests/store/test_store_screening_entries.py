"""Screening entries: one per patient and screening, replaced by a new one, validated, removable."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop.store import EntryKind, Store


def test_put_replace_list_remove(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    first = scope.entries.put(
        "p1", "colorectal_cancer", EntryKind.DONE_ELSEWHERE, entered_by="jdoe",
        on_date=date(2025, 5, 2), note="colonoscopy at County Hospital",
    )  # fmt: skip
    assert first.on_date == date(2025, 5, 2) and first.entered_by == "jdoe" and first.entered_at
    again = scope.entries.put("p1", "colorectal_cancer", EntryKind.DECLINED, entered_by="asmith")
    assert again.id == first.id and again.kind is EntryKind.DECLINED and again.on_date is None
    scope.entries.put(
        "p1", "breast_cancer", EntryKind.POSTPONED, entered_by="asmith", until_date=date(2027, 1, 1)
    )
    scope.entries.put("p2", "breast_cancer", EntryKind.DECLINED, entered_by="asmith")
    assert [e.screening_id for e in scope.entries.all(patient_id="p1")] == [
        "colorectal_cancer",
        "breast_cancer",
    ]
    assert scope.entries.remove(first.id)
    assert not scope.entries.remove(first.id)
    assert scope.entries.get(first.id) is None
    assert len(scope.entries.all()) == 2


def test_entries_need_their_dates(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    with pytest.raises(ValueError, match="date it was done"):
        scope.entries.put("p1", "colorectal_cancer", EntryKind.DONE_ELSEWHERE, entered_by="u")
    with pytest.raises(ValueError, match="postponed until"):
        scope.entries.put("p1", "colorectal_cancer", EntryKind.POSTPONED, entered_by="u")
    assert scope.entries.all() == []
