"""First run: name the first clinic, choose the unlock PIN, then connect to the EHR or try the
demo clinic.

The PIN is asked when the database key lives in the OS keyring: the keyring opens with the OS
session, so on a shared, logged-in workstation only the PIN keeps the idle lock closed (see
unlock_pin.py). A passphrase store unlocks with its passphrase and needs no PIN.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop import APP_NAME
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.unlock_pin import MIN_PIN, has_pin, pin_problem, set_pin

DIALOG_WIDTH = 560


class NextStep(StrEnum):
    CONNECT = "connect"  # open the connection settings
    DEMO = "demo"  # start the demo clinic
    LATER = "later"


class FirstRunDialog(QDialog):
    """Creates the clinic (tenant) in the store when the user picks a next step."""

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.choice = NextStep.LATER
        self.setWindowTitle(f"Welcome to {APP_NAME}")
        self.setMinimumWidth(DIALOG_WIDTH)
        store = session.store
        self.needs_pin = not store.uses_passphrase and not has_pin(store)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "<h3>Set up your clinic</h3>"
            "<p>HealthPrep Desktop keeps each clinic's connections, prep sheets and audit trail "
            "separately, encrypted on this computer. Name your clinic to begin.</p>"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("clinicName")
        self.name.setPlaceholderText("e.g. Main Street Family Practice")
        form.addRow("Clinic name:", self.name)
        self.pin = QLineEdit()
        self.pin.setObjectName("pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(f"at least {MIN_PIN} characters")
        self.pin_confirm = QLineEdit()
        self.pin_confirm.setObjectName("pinConfirm")
        self.pin_confirm.setEchoMode(QLineEdit.EchoMode.Password)
        if self.needs_pin:
            pin_note = QLabel(
                "Choose a PIN for this workstation. HealthPrep Desktop locks itself when left "
                "idle, and this PIN unlocks it. It is kept only as a salted hash."
            )
            pin_note.setWordWrap(True)
            form.addRow(pin_note)
            form.addRow("Unlock PIN:", self.pin)
            form.addRow("Confirm PIN:", self.pin_confirm)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.connect_button = QPushButton("&Connect to your EHR…")
        self.connect_button.setToolTip("Set up the clinic's SMART on FHIR connection (admin)")
        self.demo_button = QPushButton("Try the &demo clinic")
        self.demo_button.setToolTip(
            "Starts a synthetic clinic on this computer and signs in to it: no real patients"
        )
        self.later_button = QPushButton("&Later")
        self.connect_button.setDefault(True)
        for button, step in (
            (self.connect_button, NextStep.CONNECT),
            (self.demo_button, NextStep.DEMO),
            (self.later_button, NextStep.LATER),
        ):
            button.clicked.connect(lambda _=False, s=step: self.choose(s))
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def choose(self, step: NextStep) -> None:
        name = self.name.text()
        if step is NextStep.DEMO and not name.strip():
            name = "Demo clinic"
        if self.needs_pin:
            problem = pin_problem(self.pin.text(), self.pin_confirm.text())
            if problem:
                self.error.setText(problem)
                self.error.show()
                self.pin.setFocus()
                return
        try:
            self.session.create_tenant(name)
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.name.setFocus()
            return
        if self.needs_pin:
            set_pin(self.session.store, self.pin.text())
            self.needs_pin = False
            self.pin.clear()
            self.pin_confirm.clear()
        self.choice = step
        self.accept()
