"""Admin: the clinic's EHR connections. List, add, edit, remove; vendor presets; endpoint
directory import; Test connection; Connect / Re-authenticate (cancellable); live status.

Connections and their secrets live in the encrypted store; every change is audited
(``connection_change``, the connection's name only). Test connection checks the settings as
they are in the form without saving them (an untested connection is never stored or enabled by
a test); closing or switching away from unsaved edits asks first.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.diagnose import Diagnosis, check_connection
from healthprep_desktop.fhir.directory import DirectoryEntry, load_directory
from healthprep_desktop.fhir.errors import LoginCancelled
from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store, config_from_store
from healthprep_desktop.store import AuditAction, Connection
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.connection_form import SECRET_KINDS, ConnectionForm, FormValues
from healthprep_desktop.ui.connections_support import (
    MARK,
    DirectoryPicker,
    UnsavedChoice,
    ask_unsaved_with_box,
    draft_connection,
    status_lines,
)
from healthprep_desktop.ui.login import UrlOpener, is_demo, sign_in
from healthprep_desktop.ui.session import AppSession, StatusRelay, describe_error
from healthprep_desktop.ui.sign_in_panel import BrowserOpener, OpenInBrowser, SignInPanel
from healthprep_desktop.ui.signed_in_user import display_name, resolve_display_name
from healthprep_desktop.ui.sources_panel import SourcesPanel
from healthprep_desktop.ui.window_fit import fit_to_screen

__all__ = ["ConnectionsDialog", "DirectoryPicker", "UnsavedChoice", "status_lines"]


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
        self._draft = False  # the last test ran on unsaved settings
        self._user_names: dict[int, str] = {}  # connection id -> signed-in user's name
        # How the sign-in URL is opened; None = by connection (the browser through
        # BrowserOpener, or in-process for the demo sandbox). Tests and embedders may set it.
        self.opener: UrlOpener | None = None
        # How BrowserOpener opens a link (QDesktopServices.openUrl when None); tests set it.
        self.open_in_browser: OpenInBrowser | None = None
        # Asked when unsaved edits would be lost; tests and embedders may replace it.
        self.ask_unsaved: Callable[[str], UnsavedChoice] = lambda name: ask_unsaved_with_box(
            self, name
        )

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
        self.sign_in_panel = SignInPanel()
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
        # The form scrolls: with every row shown it is taller than a 2x-scaled screen.
        form_area = QScrollArea()
        form_area.setObjectName("connFormArea")
        form_area.setWidget(self.form)
        form_area.setWidgetResizable(True)
        form_area.setFrameShape(QFrame.Shape.NoFrame)
        form_area.setMinimumHeight(160)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(form_area, 1)
        right_layout.addWidget(self.errors)
        right_layout.addLayout(actions)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.progress_label)
        right_layout.addWidget(self.sign_in_panel)
        # The status scrolls too: a test's findings wrap to many lines in a narrow 2x pane.
        status_area = QScrollArea()
        status_area.setObjectName("connStatusArea")
        status_area.setWidget(status_box)
        status_area.setWidgetResizable(True)
        status_area.setFrameShape(QFrame.Shape.NoFrame)
        right_layout.addWidget(status_area)
        self.sources_panel = SourcesPanel(self.scope)  # another source of charts (issue 16)
        right_layout.addWidget(self.sources_panel.scrolling())
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
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
        self._relay.watch(live)
        self._show_status()
        if live is not None and live.status.is_connected and connection.id not in self._user_names:
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
        self._relay.unwatch()
        self.errors.clear()
        self.checks_label.clear()
        self._show_status()
        self.form.name.setFocus()

    def _form_changed(self) -> None:
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
        self.connect_button.setText("R&e-authenticate" if connected else "&Connect")
        self.disconnect_button.setVisible(connected and method.is_smart and not busy)
        self.jwks_button.setVisible(method is AuthMethod.SMART_BACKEND_SERVICES)
        self.remove_button.setEnabled(self.current_id is not None and not busy)

    def _show_status(self) -> None:
        live = self.session.live_connection(self.current_id) if self.current_id else None
        if self.current_id is None:
            self.status_label.setText(
                "New connection: Test checks it without saving; save it to connect."
            )
        else:
            name = self._user_names.get(self.current_id)
            if live is not None and name is None:
                name = display_name(live.tokens.tokens)
            self.status_label.setText("\n".join(status_lines(live.status if live else None, name)))
        self._update_buttons()

    def _named(self, connection_id: int, name: str | None) -> None:
        if name:
            self._user_names[connection_id] = name
            if connection_id == self.current_id:
                self._show_status()

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

    # Test, connect, disconnect ----------------------------------------------------------

    def _saved_first(self) -> int | None:
        if self.has_unsaved_edits or self.current_id is None:
            return self.save()
        return self.current_id

    def _run(self, label: str, coro: Any, done: Any, failed: Any) -> None:
        self.progress.show()
        self.progress_label.setText(label)
        self._busy = tasks.start(coro, on_done=done, on_error=failed, name=label, owner=self)
        self._update_buttons()

    def _finish_busy(self, text: str) -> None:
        self.progress.hide()
        self.sign_in_panel.finish()
        self.progress_label.setText(text)
        self._busy = None
        self._show_status()
        self.refresh_list(select=self.current_id)

    def test(self) -> None:
        """Check the settings in the form; never saves them (Save does)."""
        self.checks_label.clear()
        if not self.has_unsaved_edits and self.current_id is not None:
            # The stored settings: test the live connection (its sign-in included).
            coro = self._test(self.current_id)
            self._draft = False
        else:
            taken = {c.name for c in self.scope.connections.all() if c.id != self.current_id}
            values = self.form.values(taken_names=taken)
            if values.errors:
                self.errors.setText("\n".join(values.errors))
                return
            self.errors.clear()
            coro = self._test_draft(values)
            self._draft = True
        self._run("Testing the connection…", coro, self._tested, self._test_failed)

    async def _test(self, connection_id: int) -> Diagnosis:
        live = await self.session.open(connection_id)
        self._relay.watch(live)
        return await check_connection(live)

    async def _test_draft(self, values: FormValues) -> Diagnosis:
        live = await asyncio.to_thread(draft_connection, self.scope, self.current_id, values)
        try:
            return await check_connection(live)
        finally:
            await live.aclose()

    def _tested(self, diagnosis: Diagnosis) -> None:
        self.checks_label.setText(
            "\n".join(f"{MARK.get(c.result, '–')} {c.message}" for c in diagnosis.checks)
        )
        summary = diagnosis.summary()
        if self._draft:
            summary += " Tested the settings in the form; they are not saved yet."
        self._finish_busy(summary)
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
        interactive = self.form.method.is_interactive
        opener = self.opener
        if opener is None and interactive and not is_demo(stored):
            browser = BrowserOpener(self.open_in_browser, self)
            self.sign_in_panel.watch(browser)
            opener = browser
        waiting = "Sign in to the EHR in the browser…" if interactive else "Requesting a token…"
        self._run(waiting, self._sign_in(stored, opener), self._connected, self._connect_failed)

    async def _sign_in(self, stored: Connection, opener: UrlOpener | None) -> Any:
        live = await self.session.open(stored.id)
        self._relay.watch(live)
        tokens = await sign_in(live, stored, opener=opener)
        name = await resolve_display_name(live)
        if name:
            self._user_names[stored.id] = name
        return tokens

    def _connected(self, tokens: Any) -> None:
        name = self._user_names.get(self.current_id or -1)
        self._finish_busy(f"Signed in as {name}." if name else "Signed in.")
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
        if self.current_id is not None:
            self._user_names.pop(self.current_id, None)
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
        if self.has_unsaved_edits:  # the user kept the edits in progress
            return
        self.form.vendor.setCurrentIndex(vendor)
        self.form.name.setText(entry.organization)
        self.form.base_url.setText(entry.base_url)

    def reject(self) -> None:
        """Close (the Close button, Esc, the window's close box): unsaved edits ask first."""
        if not self.settle_unsaved():
            return
        if self._busy is not None and not self._busy.done():
            self.cancel_login()
        self._relay.unwatch()
        super().reject()
