"""The Panel view's export buttons: CSV, JSON, Parquet, De-identified, Summary, Completeness,
into a folder the user chooses, one sentence back when done.

The files are written by the export package (``ui.panel_exports`` calls it) in a worker
thread: a 20,000-patient panel takes seconds, and the window keeps answering. The folder is
remembered for the window's life only (never written anywhere: a path can name a patient's
case folder).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.panel_exports import ExportTarget, run_export
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.workers.private_files import environment_failure


@dataclass(frozen=True, slots=True)
class ExportKind:
    key: str  # what ``panel_exports.run_export`` is asked for
    text: str  # the button, with its mnemonic
    tip: str


KINDS: tuple[ExportKind, ...] = (
    ExportKind("csv", "CS&V", "One row per patient per screening, as CSV"),
    ExportKind("json", "&JSON", "One row per patient per screening, as JSON Lines"),
    ExportKind("parquet", "Pa&rquet", "One row per patient per screening, as Parquet"),
    ExportKind(
        "deidentified",
        "&De-identified",
        "The rows (CSV) without the 18 HIPAA identifiers (Safe Harbor), with a report of what "
        "was done",
    ),
    ExportKind(
        "summary",
        "S&ummary",
        "The rows (CSV), with patients per status per screening and per-measure populations",
    ),
    ExportKind(
        "completeness",
        "Comp&leteness",
        "The rows (CSV), with per resource type and source: how many patients have data, how "
        "recent",
    ),
)

# kind, target, folder, progress (patients written so far) -> one sentence
Runner = Callable[[str, ExportTarget, Path, Callable[[int], None]], str]
PROGRESS_EVERY = 250  # patients between progress notes (a note per patient floods the loop)


def _default_runner(
    kind: str, target: ExportTarget, folder: Path, progress: Callable[[int], None]
) -> str:
    return run_export(kind, target, folder, progress)


class ExportBar(QWidget):
    message = Signal(str)  # the sentence shown after an export (also in the result label)
    finished = Signal(str, object)  # kind, and the sentence or the exception
    progressed = Signal(int)  # patients written so far (emitted from the export's thread)

    def __init__(self, parent: QWidget | None = None, *, runner: Runner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panelExports")
        self._runner = runner or _default_runner
        self._target: ExportTarget | None = None
        self._busy = False
        self.folder: Path | None = None

        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Export:"))
        for kind in KINDS:
            button = QPushButton(kind.text)
            button.setObjectName(f"export-{kind.key}")
            button.setToolTip(f"{kind.tip}: the whole panel (the filters above do not apply)")
            button.clicked.connect(lambda _c=False, k=kind.key: self.export(k))
            self.buttons[kind.key] = button
            row.addWidget(button)
        row.addStretch(1)
        self.extra = row  # the view adds "Screen the whole panel" at the end

        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("exportFolder")
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText("Choose a folder to save exports in")
        self.folder_edit.setAccessibleName("Export folder")
        choose = QPushButton("C&hoose folder…")
        choose.setObjectName("chooseExportFolder")
        choose.clicked.connect(self.choose_folder)
        self.result = QLabel()
        self.result.setObjectName("exportResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progressed.connect(self._show_progress)
        where = QHBoxLayout()
        where.setContentsMargins(0, 0, 0, 0)
        where.addWidget(QLabel("Save in:"))
        where.addWidget(self.folder_edit, 2)
        where.addWidget(choose)
        where.addWidget(self.result, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(where)
        self._sync()

    def set_target(self, target: ExportTarget | None) -> None:
        self._target = target
        self._sync()

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        self.folder_edit.setText(str(folder))

    def choose_folder(self) -> bool:
        start = str(self.folder) if self.folder else str(Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Save exports in", start)
        if chosen:
            self.set_folder(Path(chosen))
        return bool(chosen)

    def _sync(self) -> None:
        for button in self.buttons.values():
            button.setEnabled(self._target is not None and not self._busy)

    def export(self, kind: str) -> None:
        target = self._target
        if target is None or self._busy:
            return
        if self.folder is None and not self.choose_folder():
            return
        folder = self.folder
        assert folder is not None
        self._busy = True
        self._sync()
        self.result.setText("Exporting…")
        tasks.start(
            asyncio.to_thread(self._runner, kind, target, folder, self._progress),
            on_done=lambda sentence: self._done(kind, sentence),
            on_error=lambda exc: self._failed(kind, exc),
            name=f"panel-export-{kind}",
            owner=self,
        )

    def _progress(self, patients: int) -> None:
        """Called in the export's thread: a queued signal to the window, now and then; never
        an error (a closed window must not break an export half-written)."""
        if patients % PROGRESS_EVERY or not shiboken6.isValid(self):
            return
        with contextlib.suppress(RuntimeError):
            self.progressed.emit(patients)

    def _show_progress(self, patients: int) -> None:
        if self._busy:
            self.result.setText(f"Exporting… {patients:,} patients written")

    def _done(self, kind: str, sentence: str) -> None:
        self._busy = False
        self._sync()
        self.result.setText(sentence)
        self.message.emit(sentence)
        self.finished.emit(kind, sentence)

    def _failed(self, kind: str, exc: BaseException) -> None:
        self._busy = False
        self._sync()
        if isinstance(exc, OSError):
            sentence = environment_failure(exc, f"writing the export to {self.folder}")
        else:
            sentence = f"The export did not finish: {describe_error(exc)}"
        self.result.setText(sentence)
        self.message.emit(sentence)
        self.finished.emit(kind, exc)


__all__ = ["KINDS", "ExportBar", "ExportKind", "ExportTarget", "Runner"]
