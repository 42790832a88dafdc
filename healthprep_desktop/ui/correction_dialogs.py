"""The dialogs behind the viewer's corrections: dismiss a document match (the matched sentence
in context, the document one click away, canned reasons plus free text) and mark a screening
done elsewhere / declined / postponed until a date.

Each dialog only gathers the answer; corrections.py records it.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.store import EntryKind
from healthprep_desktop.store.repos.screening_entries import ScreeningEntry
from healthprep_desktop.ui.corrections import (
    CANNED_REASONS,
    ENTRY_LABELS,
    OTHER_REASON,
    StoredDocument,
    context_of,
    reason_text,
)
from healthprep_desktop.ui.window_fit import fit_to_screen

ERROR_STYLE = "color: #d1242f;"


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class DocumentDialog(QDialog):
    """The document's extracted text, read-only, with the matched sentence highlighted."""

    def __init__(
        self, document: StoredDocument, snippet: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{document.title} · {document.day or 'no date'}")
        layout = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setObjectName("documentText")
        self.text.setPlainText(document.text)
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        fit_to_screen(self, 760, 640)
        if snippet.strip():
            self.highlight(snippet.strip())

    def highlight(self, snippet: str) -> bool:
        found = self.text.document().find(snippet, 0, QTextDocument.FindFlag(0))
        if found.isNull():
            return False
        marked = QTextCharFormat()
        marked.setBackground(Qt.GlobalColor.yellow)
        marked.setForeground(Qt.GlobalColor.black)
        found.mergeCharFormat(marked)
        cursor = QTextCursor(found)
        self.text.setTextCursor(cursor)
        self.text.ensureCursorVisible()
        return True


class DismissDialog(QDialog):
    """Why a document does not show the screening; shows what matched first."""

    def __init__(
        self,
        screening: str,
        description: str,
        snippet: str,
        document: StoredDocument | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.snippet = snippet
        self.setWindowTitle("Dismiss match")
        layout = QVBoxLayout(self)
        heading = QLabel(f"{description}\ncounted for: {screening}")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(QLabel("What matched, in context:"))
        self.context = QPlainTextEdit()
        self.context.setObjectName("matchContext")
        self.context.setReadOnly(True)
        context = context_of(snippet, document.text) if document else snippet
        self.context.setPlainText(context or "No matched text was kept for this match.")
        self.context.setMinimumHeight(90)
        layout.addWidget(self.context, 1)
        self.open_button = QPushButton("&Open the document…")
        self.open_button.setObjectName("openDocument")
        self.open_button.setEnabled(document is not None)
        if document is None:
            self.open_button.setToolTip("The document's text is not stored on this computer")
        self.open_button.clicked.connect(self.open_document)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        form = QFormLayout()
        self.reason = QComboBox()
        self.reason.setObjectName("dismissReason")
        self.reason.addItems([*CANNED_REASONS, OTHER_REASON])
        form.addRow("&Reason:", self.reason)
        self.note = QLineEdit()
        self.note.setObjectName("dismissNote")
        self.note.setPlaceholderText("More detail (needed for Other)")
        form.addRow("&Detail:", self.note)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("Dismiss match")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.viewer: DocumentDialog | None = None
        fit_to_screen(self, 620, 460)

    def reason_given(self) -> str:
        return reason_text(self.reason.currentText(), self.note.text())

    def accept(self) -> None:
        if not self.reason_given():
            self.error.setText("Say why the match is wrong.")
            self.note.setFocus()
            return
        super().accept()

    def open_document(self) -> None:
        if self.document is None:
            return
        self.viewer = DocumentDialog(self.document, self.snippet, self)
        self.viewer.show()


class EntryDialog(QDialog):
    """Done elsewhere (when), declined (when, optional), or postponed until (a date)."""

    def __init__(
        self,
        screening: str,
        existing: ScreeningEntry | None = None,
        *,
        today: date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        today = today or date.today()
        self.setWindowTitle(f"Mark screening · {screening}")
        layout = QVBoxLayout(self)
        self.kinds = QButtonGroup(self)
        self.radios: dict[EntryKind, QRadioButton] = {}
        for kind, label in ENTRY_LABELS.items():
            radio = QRadioButton(label)
            radio.setObjectName(f"entry_{kind.value}")
            self.kinds.addButton(radio)
            self.radios[kind] = radio
            layout.addWidget(radio)
        form = QFormLayout()
        self.on_date = QDateEdit(_qdate(today))
        self.on_date.setCalendarPopup(True)
        self.on_date.setDisplayFormat("yyyy-MM-dd")
        self.on_date.setMaximumDate(_qdate(today))
        self.until_date = QDateEdit(_qdate(today + timedelta(days=90)))
        self.until_date.setCalendarPopup(True)
        self.until_date.setDisplayFormat("yyyy-MM-dd")
        self.until_date.setMinimumDate(_qdate(today + timedelta(days=1)))
        self.note = QLineEdit()
        self.note.setPlaceholderText("e.g. where it was done")
        form.addRow("&When:", self.on_date)
        form.addRow("&Until:", self.until_date)
        form.addRow("&Note:", self.note)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kinds.buttonToggled.connect(lambda *_: self._kind_changed())
        chosen = existing.kind if existing else EntryKind.DONE_ELSEWHERE
        self.radios[chosen].setChecked(True)
        if existing is not None:
            if existing.on_date:
                self.on_date.setDate(_qdate(existing.on_date))
            if existing.until_date:
                self.until_date.setDate(_qdate(existing.until_date))
            self.note.setText(existing.note)
        self._kind_changed()
        fit_to_screen(self, 460, 300)

    def kind(self) -> EntryKind:
        for kind, radio in self.radios.items():
            if radio.isChecked():
                return kind
        return EntryKind.DONE_ELSEWHERE

    def _kind_changed(self) -> None:
        kind = self.kind()
        self.on_date.setEnabled(kind is not EntryKind.POSTPONED)
        self.until_date.setEnabled(kind is EntryKind.POSTPONED)

    def values(self) -> tuple[EntryKind, date | None, date | None, str]:
        kind = self.kind()
        on = _pydate(self.on_date.date()) if kind is not EntryKind.POSTPONED else None
        until = _pydate(self.until_date.date()) if kind is EntryKind.POSTPONED else None
        return kind, on, until, self.note.text().strip()
