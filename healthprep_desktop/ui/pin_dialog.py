"""Choose the unlock PIN on a workstation whose store predates PINs (first run asks for it on
new ones): until one is set, the idle lock of a keyring store cannot ask for a credential."""

from __future__ import annotations

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

from healthprep_desktop import APP_NAME
from healthprep_desktop.store import Store
from healthprep_desktop.ui.unlock_pin import MIN_PIN, has_pin, pin_problem, set_pin
from healthprep_desktop.ui.window_fit import fit_to_screen


def needs_pin(store: Store) -> bool:
    return not store.uses_passphrase and not has_pin(store)


class PinDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(f"{APP_NAME}: choose an unlock PIN")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "HealthPrep Desktop locks itself when left idle. Choose a PIN to unlock it: "
            "without one, anyone at this workstation can unlock it with one click."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(intro)
        form = QFormLayout()
        self.pin = QLineEdit()
        self.pin.setObjectName("pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(f"at least {MIN_PIN} characters")
        self.confirm = QLineEdit()
        self.confirm.setObjectName("pinConfirm")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Unlock PIN:", self.pin)
        form.addRow("Confirm PIN:", self.confirm)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        later = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        if later is not None:
            later.setText("Later")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        fit_to_screen(self, 520, 240)

    def accept(self) -> None:
        problem = pin_problem(self.pin.text(), self.confirm.text())
        if problem:
            self.error.setText(problem)
            self.pin.setFocus()
            return
        set_pin(self.store, self.pin.text())
        self.pin.clear()
        self.confirm.clear()
        super().accept()


def ask_for_pin_if_missing(store: Store, parent: QWidget | None = None) -> bool:
    """Ask once per start while no PIN is set; True when one is set now."""
    if not needs_pin(store):
        return False
    return PinDialog(store, parent).exec() == QDialog.DialogCode.Accepted
