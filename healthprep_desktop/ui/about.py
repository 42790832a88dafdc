"""The About dialog and the version facts it shows (also useful in a support request)."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from healthprep_desktop import APP_NAME, __version__, paths


@dataclass(frozen=True, slots=True)
class VersionFacts:
    app: str
    python: str
    qt: str
    pyside: str
    sqlcipher: str
    tesseract: str
    data_dir: str

    def rows(self) -> list[tuple[str, str]]:
        return [
            (APP_NAME, self.app),
            ("Python", self.python),
            ("Qt", self.qt),
            ("PySide6", self.pyside),
            ("SQLCipher", self.sqlcipher),
            ("OCR (tesseract)", self.tesseract),
            ("Data folder", self.data_dir),
        ]


def _sqlcipher_version() -> str:
    try:
        import sqlcipher3

        connection = sqlcipher3.connect(":memory:")
        try:
            row = connection.execute("PRAGMA cipher_version").fetchone()
        finally:
            connection.close()
        cipher = str(row[0]) if row else "unknown"
        return f"{cipher} (SQLite {sqlcipher3.sqlite_version})"
    except Exception as exc:  # the About box must open even with a broken install
        return f"unavailable ({type(exc).__name__})"


def _tesseract() -> str:
    from healthprep_desktop.screening.ocr import find_tesseract

    found = find_tesseract()
    return f"available ({found})" if found else "not installed: scanned documents are not read"


def collect() -> VersionFacts:
    return VersionFacts(
        app=__version__,
        python=f"{platform.python_version()} ({sys.platform})",
        qt=qVersion(),
        pyside=PySide6.__version__,
        sqlcipher=_sqlcipher_version(),
        tesseract=_tesseract(),
        data_dir=str(paths.data_dir()),
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, facts: VersionFacts | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.facts = facts or collect()
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>{APP_NAME}</h2><p>Pre-visit preparation for clinics.</p>")
        layout.addWidget(title)
        form = QFormLayout()
        for label, value in self.facts.rows():
            cell = QLabel(value)
            cell.setTextInteractionFlags(cell.textInteractionFlags() | _selectable())
            form.addRow(label + ":", cell)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


def _selectable() -> PySide6.QtCore.Qt.TextInteractionFlag:
    return PySide6.QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
