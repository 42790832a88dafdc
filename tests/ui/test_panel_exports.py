"""The Panel view's export buttons write real files through the export package, off the GUI
thread, and say what they wrote in one sentence."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.panel_view import PanelView
from healthprep_desktop.ui.session import AppSession
from tests.ui.panel_fixtures import NAMES, PATIENTS, fill_panel


@pytest.fixture
def view(qtbot: QtBot, session: AppSession, tmp_path: Path) -> Iterator[PanelView]:
    fill_panel(session.scope)
    w = PanelView(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.overview is not None and w.export_bar.buttons["csv"].isEnabled())
    w.export_bar.set_folder(tmp_path / "exports")
    yield w


def _export(qtbot: QtBot, view: PanelView, kind: str) -> object:
    bar = view.export_bar
    with qtbot.waitSignal(bar.finished, timeout=30_000) as done:
        qtbot.mouseClick(bar.buttons[kind], Qt.MouseButton.LeftButton)
    assert done.args is not None and done.args[0] == kind
    return done.args[1]


def test_csv_and_parquet_hold_every_row(qtbot: QtBot, view: PanelView, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    said = _export(qtbot, view, "csv")
    assert said == (f"Wrote results.csv ({2 * PATIENTS} rows for {PATIENTS} patients) in {folder}.")
    assert view.export_bar.result.text() == said
    path = folder / "results.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * PATIENTS
    assert {r["patient_id"] for r in rows} == {f"p{n:02d}" for n in range(PATIENTS)}
    _export(qtbot, view, "parquet")
    table = pq.read_table(folder / "results.parquet")
    assert table.num_rows == len(rows)
    entries = view.session.scope.audit_entries()
    assert sum(e.action == AuditAction.EXPORT for e in entries) == 2


def test_deidentified_summary_and_completeness(
    qtbot: QtBot, view: PanelView, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    said = str(_export(qtbot, view, "deidentified"))
    assert said.startswith("Wrote deidentified-results.csv") and "deidentification.json" in said
    text = (folder / "deidentified-results.csv").read_text(encoding="utf-8")
    for given, family in NAMES.values():
        assert given not in text and family not in text
    assert "p00" not in text
    said = str(_export(qtbot, view, "summary"))
    assert "summary-status.csv" in said and "summary-measures.csv" in said
    with (folder / "summary-status.csv").open(newline="", encoding="utf-8") as fh:
        counts = {(r["screening_id"], r["status"]): int(r["patients"]) for r in csv.DictReader(fh)}
    # The file and the view count the same panel the same way.
    overview = view.overview
    assert overview is not None
    assert counts == {
        (sid, status): n
        for sid, by_status in overview.status_counts.items()
        for status, n in by_status.items()
    }
    said = str(_export(qtbot, view, "completeness"))
    assert "completeness.csv" in said and (folder / "completeness.csv").exists()


def test_a_folder_that_cannot_be_written_gets_one_sentence(
    qtbot: QtBot, view: PanelView, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    view.export_bar.set_folder(blocker)
    outcome = _export(qtbot, view, "csv")
    assert isinstance(outcome, OSError)
    message = view.export_bar.result.text()
    assert message == (
        f"The operating system refused while writing the export to {blocker}: not a folder "
        f"({blocker})."
    )
    assert "Traceback" not in message
    assert view.export_bar.buttons["csv"].isEnabled()  # ready to try again
