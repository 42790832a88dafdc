"""Pieces of the connections dialog (connections_dialog.py): the status text, the unsaved-edits
prompt, the endpoint directory picker, and the throwaway connection Test connection runs on (so
testing never saves anything).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.diagnose import FAILED, OK
from healthprep_desktop.fhir.directory import DirectoryEntry, search_directory
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.store import TenantScope
from healthprep_desktop.ui.connection_form import SECRET_KINDS, FormValues
from healthprep_desktop.ui.window_fit import fit_to_screen

MARK = {OK: "✔", FAILED: "✘"}
# Secrets a connection may hold, by kind (ConnectionConfig.secret_key names them).
_SECRET_KINDS_ALL = ("client_secret", "password", "api_key", "private_key")


class UnsavedChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


def ask_unsaved_with_box(parent: QWidget, name: str) -> UnsavedChoice:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to {name or 'the new connection'}?")
    box.setInformativeText("Your edits are lost if you do not save them.")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return UnsavedChoice.SAVE
    if answer == QMessageBox.StandardButton.Discard:
        return UnsavedChoice.DISCARD
    return UnsavedChoice.CANCEL


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"


def status_lines(status: ConnectionStatus | None, user_name: str | None = None) -> list[str]:
    """``user_name`` is the person's name (signed_in_user); the raw fhirUser is not shown."""
    if status is None:
        return ["Not opened yet."]
    lines = ["Connected" if status.is_connected else "Not connected"]
    if status.token_expiry:
        lines.append(f"Sign-in valid until {_when(status.token_expiry)}")
    lines.append(f"Last sync: {_when(status.last_sync)}")
    if status.is_connected and user_name:
        lines.append(f"Signed in as {user_name}")
    if status.last_error:
        lines.append(f"Last error: {status.last_error}")
    return lines


class DirectoryPicker(QDialog):
    """Pick an organization's endpoint from an imported directory (searchable)."""

    def __init__(self, entries: list[DirectoryEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Endpoint directory")
        self.entries = entries
        layout = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search organization or URL")
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        fit_to_screen(self, 640, 480)
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        for entry in search_directory(self.entries, text) if text else self.entries:
            item = QListWidgetItem(f"{entry.organization} — {entry.base_url}")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def chosen(self) -> DirectoryEntry | None:
        item = self.list.currentItem()
        data = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return data if isinstance(data, DirectoryEntry) else None


def draft_connection(
    scope: TenantScope, current_id: int | None, values: FormValues
) -> FhirConnection:
    """A throwaway connection on the form's settings: tokens in memory only, secrets from
    the form or else the stored connection's, nothing written to the store."""
    config: ConnectionConfig = values.config
    tenant = scope.id
    known: dict[str, str] = {}
    for kind in _SECRET_KINDS_ALL:
        stored = scope.secrets.get(current_id, kind) if current_id is not None else None
        if stored:
            known[config.secret_key(tenant, kind)] = stored
    typed_kind = SECRET_KINDS.get(config.auth_method)
    if typed_kind is not None and values.secret:
        known[config.secret_key(tenant, typed_kind)] = values.secret
    return FhirConnection(
        config, tenant=tenant, tokens=MemoryTokenStore(), secrets=MemorySecrets(known)
    )
