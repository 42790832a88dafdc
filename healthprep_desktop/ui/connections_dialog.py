"""Admin: the clinic's EHR connections. List, add, edit, remove; vendor presets; endpoint
directory import; Test connection; Connect / Re-authenticate (cancellable); live status.

Connections and their secrets live in the encrypted store; every change is audited
(``connection_change``, the connection's name only).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.diagnose import FAILED, OK, Diagnosis, check_connection
from healthprep_desktop.fhir.directory import DirectoryEntry, load_directory, search_directory
from healthprep_desktop.fhir.errors import LoginCancelled
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store, config_from_store
from healthprep_desktop.store import AuditAction, Connection
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.connection_form import SECRET_KINDS, ConnectionForm
from healthprep_desktop.ui.login import UrlOpener, sign_in
from healthprep_desktop.ui.session import AppSession, StatusRelay, describe_error

_MARK = {OK: "✔", FAILED: "✘"}


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"


def status_lines(status: ConnectionStatus | None) -> list[str]:
    if status is None:
        return ["Not opened yet."]
    lines = ["Connected" if status.is_connected else "Not connected"]
    if status.token_expiry:
        lines.append(f"Sign-in valid until {_when(status.token_expiry)}")
    lines.append(f"Last sync: {_when(status.last_sync)}")
    if status.user:
        lines.append(f"Signed in as {status.user}")
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
        from PySide6.QtWidgets import QLineEdit

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
        self.resize(640, 480)
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


class ConnectionsDialog(QDialog):
    saved = Signal(int)  # connection id
    tested = Signal(object)  # Diagnosis or the exception
    signed_in = Signal(object)  # TokenSet or the exception

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.scope = session.scope
        self.setWindowTitle(f"Connections · {self.scope.tenant.name}")
        self.current_id: int | None = None
        self._busy: asyncio.Task[Any] | None = None
        self._relay = StatusRelay(self)
        self._relay.changed.connect(lambda _s: self._show_status())
        self._dirty = False
        # How the sign-in URL is opened; None = by connection (the browser, or in-process for
        # the demo sandbox). Tests and embedders may set it.
        self.opener: UrlOpener | None = None

        self.list = QListWidget()
        self.list.setObjectName("connectionList")
        self.list.currentItemChanged.connect(self._selected)
        add = QPushButton("&Add")
        add.setObjectName("addConnection")
        add.clicked.connect(self.new_connection)
        self.remove_button = QPushButton("&Remove…")
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        directory = QPushButton("Import &directory…")
        directory.setToolTip("Pick the EHR endpoint from a vendor's published directory")
        directory.clicked.connect(self._import_directory_clicked)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(self.remove_button)
        left_layout.addLayout(row)
        left_layout.addWidget(directory)

        self.form = ConnectionForm()
        self.form.changed.connect(self._form_changed)
        self.errors = QLabel()
        self.errors.setTextFormat(Qt.TextFormat.PlainText)
        self.errors.setObjectName("connErrors")
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #d1242f;")
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("saveConnection")
        self.save_button.clicked.connect(lambda: self.save())
        self.test_button = QPushButton("&Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(lambda: self.test())
        self.connect_button = QPushButton("&Connect")
        self.connect_button.setObjectName("connect")
        self.connect_button.clicked.connect(lambda: self.connect_now())
        self.cancel_button = QPushButton("Cancel sign-in")
        self.cancel_button.setObjectName("cancelLogin")
        self.cancel_button.clicked.connect(self.cancel_login)
        self.cancel_button.hide()
        self.disconnect_button = QPushButton("Sign &out")
        self.disconnect_button.clicked.connect(self.sign_out)
        self.jwks_button = QPushButton("Copy public key (JWKS)")
        self.jwks_button.setToolTip("Register this with the EHR for Backend Services")
        self.jwks_button.clicked.connect(self.copy_jwks)
        actions = QHBoxLayout()
        for button in (
            self.save_button,
            self.test_button,
            self.connect_button,
            self.cancel_button,
            self.disconnect_button,
            self.jwks_button,
        ):
            actions.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.progress_label = QLabel()
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)  # may carry EHR text
        self.progress_label.setObjectName("connProgress")
        self.progress_label.setWordWrap(True)
        status_box = QGroupBox("Status")
        status_layout = QVBoxLayout(status_box)
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setObjectName("connStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checks_label = QLabel()
        self.checks_label.setTextFormat(Qt.TextFormat.PlainText)
        self.checks_label.setObjectName("connChecks")
        self.checks_label.setWordWrap(True)
        status_layout.addWidget(self.status_label)
        status_layout.addWidget(self.checks_label)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.form)
        right_layout.addWidget(self.errors)
        right_layout.addLayout(actions)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.progress_label)
        right_layout.addWidget(status_box)
        right_layout.addStretch(1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(960, 640)
        self.refresh_list()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_connection()

    # List -------------------------------------------------------------------------------

    def refresh_list(self, select: int | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for connection in self.scope.connections.all():
            live = self.session.live_connection(connection.id)
            state = "connected" if live is not None and live.status.is_connected else ""
            label = connection.name + ("" if connection.enabled else " (off)")
            item = QListWidgetItem(f"{label}{'  · ' + state if state else ''}")
            item.setData(Qt.ItemDataRole.UserRole, connection.id)
            self.list.addItem(item)
            if connection.id == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _selected(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is None:
            return
        connection = self.scope.connections.get(int(item.data(Qt.ItemDataRole.UserRole)))
        if connection is not None:
            self._load(connection)

    def _load(self, connection: Connection) -> None:
        self.current_id = connection.id
        config = config_from_store(connection)
        kind = SECRET_KINDS.get(config.auth_method)
        stored = kind is not None and kind in self.scope.secrets.names(connection.id)
        self.form.load(config, secret_stored=stored, priority=connection.priority)
        self._dirty = False
        self.errors.clear()
        self.checks_label.clear()
        self._relay.watch(self.session.live_connection(connection.id))
        self._show_status()

    def new_connection(self) -> None:
        self.current_id = None
        self.list.clearSelection()
        self.form.clear()
        self._dirty = True
        self._relay.unwatch()
        self.errors.clear()
        self.checks_label.clear()
        self._show_status()
        self.form.name.setFocus()

    def _form_changed(self) -> None:
        self._dirty = True
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self._busy is not None and not self._busy.done()
        method = self.form.method
        self.save_button.setEnabled(not busy)
        self.test_button.setEnabled(not busy)
        self.connect_button.setVisible(method.is_smart and not busy)
        self.cancel_button.setVisible(busy and method.is_interactive)
        live = self.session.live_connection(self.current_id) if self.current_id else None
        connected = live is not None and live.status.is_connected
        self.connect_button.setText("&Re-authenticate" if connected else "&Connect")
        self.disconnect_button.setVisible(connected and method.is_smart and not busy)
        self.jwks_button.setVisible(method is AuthMethod.SMART_BACKEND_SERVICES)
        self.remove_button.setEnabled(self.current_id is not None and not busy)

    def _show_status(self) -> None:
        live = self.session.live_connection(self.current_id) if self.current_id else None
        if self.current_id is None:
            self.status_label.setText("New connection: save it to test and connect.")
        else:
            self.status_label.setText("\n".join(status_lines(live.status if live else None)))
        self._update_buttons()

    # Save and remove --------------------------------------------------------------------

    def save(self) -> int | None:
        """Validate and store; return the connection id (None when the form has problems)."""
        taken = {c.name for c in self.scope.connections.all() if c.id != self.current_id}
        values = self.form.values(taken_names=taken)
        if values.errors:
            self.errors.setText("\n".join(values.errors))
            return None
        self.errors.clear()
        config = values.config
        store = self.session.store
        with store.transaction():
            if self.current_id is None:
                created = self.scope.connections.add(
                    config.name,
                    config.vendor.value,
                    config.base_url,
                    config=config_for_store(config),
                    enabled=config.enabled,
                    priority=config.priority,
                )
                self.current_id = created.id
                what = "added"
            else:
                self.scope.connections.update(
                    self.current_id,
                    name=config.name,
                    vendor=config.vendor.value,
                    base_url=config.base_url,
                    config=config_for_store(config),
                    enabled=config.enabled,
                    priority=config.priority,
                )
                what = "edited"
            kind = SECRET_KINDS.get(config.auth_method)
            if kind is not None and values.secret:
                # The secret goes to the encrypted store under the connection; never shown back.
                StoreSecrets(store).set(config.secret_key(self.scope.id, kind), values.secret)
            self.scope.audit(
                AuditAction.CONNECTION_CHANGE,
                detail=f"{what}: {config.name}",
                ehr_user=self.session.ehr_user(),
            )
        connection_id = self.current_id
        self._dirty = False
        # The live object holds the old settings: reopen on next use.
        self._close_live(connection_id)
        self.refresh_list(select=connection_id)
        saved = self.scope.connections.get(connection_id)
        if saved is not None:
            self._load(saved)
        self.saved.emit(connection_id)
        return connection_id

    def _close_live(self, connection_id: int) -> None:
        live = self.session.drop_connection(connection_id)
        if live is not None:
            tasks.start(live.aclose(), name="close-connection")

    def remove_selected(self, *, confirm: bool = True) -> bool:
        if self.current_id is None:
            return False
        connection = self.scope.connections.get(self.current_id)
        if connection is None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self,
                "Remove connection",
                f"Remove {connection.name}? Its stored sign-in and secrets are deleted; prepared "
                "sheets are kept.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        connection_id = connection.id
        self._close_live(connection_id)
        with self.session.store.transaction():
            self.scope.connections.remove(connection_id)
            self.scope.audit(
                AuditAction.CONNECTION_CHANGE,
                detail=f"removed: {connection.name}",
                ehr_user=self.session.ehr_user(),
            )
        self.refresh_list()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_connection()
        return True

    # Test, connect, disconnect ----------------------------------------------------------

    def _saved_first(self) -> int | None:
        if self._dirty or self.current_id is None:
            return self.save()
        return self.current_id

    def _run(self, label: str, coro: Any, done: Any, failed: Any) -> None:
        self.progress.show()
        self.progress_label.setText(label)
        self._busy = tasks.start(coro, on_done=done, on_error=failed, name=label, owner=self)
        self._update_buttons()

    def _finish_busy(self, text: str) -> None:
        self.progress.hide()
        self.progress_label.setText(text)
        self._busy = None
        self._show_status()
        self.refresh_list(select=self.current_id)

    def test(self) -> None:
        connection_id = self._saved_first()
        if connection_id is None:
            return
        self.checks_label.clear()
        self._run(
            "Testing the connection…", self._test(connection_id), self._tested, self._test_failed
        )

    async def _test(self, connection_id: int) -> Diagnosis:
        live = await self.session.open(connection_id)
        self._relay.watch(live)
        return await check_connection(live)

    def _tested(self, diagnosis: Diagnosis) -> None:
        self.checks_label.setText(
            "\n".join(f"{_MARK.get(c.result, '–')} {c.message}" for c in diagnosis.checks)
        )
        self._finish_busy(diagnosis.summary())
        self.tested.emit(diagnosis)

    def _test_failed(self, exc: BaseException) -> None:
        self._finish_busy(f"The test could not run: {describe_error(exc)}")
        self.tested.emit(exc)

    def connect_now(self) -> None:
        connection_id = self._saved_first()
        if connection_id is None:
            return
        stored = self.scope.connections.get(connection_id)
        if stored is None:
            return
        waiting = (
            "Waiting for you to sign in in the browser window…"
            if self.form.method.is_interactive
            else "Requesting a token…"
        )
        self._run(
            waiting,
            self._sign_in(stored),
            self._connected,
            self._connect_failed,
        )

    async def _sign_in(self, stored: Connection) -> Any:
        live = await self.session.open(stored.id)
        self._relay.watch(live)
        return await sign_in(live, stored, opener=self.opener)

    def _connected(self, tokens: Any) -> None:
        self._finish_busy("Signed in.")
        self.signed_in.emit(tokens)

    def _connect_failed(self, exc: BaseException) -> None:
        if isinstance(exc, LoginCancelled):
            self._finish_busy("Sign-in cancelled.")
        else:
            self._finish_busy(f"Sign-in failed: {describe_error(exc)}")
        self.signed_in.emit(exc)

    def cancel_login(self) -> None:
        live = self.session.live_connection(self.current_id) if self.current_id else None
        if live is not None:
            live.cancel_login()

    def sign_out(self) -> None:
        live = self.session.live_connection(self.current_id) if self.current_id else None
        if live is not None:
            live.logout()
        self._show_status()
        self.refresh_list(select=self.current_id)

    def copy_jwks(self) -> None:
        connection_id = self._saved_first()
        if connection_id is not None:
            self._run(
                "Preparing the public key…",
                self._jwks(connection_id),
                self._copy_jwks,
                lambda exc: self._finish_busy(f"No key: {describe_error(exc)}"),
            )

    async def _jwks(self, connection_id: int) -> str:
        live = await self.session.open(connection_id)
        # Generating an RSA key takes a moment: a thread. Only the public half is shown.
        jwks = await asyncio.to_thread(lambda: live.backend_key().jwks())
        return json.dumps(jwks, indent=2)

    def _copy_jwks(self, jwks: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(jwks)
        self._finish_busy("Public key set (JWKS) copied: register it with the EHR.")

    # Endpoint directory -----------------------------------------------------------------

    def _import_directory_clicked(self) -> None:
        source, _ = QFileDialog.getOpenFileName(
            self, "Endpoint directory (FHIR Bundle)", "", "JSON (*.json);;All files (*)"
        )
        if not source:
            text, ok = QInputDialog.getText(
                self, "Endpoint directory", "Or the directory's web address (https://…):"
            )
            if not ok or not text.strip():
                return
            source = text.strip()
        self._run(
            "Reading the endpoint directory…",
            self.import_directory(source),
            lambda entries: self._pick_from_directory(entries),
            lambda exc: self._finish_busy(
                f"The directory could not be read: {describe_error(exc)}"
            ),
        )

    def _directory_failed(self, exc: BaseException) -> None:
        self._finish_busy(f"The directory could not be read: {describe_error(exc)}")

    async def import_directory(self, source: str | Path) -> list[DirectoryEntry]:
        return await load_directory(source)

    def _pick_from_directory(self, entries: list[DirectoryEntry]) -> None:
        self._finish_busy(f"{len(entries)} endpoints in the directory.")
        picker = DirectoryPicker(entries, self)
        if picker.exec() == QDialog.DialogCode.Accepted:
            entry = picker.chosen()
            if entry is not None:
                self.apply_directory_entry(entry)

    def apply_directory_entry(self, entry: DirectoryEntry) -> None:
        """Start a new connection for the chosen organization (vendor preset kept)."""
        vendor = self.form.vendor.currentIndex()
        self.new_connection()
        self.form.vendor.setCurrentIndex(vendor)
        self.form.name.setText(entry.organization)
        self.form.base_url.setText(entry.base_url)
        self._dirty = True

    def reject(self) -> None:
        if self._busy is not None and not self._busy.done():
            self.cancel_login()
        self._relay.unwatch()
        super().reject()
