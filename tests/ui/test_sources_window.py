"""The window's part of several sources (issue 16): a connection marked as another source in the
connections dialog, the confirmation queue (link, not the same person, undo a link), and the
source of each evidence line in the viewer. Real Qt offscreen, real encrypted store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.sources.model import (
    FieldComparison,
    Level,
    MatchCandidate,
    Outcome,
)
from healthprep_desktop.store import AuditAction
from healthprep_desktop.store.audit import AuditFilter
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog, UnsavedChoice
from healthprep_desktop.ui.link_queue_dialog import LinkQueueDialog, fields_text
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_details import SheetDetails
from healthprep_desktop.workers.source_config import secondary_connections
from tests.ui.conftest import run, sample_record


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    d.ask_unsaved = lambda _name: UnsavedChoice.DISCARD
    d.show()
    yield d
    d.reject()
    run(qtbot, session.aclose())


def test_a_connection_becomes_another_source_and_stays_one_when_saved(
    dialog: ConnectionsDialog, session: AppSession
) -> None:
    dialog.form.name.setText("Hospital")
    dialog.form.base_url.setText("https://fhir.stmarys.example/r4")
    dialog.form.client_id.setText("healthprep")
    panel = dialog.sources_panel
    assert not panel.isChecked()
    panel.setChecked(True)
    panel.name_edit.setText("St Mary's Hospital")
    panel.kind_box.setCurrentIndex(panel.kind_box.findData("ehr"))
    saved = dialog.save()
    assert saved is not None
    [(connection, settings)] = secondary_connections(session.scope, None)
    assert connection.id == saved
    assert (settings.id, settings.name, settings.kind.value) == (
        "stmaryshospital",
        "St Mary's Hospital",
        "ehr",
    )
    # Saving the form again (an edit elsewhere) keeps the source section and its id.
    dialog.form.base_url.setText("https://fhir.stmarys.example/r4/")
    assert dialog.save() == saved
    assert secondary_connections(session.scope, None)[0][1].id == "stmaryshospital"
    assert panel.isChecked() and panel.name_edit.text() == "St Mary's Hospital"
    # Unchecked and saved: an ordinary connection again.
    panel.setChecked(False)
    dialog.save()
    assert secondary_connections(session.scope, None) == []


def _possible(local: str, remote: str, score: float) -> MatchCandidate:
    return MatchCandidate(
        "stmarys",
        local,
        remote,
        score,
        Outcome.CONFIRM,
        "The family name differs (a name change?); please confirm.",
        (
            FieldComparison("family", Level.DISAGREE, -6.0),
            FieldComparison("birth_date", Level.EXACT, 10.9),
        ),
    )


def test_the_queue_links_rejects_and_undoes(qtbot: QtBot, session: AppSession) -> None:
    scope = session.scope
    conn = scope.connections.add("Clinic EHR", "generic", "https://ehr.example/fhir")
    scope.records.put(
        conn.id,
        "p1",
        fetched_at="2026-12-01T07:00:00+00:00",
        etags={},
        record={"patient": sample_record("p1").patient, "resources": [], "documents": []},
        record_hash="h",
    )
    scope.links.queue([_possible("p1", "h1", 21.0), _possible("p2", "h2", 14.0)])
    dialog = LinkQueueDialog(scope, user="coordinator", source_names={"stmarys": "St Mary's"})
    qtbot.addWidget(dialog)
    assert dialog.waiting_table.rowCount() == 2
    # The clinic's own stored chart names the patient; the remote side shows levels only.
    assert "Rosa" in dialog.waiting_table.item(0, 0).text()
    assert dialog.waiting_table.item(0, 1).text() == "St Mary's"
    assert dialog.waiting_table.item(0, 5).text() == fields_text(
        {"family": "disagree", "birth_date": "exact"}
    )
    assert "family name: different" in dialog.waiting_table.item(0, 5).text()

    dialog.waiting_table.selectRow(0)
    dialog.link_button.click()
    assert [(d.local_id, d.remote_id) for d in scope.links.linked()] == [("p1", "h1")]
    dialog.waiting_table.selectRow(0)  # p2 is the only one left
    dialog.reject_button.click()
    assert scope.links.waiting() == [] and dialog.waiting_table.rowCount() == 0
    assert not dialog.link_button.isEnabled()
    assert dialog.linked_table.rowCount() == 1

    dialog.linked_table.selectRow(0)
    dialog.undo_button.click()
    assert scope.links.linked() == []
    assert "next batch" in dialog.message.text()
    entries = scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.PATIENT_LINK.value})))
    assert [e.detail for e in entries] == [
        "stmarys: linked (by a person)",
        "stmarys: rejected (by a person)",
        "stmarys: rejected (by a person)",
    ]
    assert {e.ehr_user for e in entries} == {"coordinator"}


def test_panel_opens_the_queue_with_its_count(qtbot: QtBot, session: AppSession) -> None:
    dialog = ConnectionsDialog(session)
    qtbot.addWidget(dialog)
    session.scope.links.queue([_possible("p1", "h1", 21.0)])
    dialog.sources_panel.refresh_queue_count()
    assert "(1 to confirm)" in dialog.sources_panel.queue_button.text()
    queue = dialog.sources_panel.open_queue()
    assert queue.waiting_table.rowCount() == 1
    queue.close()
    dialog.reject()
    run(qtbot, session.aclose())


def test_viewer_names_the_source_of_each_evidence_line(qtbot: QtBot) -> None:
    details = SheetDetails()
    qtbot.addWidget(details)
    evidence = {
        "kind": "code",
        "reference": "Procedure/stmarys.p1",
        "date": "2024-12-01",
        "description": "Colonoscopy",
        "source": "St Mary's Hospital",
    }
    twin = {**evidence, "reference": "Immunization/i1", "description": "Influenza vaccine"}
    twin.update(source="Clinic EHR", also_in=["State Immunization Registry"])
    details.set_results(
        {
            "results": [
                {
                    "screening_id": "colorectal_cancer",
                    "name": "Colorectal cancer screening",
                    "status": "complete",
                    "explanation": "Colonoscopy on 2024-12-01 · St Mary's Hospital",
                    "evidence": [evidence, twin],
                }
            ]
        }
    )
    lines = [item.text(0) for item in details.evidence_items()]
    assert lines == [
        "Colonoscopy · 2024-12-01 · St Mary's Hospital",
        "Influenza vaccine · 2024-12-01 · Clinic EHR (also in State Immunization Registry)",
    ]
