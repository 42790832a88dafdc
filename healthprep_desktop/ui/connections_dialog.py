"""Admin: the clinic's EHR connections. List, add, edit, remove; vendor presets; endpoint
directory import; Test connection; Connect / Re-authenticate (cancellable); live status.

Connections and their secrets live in the encrypted store; every change is audited
(``connection_change``, the connection's name only). Test connection checks the settings as
they are in the form without saving them (an untested connection is never stored or enabled by
a test); closing or switching away from unsaved edits asks first.

This module holds the list, the form's load/save/remove and the directory import; the editing
pane's widgets are in connections_pane.py and Test / Connect / Sign out / the public key run in
connections_tasks.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
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
from healthprep_desktop.fhir.directory import DirectoryEntry, load_directory
from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store, config_from_store
from healthprep_desktop.store import AuditAction, Connection
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.connection_form import SECRET_KINDS, ConnectionForm
from healthprep_desktop.ui.connections_pane import ConnectionPane
from healthprep_desktop.ui.connections_support import (
    DirectoryPicker,
    UnsavedChoice,
    ask_unsaved_with_box,
    status_lines,
)
from healthprep_desktop.ui.connections_tasks import ConnectionTasks
from healthprep_desktop.ui.login import UrlOpener
from healthprep_desktop.ui.session import AppSession, StatusRelay, describe_error
from healthprep_desktop.ui.sign_in_panel import OpenInBrowser, SignInPanel
from healthprep_desktop.ui.signed_in_user import display_name, resolve_display_name
from healthprep_desktop.ui.window_fit import fit_to_screen

__all__ = ["ConnectionsDialog", "DirectoryPicker", "UnsavedChoice", "status_lines"]


class ConnectionsDialog(QDialog):
    saved = Signal(int)  # connection id
    tested = Signal(object)  # Diagnosis or the exception
    signed_in = Signal(object)  # TokenSet or the exception

    # The pane's widgets the tasks use (``connections_tasks.TasksHost``). Declared, not only
    # assigned below: mypy then checks the dialog against that Protocol in full where it builds
    # the tasks, before these are assigned.
    form: ConnectionForm
    errors: QLabel
    checks_label: QLabel
    progress: QProgressBar
    progress_label: QLabel
    sign_in_panel: SignInPanel

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.scope = session.scope
        self.setWindowTitle(f"Connections · {self.scope.tenant.name}")
        self.current_id: int | None = None
        self.relay = StatusRelay(self)
        self.relay.changed.connect(lambda _s: self.show_status())
        self.user_names: dict[int, str] = {}  # connection id -> signed-in user's name
        # How the sign-in URL is opened; None = by connection (the browser through
        # BrowserOpener, or in-process for the demo sandbox). Tests and embedders may set it.
        self.opener: UrlOpener | None = None
        # How BrowserOpener opens a link (QDesktopServices.openUrl when None); tests set it.
        self.open_in_browser: OpenInBrowser | None = None
        # Asked when unsaved edits would be lost; tests and embedders may replace it.
        self.ask_unsaved: Callable[[str], UnsavedChoice] = lambda name: ask_unsaved_with_box(
            self, name
        )
        self.connection_tasks = ConnectionTasks(self)

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

        pane = self.pane = ConnectionPane(self.scope)
        # The pane's widgets by their old names: tests, benches and the tasks use them.
        self.form, self.errors = pane.form, pane.errors
        self.save_button, self.test_button = pane.save_button, pane.test_button
        self.connect_button, self.cancel_button = pane.connect_button, pane.cancel_button
        self.disconnect_button, self.jwks_button = pane.disconnect_button, pane.jwks_button
        self.progress, self.progress_label = pane.progress, pane.progress_label
        self.sign_in_panel, self.sources_panel = pane.sign_in_panel, pane.sources_panel
        self.status_label, self.checks_label = pane.status_label, pane.checks_label
        self.form.changed.connect(self.update_buttons)
        self.save_button.clicked.connect(lambda: self.save())
        self.test_button.clicked.connect(lambda: self.test())
        self.connect_button.clicked.connect(lambda: self.connect_now())
        self.cancel_button.clicked.connect(self.cancel_login)
        self.disconnect_button.clicked.connect(self.sign_out)
        self.jwks_button.clicked.connect(self.copy_jwks)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(pane)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        fit_to_screen(self, 960, 680)
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

    def _selected(
        self, item: QListWidgetItem | None, previous: QListWidgetItem | None = None
    ) -> None:
        if item is None:
            return
        if not self.settle_unsaved():
            # Stay on the connection being edited (without re-entering this handler).
            if previous is not None:
                self.list.blockSignals(True)
                self.list.setCurrentItem(previous)
                self.list.blockSignals(False)
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
        self.sources_panel.show_connection(connection)
        self.errors.clear()
        self.checks_label.clear()
        live = self.session.live_connection(connection.id)
        self.relay.watch(live)
        self.show_status()
        if live is not None and live.status.is_connected and connection.id not in self.user_names:
            # Signed in before this dialog opened: look the person's name up once.
            tasks.start(
                resolve_display_name(live),
                on_done=functools.partial(self._named, connection.id),
                name="signed-in-name",
                owner=self,
            )

    def new_connection(self) -> None:
        if not self.settle_unsaved():
            return
        self.current_id = None
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self.form.clear()
        self.sources_panel.show_connection(None)
        self.relay.unwatch()
        self.errors.clear()
        self.checks_label.clear()
        self.show_status()
        self.form.name.setFocus()

    def update_buttons(self) -> None:
        busy = self.connection_tasks.running
        method = self.form.method
        self.save_button.setEnabled(not busy)
        self.test_button.setEnabled(not busy)
        self.connect_button.setVisible(method.is_smart and not busy)
        self.cancel_button.setVisible(busy and method.is_interactive)
        live = self.session.live_connection(self.current_id) if self.current_id else None
        connected = live is not None and live.status.is_connected
        self.connect_button.setText("R&e-authenticate" if connected else "&Connect")
        self.disconnect_button.setVisible(connected and method.is_smart and not busy)
        self.jwks_button.setVisible(method is AuthMethod.SMART_BACKEND_SERVICES)
        self.remove_button.setEnabled(self.current_id is not None and not busy)

    def show_status(self) -> None:
        live = self.session.live_connection(self.current_id) if self.current_id else None
        if self.current_id is None:
            self.status_label.setText(
                "New connection: Test checks it without saving; save it to connect."
            )
        else:
            name = self.user_names.get(self.current_id)
            if live is not None and name is None:
                name = display_name(live.tokens.tokens)
            self.status_label.setText("\n".join(status_lines(live.status if live else None, name)))
        self.update_buttons()

    def _named(self, connection_id: int, name: str | None) -> None:
        if name:
            self.user_names[connection_id] = name
            if connection_id == self.current_id:
                self.show_status()

    @property
    def has_unsaved_edits(self) -> bool:
        return self.form.is_modified()

    def settle_unsaved(self) -> bool:
        """True when the current edits may be left (saved, discarded or none); False to stay."""
        if not self.has_unsaved_edits:
            return True
        choice = self.ask_unsaved(self.form.name.text().strip())
        if choice is UnsavedChoice.CANCEL:
            return False
        if choice is UnsavedChoice.SAVE:
            return self.save() is not None
        self.form.mark_unmodified()
        return True

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
                    config=self.sources_panel.apply_to(config_for_store(config), config.name),
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
                    config=self.sources_panel.apply_to(config_for_store(config), config.name),
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

    # Test, connect, disconnect (connections_tasks.py) ------------------------------------

    def test(self) -> None:
        """Check the settings in the form; never saves them (Save does)."""
        self.connection_tasks.test()

    def connect_now(self) -> None:
        self.connection_tasks.connect_now()

    def cancel_login(self) -> None:
        self.connection_tasks.cancel_login()

    def sign_out(self) -> None:
        self.connection_tasks.sign_out()

    def copy_jwks(self) -> None:
        self.connection_tasks.copy_jwks()

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
        self.connection_tasks.run(
            "Reading the endpoint directory…",
            self.import_directory(source),
            lambda entries: self._pick_from_directory(entries),
            lambda exc: self.connection_tasks.finish(
                f"The directory could not be read: {describe_error(exc)}"
            ),
        )

    async def import_directory(self, source: str | Path) -> list[DirectoryEntry]:
        return await load_directory(source)

    def _pick_from_directory(self, entries: list[DirectoryEntry]) -> None:
        self.connection_tasks.finish(f"{len(entries)} endpoints in the directory.")
        picker = DirectoryPicker(entries, self)
        if picker.exec() == QDialog.DialogCode.Accepted:
            entry = picker.chosen()
            if entry is not None:
                self.apply_directory_entry(entry)

    def apply_directory_entry(self, entry: DirectoryEntry) -> None:
        """Start a new connection for the chosen organization (vendor preset kept)."""
        vendor = self.form.vendor.currentIndex()
        self.new_connection()
        if self.has_unsaved_edits:  # the user kept the edits in progress
            return
        self.form.vendor.setCurrentIndex(vendor)
        self.form.name.setText(entry.organization)
        self.form.base_url.setText(entry.base_url)

    def reject(self) -> None:
        """Close (the Close button, Esc, the window's close box): unsaved edits ask first."""
        if not self.settle_unsaved():
            return
        if self.connection_tasks.running:
            self.cancel_login()
        self.relay.unwatch()
        super().reject()
