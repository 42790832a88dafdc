"""The main window and offline sheet review against a real store (no network involved)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pymupdf
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, AuditFilter
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.schedule_model import PATIENT, ROW_ROLE
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sheet_viewer import SheetViewer
from tests.ui.conftest import DAY, run, save_sheet

FRIDAY_BEFORE = date(2026, 11, 20)


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    for pid in ("p1", "p2", "p3"):
        save_sheet(session.scope, pid)
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() == 3)
    yield w
    w.close()
    run(qtbot, w.shutdown())


def _actions(session: AppSession) -> list[str]:
    return [e.action for e in session.scope.audit_entries(AuditFilter())]


def _open_first(qtbot: QtBot, window: MainWindow) -> SheetViewer:
    window.table.setCurrentIndex(window.proxy.index(0, PATIENT))
    window.open_selected()
    qtbot.waitUntil(lambda: any(isinstance(c, SheetViewer) for c in window.child_windows()))
    viewer = next(c for c in window.child_windows() if isinstance(c, SheetViewer))
    qtbot.waitUntil(
        lambda: viewer.image.pixmap() is not None and not viewer.image.pixmap().isNull()
    )
    return viewer


def test_defaults_to_the_next_clinic_day_and_shows_stored_sheets(window: MainWindow) -> None:
    assert window.clinic_day == DAY
    assert window.clinic_combo.currentText() == "Main Street Clinic"
    texts = [window.proxy.index(r, PATIENT).data() for r in range(window.proxy.rowCount())]
    assert sorted(texts) == ["Patient/p1", "Patient/p2", "Patient/p3"]
    assert window.count_label.text() == "3 patients"
    assert "No EHR connection" in window.connection_label.text()


def test_another_day_is_empty_and_says_what_to_do(qtbot: QtBot, window: MainWindow) -> None:
    window.set_clinic_day(date(2026, 11, 24))
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert "connection" in window.empty_label.text().lower()
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    assert window.clinic_day == DAY


def test_open_a_sheet_offline_page_zoom_export_and_print(
    qtbot: QtBot, window: MainWindow, session: AppSession, tmp_path: Path
) -> None:
    viewer = _open_first(qtbot, window)
    # The sheet's length is the renderer's business (one or two pages): follow it.
    pages = viewer.pages
    assert pages >= 1 and viewer.details.isVisibleTo(viewer)
    first_width = viewer.image.pixmap().width()
    if pages > 1:
        with qtbot.waitSignal(viewer.page_shown) as shown:
            viewer.next_action.trigger()
        assert shown.args == [1]
    assert not viewer.next_action.isEnabled() or pages > 2
    with qtbot.waitSignal(viewer.page_shown):
        viewer.zoom_in()
    assert viewer.image.pixmap().width() > first_width
    exported = tmp_path / "copy.pdf"
    viewer.export_to(exported)
    assert exported.read_bytes() == viewer.pdf
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(96)
    printed = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(printed))
    assert run(qtbot, viewer.print_to(printer)) == pages
    with pymupdf.open(printed) as doc:
        assert doc.page_count == pages
    actions = _actions(session)
    assert {AuditAction.VIEW_SHEET, AuditAction.EXPORT, AuditAction.PRINT} <= set(actions)
    view = next(e for e in session.scope.audit_entries() if e.action == AuditAction.VIEW_SHEET)
    assert view.patient_id == viewer.patient_id and view.resource_ids[0].startswith("sheet/")


def test_dismiss_a_document_match(qtbot: QtBot, window: MainWindow, session: AppSession) -> None:
    viewer = _open_first(qtbot, window)
    documents = viewer.details.document_items()
    assert documents, "the colonoscopy report should be a document match"
    viewer.details.tree.setCurrentItem(documents[0])
    assert viewer.details.dismiss_button.isEnabled()
    ref = viewer.details.selected_evidence()
    assert ref is not None
    assert not viewer.dismiss(ref, "  ")  # a reason is required
    assert viewer.dismiss(ref, "Report is for a different patient")
    assert documents[0].text(1).startswith("dismissed")
    assert viewer.details.dismiss_button.text() == "&Undo dismissal"  # undo is one click away
    [dismissal] = session.scope.dismissals.all(patient_id=viewer.patient_id)
    assert dismissal.evidence_reference == ref.reference
    assert dismissal.reason == "Report is for a different patient" and dismissal.dismissed_by
    entry = session.scope.audit_entries(AuditFilter(actions=frozenset({"dismiss_match"})))[0]
    assert entry.patient_id == viewer.patient_id and entry.resource_ids == (ref.reference,)
    qtbot.waitUntil(lambda: window.model.row_for(viewer.patient_id).sheet == "Re-screen needed")  # type: ignore[union-attr]
    # Opening the sheet again shows the dismissal from the store.
    viewer.close()
    again = _open_first(qtbot, window)
    assert again.details.document_items()[0].text(1).startswith("dismissed")


def test_print_the_whole_day_opens_the_day_print_dialog(qtbot: QtBot, window: MainWindow) -> None:
    from healthprep_desktop.ui.day_print import DayPrintDialog

    window.print_day_action.trigger()
    qtbot.waitUntil(lambda: any(isinstance(c, DayPrintDialog) for c in window.child_windows()))
    dialog = next(c for c in window.child_windows() if isinstance(c, DayPrintDialog))
    assert len(dialog.sheet_ids) == 3


def test_filter_with_the_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus() or window.filter_edit.isVisible()
    window.filter_edit.setText("p2")
    assert window.proxy.rowCount() == 1 and window.count_label.text() == "1 of 3"


def test_lock_hides_patient_data_until_unlocked(qtbot: QtBot, window: MainWindow) -> None:
    viewer = _open_first(qtbot, window)
    window.lock_action.trigger()
    assert window.locked and window.stack.currentWidget() is window.lock_screen
    assert not viewer.isVisible() and not window.prepare_action.isEnabled()
    qtbot.mouseClick(window.lock_screen.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.locked)
    assert viewer.isVisible() and window.stack.currentIndex() == 0


def test_idle_time_locks_the_window(qtbot: QtBot, window: MainWindow) -> None:
    window.idle.set_interval_ms(50)
    qtbot.waitUntil(lambda: window.locked, timeout=5000)


def test_window_geometry_is_remembered(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    first = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(first)
    first.resize(700, 500)  # the offscreen screen is 800x600
    first.table.setColumnWidth(1, 333)
    first.close()
    run(qtbot, first.shutdown())
    second = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (700, 500)
    assert second.table.columnWidth(1) == 333
    second.close()
    run(qtbot, second.shutdown())


def test_a_passphrase_store_unlocks_only_with_the_passphrase(
    qtbot: QtBot, qloop: object, window_settings: QSettings, tmp_path: Path
) -> None:
    from healthprep_desktop.store import Store

    with Store.open(tmp_path / "pp.db", passphrase="correct horse battery") as store:
        session = AppSession(store)
        session.create_tenant("Main Street Clinic")
        w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
        qtbot.addWidget(w)
        w.show()
        w.lock()
        assert w.lock_screen.passphrase.isVisibleTo(w.lock_screen)
        w.lock_screen.passphrase.setText("wrong passphrase")
        w.lock_screen.button.click()
        qtbot.waitUntil(lambda: "does not open" in w.lock_screen.error.text(), timeout=10_000)
        assert w.locked
        w.lock_screen.passphrase.setText("correct horse battery")
        qtbot.keyClick(w.lock_screen.passphrase, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not w.locked, timeout=10_000)
        assert w.lock_screen.passphrase.text() == ""  # not kept around
        w.close()
        run(qtbot, w.shutdown())


def test_first_run_offers_the_connection_settings(
    qtbot: QtBot, qloop: object, store: object, window_settings: QSettings
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from healthprep_desktop.ui.app import first_run
    from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
    from healthprep_desktop.ui.first_run import FirstRunDialog, NextStep

    session = AppSession(store)  # type: ignore[arg-type]
    w = MainWindow(session, today=FRIDAY_BEFORE, settings=window_settings)
    qtbot.addWidget(w)
    w.show()

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, FirstRunDialog):
            QTimer.singleShot(20, answer)
            return
        dialog.name.setText("Main Street Clinic")
        dialog.pin.setText("482915")  # a keyring store: first run sets the unlock PIN
        dialog.pin_confirm.setText("482915")
        dialog.choose(NextStep.CONNECT)

    QTimer.singleShot(0, answer)
    first_run(w)
    assert w.clinic_combo.currentText() == "Main Street Clinic"
    assert any(isinstance(c, ConnectionsDialog) for c in w.child_windows())
    w.close()
    run(qtbot, w.shutdown())


def test_a_failed_rerun_marks_the_old_sheet_stale(
    qtbot: QtBot, window: MainWindow, session: AppSession
) -> None:
    from healthprep_desktop.store import PatientState as StoredState

    scope = session.scope
    job = scope.jobs.create(DAY, params={"visits": {}}, patient_ids=["p1"])
    scope.jobs.finish_patient(job.id, "p1", StoredState.FAILED, reason="the EHR refused (403)")
    window.reload_day(online=False)
    qtbot.waitUntil(lambda: bool((window.model.row_for("p1") or _Row).stale))
    row = window.model.row_for("p1")
    assert row is not None and row.sheet == "Failed" and row.summary_text.endswith("(old)")
    position = next(
        r for r in range(window.proxy.rowCount()) if window.proxy.index(r, 0).data(ROW_ROLE) == row
    )
    window.table.setCurrentIndex(window.proxy.index(position, PATIENT))
    window.open_selected()
    qtbot.waitUntil(lambda: any(isinstance(c, SheetViewer) for c in window.child_windows()))
    viewer = next(c for c in window.child_windows() if isinstance(c, SheetViewer))
    assert viewer.windowTitle().startswith("STALE")


class _Row:
    stale = None
