"""Opening the encrypted store: from the keyring, or with a passphrase where no keyring works.

``open_store`` is the whole flow; how a passphrase is asked is injected (the dialog by default),
so the flow is testable without a modal loop. A wrong passphrase is explained and asked again;
a keyring key that does not open the database is fatal (the message says what to do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop import APP_NAME, paths
from healthprep_desktop.store import (
    KeyringUnavailableError,
    PassphraseRequiredError,
    Store,
    WrongKeyError,
)

log = logging.getLogger(__name__)

MIN_PASSPHRASE = 10  # a shared workstation: the passphrase is all that guards the PHI at rest
# Plain words for the user; the keyring's technical detail (backend class names) goes to the log.
NO_KEYRING = (
    "This computer has no secure system keyring to keep the database key, so a passphrase "
    "protects the patient data instead."
)
NO_KEYRING_EXISTING = (
    "This computer's system keyring is not available, so the database opens with its "
    "passphrase: enter the passphrase it was created with."
)
EXISTING_DB_PROMPT = (
    "The database is protected by a passphrase: enter it to open HealthPrep Desktop."
)
DIALOG_WIDTH = 520  # wide enough that the explanations wrap into a few readable lines


@dataclass(frozen=True, slots=True)
class PassphraseRequest:
    create: bool  # a new database: ask twice
    explanation: str  # why a passphrase is needed (shown above the fields)
    error: str = ""  # the previous attempt's problem, e.g. a wrong passphrase


# Returns the passphrase, or None when the user cancels.
AskPassphrase = Callable[[PassphraseRequest], str | None]


def validate_new_passphrase(first: str, second: str) -> str | None:
    """The problem with a new passphrase, or None when it is acceptable."""
    if len(first) < MIN_PASSPHRASE:
        return f"Use at least {MIN_PASSPHRASE} characters."
    if first != second:
        return "The two passphrases differ. Type the same passphrase twice."
    if "\x00" in first:
        return "The passphrase contains a character that cannot be used."
    return None


class PassphraseDialog(QDialog):
    def __init__(self, request: PassphraseRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle(
            f"{APP_NAME}: choose a passphrase" if request.create else f"{APP_NAME}: unlock"
        )
        self.setMinimumWidth(DIALOG_WIDTH)
        layout = QVBoxLayout(self)
        explanation = QLabel(request.explanation)
        explanation.setObjectName("explanation")
        explanation.setTextFormat(Qt.TextFormat.PlainText)
        explanation.setWordWrap(True)
        layout.addWidget(explanation)
        if request.create:
            hint = QLabel(
                "There is no way to recover the data without it: keep it where your clinic "
                "keeps its other credentials."
            )
            hint.setWordWrap(True)
            layout.addWidget(hint)
        form = QFormLayout()
        self.first = QLineEdit()
        self.first.setEchoMode(QLineEdit.EchoMode.Password)
        self.first.setObjectName("passphrase")
        form.addRow("Passphrase:", self.first)
        self.second = QLineEdit()
        self.second.setEchoMode(QLineEdit.EchoMode.Password)
        self.second.setObjectName("confirm")
        if request.create:
            form.addRow("Confirm:", self.second)
        layout.addLayout(form)
        self.error = QLabel(request.error)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        self.error.setVisible(bool(request.error))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.first.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def accept(self) -> None:
        if self.request.create:
            problem = validate_new_passphrase(self.first.text(), self.second.text())
        else:
            problem = None if self.first.text() else "Enter the passphrase."
        if problem:
            self.show_error(problem)
            return
        super().accept()

    def passphrase(self) -> str:
        return self.first.text()


def ask_with_dialog(parent: QWidget | None = None) -> AskPassphrase:
    def ask(request: PassphraseRequest) -> str | None:
        dialog = PassphraseDialog(request, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.passphrase()

    return ask


class StoreOpenError(Exception):
    """The store cannot be opened and asking again will not help (message for the user)."""


def open_store(ask: AskPassphrase, *, path: Path | None = None) -> Store | None:
    """Open or create the store. None when the user cancelled; StoreOpenError when it cannot
    be opened at all."""
    path = path if path is not None else paths.database_path()
    try:
        return Store.open(path)
    except KeyringUnavailableError as exc:
        log.info("no usable keyring: %s", exc)
        exists = path.exists() and path.stat().st_size > 0
        explanation = NO_KEYRING_EXISTING if exists else NO_KEYRING
        return _with_passphrase(ask, path, create=not exists, explanation=explanation)
    except PassphraseRequiredError:
        return _with_passphrase(ask, path, create=False, explanation=EXISTING_DB_PROMPT)
    except WrongKeyError as exc:
        raise StoreOpenError(str(exc)) from None


def _with_passphrase(
    ask: AskPassphrase, path: Path, *, create: bool, explanation: str
) -> Store | None:
    error = ""
    while True:
        answer = ask(PassphraseRequest(create=create, explanation=explanation, error=error))
        if answer is None:
            return None
        try:
            return Store.open(path, passphrase=answer)
        except WrongKeyError as exc:
            error = str(exc)
        except ValueError as exc:  # empty or NUL: DatabaseKey refuses it
            error = f"That passphrase cannot be used: {exc}."


def verify_unlock(store: Store, passphrase: str | None) -> bool:
    """Whether ``passphrase`` (or, for a keyring store, the keyring) still opens the database.

    Opens a second connection and closes it: blocking (a KDF run for a passphrase), so callers
    run it in a thread.
    """
    try:
        if store.uses_passphrase:
            if not passphrase:
                return False
            Store.open(store.path, passphrase=passphrase, create=False).close()
        else:
            Store.open(store.path, create=False).close()
    except (WrongKeyError, KeyringUnavailableError, PassphraseRequiredError, ValueError):
        return False
    return True
