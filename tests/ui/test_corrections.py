"""Issue 15 item 6 from the viewer: the matched sentence in context and the document before a
dismissal, canned reasons plus free text, undo, and done elsewhere / declined / postponed marks;
each correction is recorded, audited and announced (``corrected``) for the re-screen.

Real encrypted store, real engine and rendered sheet, real Qt offscreen.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, EntryKind, TenantScope
from healthprep_desktop.ui.correction_dialogs import DismissDialog, DocumentDialog, EntryDialog
from healthprep_desktop.ui.corrections import (
    CANNED_REASONS,
    OTHER_REASON,
    context_of,
    find_document,
    reason_text,
)
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_details import ScreeningRef
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from healthprep_desktop.ui.window_fit import SMALL_SCREENS, overflow
from tests.ui.conftest import DAY, NOTE, sample_record, save_sheet

PATIENT = "p1"
REFERENCE = f"DocumentReference/{PATIENT}-d1"


def _store_chart(scope: TenantScope) -> None:
    """The chart as the batch keeps it: the document list and its extracted text."""
    connection = scope.connections.add("EHR", "generic", "https://ehr.example.org/fhir", config={})
    scope.records.put(
        connection.id,
        PATIENT,
        fetched_at="2026-11-22T12:00:00+00:00",
        etags={},
        record={
            "patient": sample_record(PATIENT).patient,
            "resources": [],
            "documents": [
                {
                    "reference": REFERENCE,
                    "content_hash": f"hash-{PATIENT}",
                    "title": "Colonoscopy report",
                    "date": "2021-03-04",
                    "content_type": "text/plain",
                }
            ],
        },
        record_hash="h",
    )
    scope.text_cache.put(f"hash-{PATIENT}", f"Clinic letter.\n{NOTE}\nSigned.", "plain")


@pytest.fixture
def viewer(qtbot: QtBot, session: AppSession) -> SheetViewer:
    scope = session.scope
    _store_chart(scope)
    sheet = scope.sheets.get(save_sheet(scope, PATIENT))
    assert sheet is not None
    v = SheetViewer.for_sheet(session.store, scope, sheet, title="Rosa Alvarez")
    qtbot.addWidget(v)
    v.show()
    qtbot.waitSignal(v.page_shown, timeout=10_000)
    return v


def _select_document(v: SheetViewer) -> None:
    documents = v.details.document_items()
    assert documents, "the colonoscopy report should be a document match"
    v.details.tree.setCurrentItem(documents[0])


def test_the_matched_sentence_and_the_document_come_first(
    qtbot: QtBot, viewer: SheetViewer, session: AppSession
) -> None:
    _select_document(viewer)
    ref = viewer.details.selected_evidence()
    assert ref is not None and ref.snippet
    document = find_document(session.scope, PATIENT, ref.reference)
    assert document is not None and document.title == "Colonoscopy report"
    dialog = DismissDialog("Colorectal cancer screening", ref.description, ref.snippet, document)
    qtbot.addWidget(dialog)
    assert "Colonoscopy 2021-03-04" in dialog.context.toPlainText()
    assert dialog.open_button.isEnabled()
    dialog.open_document()
    assert isinstance(dialog.viewer, DocumentDialog)
    assert "Clinic letter." in dialog.viewer.text.toPlainText()
    assert dialog.viewer.text.textCursor().hasSelection()  # the match is shown highlighted
    assert [dialog.reason.itemText(i) for i in range(dialog.reason.count())] == [
        *CANNED_REASONS,
        OTHER_REASON,
    ]
    dialog.reason.setCurrentText(OTHER_REASON)
    dialog.accept()
    assert "Say why" in dialog.error.text() and dialog.result() == 0
    dialog.note.setText("scanned into the wrong chart")
    assert dialog.reason_given() == "scanned into the wrong chart"
    dialog.reason.setCurrentIndex(0)
    assert dialog.reason_given() == f"{CANNED_REASONS[0]}: scanned into the wrong chart"
    # Without a stored chart the dialog still shows the snippet; the document cannot open.
    bare = DismissDialog("x", "y", ref.snippet, None)
    qtbot.addWidget(bare)
    assert not bare.open_button.isEnabled() and ref.snippet in bare.context.toPlainText()


def test_dismiss_and_undo_are_recorded_and_announced(
    qtbot: QtBot, viewer: SheetViewer, session: AppSession
) -> None:
    viewer.rescreen_after_corrections = False  # the re-screen has its own test
    scope = session.scope
    _select_document(viewer)
    ref = viewer.details.selected_evidence()
    assert ref is not None
    with qtbot.waitSignal(viewer.corrected) as corrected:
        assert viewer.dismiss(ref, reason_text(CANNED_REASONS[1], ""))
    assert corrected.args == [PATIENT]
    [dismissal] = scope.dismissals.all(patient_id=PATIENT)
    assert dismissal.reason == CANNED_REASONS[1]
    assert viewer.details.dismiss_button.text() == "&Undo dismissal"
    assert viewer.details.dismiss_button.isEnabled()
    with qtbot.waitSignal(viewer.corrected):
        viewer.details.dismiss_button.click()  # Undo
    assert scope.dismissals.all(patient_id=PATIENT) == []
    assert viewer.details.dismiss_button.text() == "&Dismiss match…"
    details = [e.detail for e in scope.audit_entries() if e.action == AuditAction.DISMISS_MATCH]
    assert details[-1].endswith("dismissal undone") and len(details) == 2
    assert all(CANNED_REASONS[1] not in d for d in details)  # the reason stays out of the audit


def test_mark_a_screening_from_the_viewer(
    qtbot: QtBot, viewer: SheetViewer, session: AppSession
) -> None:
    viewer.rescreen_after_corrections = False  # the re-screen has its own test
    scope = session.scope
    top = viewer.details.screening_items()[0]
    viewer.details.tree.setCurrentItem(top)
    screening = viewer.details.selected_screening()
    assert isinstance(screening, ScreeningRef) and viewer.details.entry_button.isEnabled()
    assert not viewer.details.clear_entry_button.isEnabled()

    assert not viewer.mark_screening(screening, EntryKind.DONE_ELSEWHERE)  # needs its date
    assert "Not marked" in viewer.statusBar().currentMessage()
    until = date.today() + timedelta(days=60)
    with qtbot.waitSignal(viewer.corrected):
        assert viewer.mark_screening(screening, EntryKind.POSTPONED, until_date=until)
    [entry] = scope.entries.all(patient_id=PATIENT)
    assert entry.kind is EntryKind.POSTPONED and entry.until_date == until
    assert viewer.details.clear_entry_button.isEnabled()
    with qtbot.waitSignal(viewer.corrected):
        viewer.details.clear_entry_button.click()
    assert scope.entries.all(patient_id=PATIENT) == []
    audit = [e.detail for e in scope.audit_entries() if e.action == AuditAction.SCREENING_ENTRY]
    assert audit[0].endswith("set: postponed") and audit[1].endswith("removed")


def test_entry_dialog_values(qtbot: QtBot) -> None:
    today = date(2026, 11, 23)
    dialog = EntryDialog("Colorectal cancer screening", today=today)
    qtbot.addWidget(dialog)
    assert dialog.kind() is EntryKind.DONE_ELSEWHERE and not dialog.until_date.isEnabled()
    assert dialog.values()[:3] == (EntryKind.DONE_ELSEWHERE, today, None)
    dialog.radios[EntryKind.POSTPONED].setChecked(True)
    kind, on, until, _ = dialog.values()
    assert kind is EntryKind.POSTPONED and on is None and until == today + timedelta(days=90)
    for area in SMALL_SCREENS:
        assert overflow(dialog, area) == []


def test_context_of_a_snippet() -> None:
    text = "A" * 500 + " the match here " + "B" * 500
    shown = context_of("the match here", text, width=20)
    assert shown.startswith("…") and shown.endswith("…") and "the match here" in shown
    assert context_of("absent", text) == "absent"


def test_the_viewer_fits_and_opens_at_fit_width(viewer: SheetViewer) -> None:
    assert viewer.fit_width and abs(viewer.zoom - viewer.width_zoom()) < 0.05
    for area in SMALL_SCREENS:
        assert overflow(viewer, area) == []
    assert viewer.page_label.isVisible() and viewer.page_label.text().startswith("Page 1 of")
    viewer.zoom_in()
    assert not viewer.fit_width
    viewer.fit_action.trigger()
    assert viewer.fit_width


def _colorectal(results: object) -> dict[str, object]:
    items = results.get("results") if isinstance(results, dict) else []
    return next(
        i
        for i in items or []
        if any(e.get("reference") == REFERENCE for e in i.get("evidence") or [])
        or REFERENCE in (i.get("dismissed") or [])
    )


def test_a_correction_rescreens_exactly_one_patient_and_refreshes_the_viewer(
    qtbot: QtBot, viewer: SheetViewer, session: AppSession
) -> None:
    scope = session.scope
    other = save_sheet(scope, "p2")
    before = {p: len(scope.sheets.all(patient_id=p)) for p in (PATIENT, "p2")}
    old_sheet = viewer.sheet_id
    old = scope.sheets.get(old_sheet or 0)
    assert old is not None and _colorectal(old.info.results)["status"] == "complete"
    _select_document(viewer)
    ref = viewer.details.selected_evidence()
    assert ref is not None
    with qtbot.waitSignal(viewer.rescreened, timeout=20_000) as rescreened:
        viewer.dismiss(ref, CANNED_REASONS[0])
    patient, sheet_id = rescreened.args
    assert patient == PATIENT and sheet_id != old_sheet and viewer.sheet_id == sheet_id
    new = scope.sheets.latest(PATIENT, DAY)
    assert new is not None and new.info.id == sheet_id
    item = _colorectal(new.info.results)
    assert REFERENCE in item["dismissed"] and item["status"] != "complete"  # type: ignore[operator]
    # The viewer shows the new sheet: the dismissed match stays struck out.
    assert viewer.details.document_items()[0].text(1).startswith("dismissed")
    after = {p: len(scope.sheets.all(patient_id=p)) for p in (PATIENT, "p2")}
    assert after == {PATIENT: before[PATIENT] + 1, "p2": before["p2"]}
    screened = [e.patient_id for e in scope.audit_entries() if e.action == AuditAction.SCREEN]
    assert screened == [PATIENT]
    assert scope.sheets.get(other) is not None
