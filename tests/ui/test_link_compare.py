"""The confirmation queue shows the two records side by side: the clinic's (from its stored chart)
and the other source's (as the batch saw it), with how each row compared. The other record's
values live only in the encrypted queue: never in the audit. Real Qt offscreen, real store."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from healthprep_desktop.sources.matching import score_pair
from healthprep_desktop.sources.model import Outcome
from healthprep_desktop.sources.normalise import demographics
from healthprep_desktop.store.audit import AuditFilter
from healthprep_desktop.ui.link_compare import verdict
from healthprep_desktop.ui.link_queue_dialog import LinkQueueDialog
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import run, sample_record

REMOTE = {
    "resourceType": "Patient",
    "id": "h77",
    "identifier": [{"system": "https://stmarys.example/fhir/sid/mrn", "value": "SM-4411"}],
    "name": [
        {"use": "official", "family": "Whitfield", "given": ["Rosa", "M"]},
        {"use": "old", "family": "Alvarez", "given": ["Rosa"]},
    ],
    "gender": "female",
    "birthDate": "1960-04-02",
    "telecom": [{"system": "phone", "value": "217-555-0142"}],
    "address": [
        {"use": "home", "line": ["4 Elm Avenue"], "postalCode": "62799-1200"},
        {"use": "old", "line": ["12 Oak Street"], "postalCode": "62701"},
    ],
}


def test_the_queue_compares_the_two_records_side_by_side(qtbot: QtBot, session: AppSession) -> None:
    scope = session.scope
    conn = scope.connections.add("Clinic EHR", "generic", "https://ehr.example/fhir")
    clinic = sample_record("p1").patient
    scope.records.put(
        conn.id,
        "p1",
        fetched_at="2026-12-01T07:00:00+00:00",
        etags={},
        record={"patient": clinic, "resources": [], "documents": []},
        record_hash="h",
    )
    found = score_pair(demographics(clinic), demographics(REMOTE), "stmarys")
    assert found.outcome == Outcome.CONFIRM  # a married name and no place in common: a person
    scope.links.queue([found])

    dialog = LinkQueueDialog(scope, user="coordinator", source_names={"stmarys": "St Mary's"})
    qtbot.addWidget(dialog)
    table = dialog.comparison
    assert table.cell_text("Name", 0) == "Rosa Alvarez"
    assert table.cell_text("Name", 1) == "Rosa M. Whitfield (also Alvarez)"
    assert table.cell_text("Name", 2).startswith("family: former or hyphenated name, given: same")
    assert table.cell_text("Birth date", 0) == table.cell_text("Birth date", 1) == "1960-04-02"
    assert table.cell_text("Birth date", 2) == "same"
    assert table.cell_text("Address", 1) == "4 Elm Ave, 62799; formerly 12 Oak St, 62701"
    assert table.cell_text("Phone", 1) == "(217) 555-0142"
    assert table.cell_text("Phone", 0) == "—"
    assert table.cell_text("Identifiers", 1) == "mrn SM-4411"
    assert table.horizontalHeaderItem(1).text() == "At St Mary's"

    # Answering keeps the values out of the audit: references only.
    dialog.waiting_table.selectRow(0)
    dialog.link_button.click()
    assert dialog.comparison.cell_text("Name", 1) == "—"  # nothing left to compare
    text = " ".join(f"{e.detail} {e.resource_ids}" for e in scope.audit_entries(AuditFilter()))
    for value in ("Whitfield", "Elm", "0142", "1960-04-02", "SM-4411"):
        assert value not in text
    run(qtbot, session.aclose())


def test_verdict_names_each_part_of_a_row() -> None:
    fields = {"family": "alias", "given": "exact", "middle_initial": "missing"}
    assert verdict(fields, ("family", "given", "middle_initial")) == (
        "family: former or hyphenated name, given: same, middle: missing on one side"
    )
    assert (
        verdict(
            {"previous_address": "missing", "postal_code": "disagree"},
            (
                "postal_code",
                "previous_address",
            ),
        )
        == "postal code: different"
    )
    assert verdict({"birth_date": "transposed"}, ("birth_date",)) == "day and month swapped"


def test_the_list_and_the_pane_use_the_same_words() -> None:
    from healthprep_desktop.ui.link_queue_dialog import fields_text

    assert fields_text({"family": "alias", "given": "alias"}) == (
        "family name: former or hyphenated name, given name: nickname"
    )
    assert fields_text({"previous_address": "missing", "phone": "exact"}) == "phone: same"
