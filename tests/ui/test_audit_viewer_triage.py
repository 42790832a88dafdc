"""Issue 15 item 10: the audit viewer lists newest first, shows patient names from this
computer's charts (never written to the trail), filters as you type, and says when nothing
matches. Real encrypted store, real Qt offscreen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.audit_viewer import EMPTY_TEXT, PATIENT_COLUMN, AuditViewer
from healthprep_desktop.ui.session import AppSession


@pytest.fixture
def viewer(qtbot: QtBot, session: AppSession) -> Iterator[AuditViewer]:
    scope = session.scope
    connection = scope.connections.add("EHR", "generic", "https://ehr.example.org/fhir", config={})
    scope.records.put(
        connection.id,
        "p1",
        fetched_at="2026-11-22T12:00:00+00:00",
        etags={},
        record={
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "name": [{"given": ["Rosa"], "family": "Alvarez"}],
            },
            "resources": [],
            "documents": [],
        },
        record_hash="h",
    )
    for n in range(4):
        scope.audit(AuditAction.VIEW_SHEET, patient_id=f"p{n % 2}", detail=f"view {n}")
    w = AuditViewer(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() > 0)
    yield w


def test_newest_first_with_names_resolved_locally(viewer: AuditViewer, session: AppSession) -> None:
    seqs = [e.seq for e in viewer.model.entries]
    assert seqs == sorted(seqs, reverse=True) and viewer.model.entries[0].detail == "view 3"
    cells = {
        viewer.model.data(viewer.model.index(r, PATIENT_COLUMN))
        for r in range(viewer.model.rowCount())
    }
    assert "Rosa Alvarez (p1)" in cells and "p0" in cells
    # The name is shown, never recorded.
    assert all(
        "Rosa" not in (e.detail + (e.patient_id or "")) for e in session.store.audit.entries()
    )


def test_filters_apply_as_you_type_and_say_when_nothing_matches(
    qtbot: QtBot, viewer: AuditViewer
) -> None:
    with qtbot.waitSignal(viewer.loaded, timeout=3000) as loaded:
        viewer.patient.setText("alva")  # a name, typed: no Enter, no button
    assert loaded.args == [2] and {e.patient_id for e in viewer.model.entries} == {"p1"}
    assert viewer.empty_label.isHidden()
    with qtbot.waitSignal(viewer.loaded, timeout=3000) as loaded:
        viewer.patient.setText("nobody")
    assert loaded.args == [0]
    assert viewer.empty_label.isVisible() and viewer.empty_label.text() == EMPTY_TEXT
    with qtbot.waitSignal(viewer.loaded, timeout=3000) as loaded:
        viewer.patient.clear()
        viewer.action.setCurrentIndex(viewer.action.findData("tenant_create"))
    assert loaded.args == [1] and viewer.empty_label.isHidden()
