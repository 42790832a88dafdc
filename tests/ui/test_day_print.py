"""The day print dialog with a real store, real sheets and a real subprocess as the printer:
a stand-in for CUPS's lp that keeps the PDF it is given (a PDF printer)."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pymupdf
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from pytestqt.qtbot import QtBot

from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.store import AuditAction, Outcome
from healthprep_desktop.ui.day_print import DayPrintDialog, print_day
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from tests.screening.demo_day import DEMO_DAY, demo_contexts
from tests.ui.conftest import DAY, run, save_sheet

LP = """#!/bin/sh
# A PDF printer: keep the file CUPS would get, log the options.
echo "$@" >> "$PRINTED/args.log"
for last; do :; done
if [ -n "$REFUSE" ]; then echo "lp: The printer or class does not exist." >&2; exit 1; fi
n=$(ls "$PRINTED" | grep -c pdf)
cp "$last" "$PRINTED/job-$n.pdf"
echo "request id is PDF-$n (1 file(s))"
"""


@pytest.fixture
def printer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    printed = tmp_path / "printed"
    printed.mkdir()
    script = tmp_path / "lp"
    script.write_text(LP)
    script.chmod(0o755)
    monkeypatch.setenv("HEALTHPREP_LP", str(script))
    monkeypatch.setenv("PRINTED", str(printed))
    return printed


@pytest.fixture(scope="module")
def pdfs() -> list[tuple[str, bytes]]:
    return [(c.record.patient["id"], render_sheet(c)) for c in demo_contexts(limit=8)]


def _dialog(qtbot: QtBot, session: AppSession, pdfs: list[tuple[str, bytes]]) -> DayPrintDialog:
    scope = session.scope
    ids = [scope.sheets.save(pid, DEMO_DAY, pdf, {"format": 1}).id for pid, pdf in pdfs]
    dialog = print_day(None, scope, ids, DEMO_DAY)
    qtbot.addWidget(dialog)
    return dialog


def test_print_one_provider_hands_the_pdf_to_the_print_system(
    qtbot: QtBot, session: AppSession, pdfs: list[tuple[str, bytes]], printer: Path
) -> None:
    dialog = _dialog(qtbot, session, pdfs)
    assert dialog.provider.count() >= 2  # the first eight visits span several providers
    name = str(dialog.provider.itemData(1))
    dialog.provider.setCurrentIndex(1)
    assert dialog.one_provider.isChecked()
    dialog.duplex.setChecked(True)
    assert dialog.print_to("Office-PDF")
    jobs = sorted(printer.glob("job-*.pdf"))
    assert len(jobs) == 1
    args = (printer / "args.log").read_text()
    assert "-d Office-PDF" in args and "sides=two-sided-long-edge" in args
    with pymupdf.open(jobs[0]) as doc:
        assert doc.page_count % 2 == 0
        assert f"Huddle list: {name}" in doc[0].get_text()
        patients = [entry for entry in doc.get_toc() if entry[0] == 2]
        assert dialog.last is not None and len(patients) == dialog.last.patients >= 1
        assert not any(page.get_images() for page in doc)  # vector, not page images
    spool = [p for p in Path(os.environ["HEALTHPREP_HOME"]).rglob("print-*.pdf")]
    assert spool == []  # the private copy is gone once lp has it
    entry = next(e for e in session.scope.audit_entries() if e.action == AuditAction.PRINT)
    assert entry.outcome == Outcome.SUCCESS and "handed to the print system" in entry.detail


def test_selection_cancel_and_refusal(
    qtbot: QtBot,
    session: AppSession,
    pdfs: list[tuple[str, bytes]],
    printer: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dialog = _dialog(qtbot, session, pdfs)
    for row in (0, 2):
        dialog.patients.item(row).setCheckState(Qt.CheckState.Checked)
    assert dialog.chosen.isChecked()
    built = dialog.build()
    assert built is not None and built.patients == 2
    saved = tmp_path / "day.pdf"
    assert dialog.save_to(saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # Cancel while it is being put together: nothing reaches the printer.
    dialog.everyone.setChecked(True)
    QTimer.singleShot(0, lambda: dialog.progress.cancel() if dialog.progress else None)
    assert not dialog.print_to(None)
    assert "cancelled" in dialog.status.text() and not list(printer.glob("job-*.pdf"))
    # A refusing printer: one sentence, audited as a failure.
    monkeypatch.setenv("REFUSE", "1")
    assert not dialog.print_to("Nowhere")
    assert dialog.status.text() == (
        "The printer refused the job: lp: The printer or class does not exist."
    )
    failed = [e for e in session.scope.audit_entries() if e.outcome == Outcome.FAILURE]
    assert failed and failed[0].action == AuditAction.PRINT


def test_the_windows_print_day_action_opens_the_dialog(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    for pid in ("p1", "p2", "p3"):
        save_sheet(session.scope, pid)
    window = MainWindow(session, today=DAY - timedelta(days=1), settings=window_settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    window.print_day_action.trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(DayPrintDialog)))
    dialog = window.findChildren(DayPrintDialog)[0]
    assert len(dialog.day_sheets) == 3
    built = dialog.build()
    assert built is not None and built.patients == 3
    dialog.close()
    window.close()
    run(qtbot, window.shutdown())
