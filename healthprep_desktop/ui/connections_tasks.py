"""The connections dialog's long-running work, one task at a time with a progress bar: Test
connection, Connect / Re-authenticate (cancellable), Sign out, the Backend Services public key,
and reading an endpoint directory.

Test connection checks the settings as they are in the form without saving them (an untested
connection is never stored or enabled by a test); Connect saves first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from healthprep_desktop.fhir.diagnose import Diagnosis, check_connection
from healthprep_desktop.fhir.errors import LoginCancelled
from healthprep_desktop.store import Connection, TenantScope
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.connection_form import ConnectionForm, FormValues
from healthprep_desktop.ui.connections_support import MARK, draft_connection
from healthprep_desktop.ui.login import UrlOpener, is_demo, sign_in
from healthprep_desktop.ui.session import AppSession, StatusRelay, describe_error
from healthprep_desktop.ui.sign_in_panel import BrowserOpener, OpenInBrowser, SignInPanel
from healthprep_desktop.ui.signed_in_user import resolve_display_name


class TasksHost(Protocol):
    """What the tasks use of the connections dialog (``ConnectionsDialog`` has it): the
    session and clinic, the form and the connection it edits, the progress and result
    widgets, and the dialog's signals and refreshes. A Protocol, not the dialog's class:
    the dialog builds the tasks, so naming it here would make the two one module."""

    @property
    def session(self) -> AppSession: ...

    @property
    def scope(self) -> TenantScope: ...

    @property
    def relay(self) -> StatusRelay: ...

    @property
    def current_id(self) -> int | None:
        """The connection shown in the form; None for a new, unsaved one."""
        ...

    @property
    def has_unsaved_edits(self) -> bool: ...

    @property
    def form(self) -> ConnectionForm: ...

    @property
    def errors(self) -> QLabel: ...

    @property
    def checks_label(self) -> QLabel: ...

    @property
    def progress(self) -> QProgressBar: ...

    @property
    def progress_label(self) -> QLabel: ...

    @property
    def sign_in_panel(self) -> SignInPanel: ...

    @property
    def user_names(self) -> dict[int, str]:
        """Connection id -> the signed-in user's name; the tasks add and drop entries."""
        ...

    @property
    def opener(self) -> UrlOpener | None: ...

    @property
    def open_in_browser(self) -> OpenInBrowser | None: ...

    @property
    def tested(self) -> SignalInstance: ...

    @property
    def signed_in(self) -> SignalInstance: ...

    def save(self) -> int | None: ...

    def update_buttons(self) -> None: ...

    def show_status(self) -> None: ...

    def refresh_list(self, select: int | None = None) -> None: ...

    def window(self) -> QWidget:
        """The dialog itself (``QWidget.window()``): the parent and owner of the tasks."""
        ...


class ConnectionTasks(QObject):
    def __init__(self, dialog: TasksHost) -> None:
        super().__init__(dialog.window())
        self.dialog = dialog
        self.busy: asyncio.Task[Any] | None = None
        self._draft = False  # the last test ran on unsaved settings

    @property
    def running(self) -> bool:
        return self.busy is not None and not self.busy.done()

    def run(
        self,
        label: str,
        coro: Coroutine[Any, Any, Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        d = self.dialog
        d.progress.show()
        d.progress_label.setText(label)
        self.busy = tasks.start(coro, on_done=done, on_error=failed, name=label, owner=d.window())
        d.update_buttons()

    def finish(self, text: str) -> None:
        d = self.dialog
        d.progress.hide()
        d.sign_in_panel.finish()
        d.progress_label.setText(text)
        self.busy = None
        d.show_status()
        d.refresh_list(select=d.current_id)

    def _saved_first(self) -> int | None:
        d = self.dialog
        if d.has_unsaved_edits or d.current_id is None:
            return d.save()
        return d.current_id

    # Test connection --------------------------------------------------------------------

    def test(self) -> None:
        """Check the settings in the form; never saves them (Save does)."""
        d = self.dialog
        d.checks_label.clear()
        if not d.has_unsaved_edits and d.current_id is not None:
            # The stored settings: test the live connection (its sign-in included).
            coro = self._test(d.current_id)
            self._draft = False
        else:
            taken = {c.name for c in d.scope.connections.all() if c.id != d.current_id}
            values = d.form.values(taken_names=taken)
            if values.errors:
                d.errors.setText("\n".join(values.errors))
                return
            d.errors.clear()
            coro = self._test_draft(values)
            self._draft = True
        self.run("Testing the connection…", coro, self._tested, self._test_failed)

    async def _test(self, connection_id: int) -> Diagnosis:
        live = await self.dialog.session.open(connection_id)
        self.dialog.relay.watch(live)
        return await check_connection(live)

    async def _test_draft(self, values: FormValues) -> Diagnosis:
        d = self.dialog
        live = await asyncio.to_thread(draft_connection, d.scope, d.current_id, values)
        try:
            return await check_connection(live)
        finally:
            await live.aclose()

    def _tested(self, diagnosis: Diagnosis) -> None:
        self.dialog.checks_label.setText(
            "\n".join(f"{MARK.get(c.result, '–')} {c.message}" for c in diagnosis.checks)
        )
        summary = diagnosis.summary()
        if self._draft:
            summary += " Tested the settings in the form; they are not saved yet."
        self.finish(summary)
        self.dialog.tested.emit(diagnosis)

    def _test_failed(self, exc: BaseException) -> None:
        self.finish(f"The test could not run: {describe_error(exc)}")
        self.dialog.tested.emit(exc)

    # Connect, cancel, sign out ----------------------------------------------------------

    def connect_now(self) -> None:
        d = self.dialog
        connection_id = self._saved_first()
        if connection_id is None:
            return
        stored = d.scope.connections.get(connection_id)
        if stored is None:
            return
        interactive = d.form.method.is_interactive
        opener = d.opener
        if opener is None and interactive and not is_demo(stored):
            browser = BrowserOpener(d.open_in_browser, d.window())
            d.sign_in_panel.watch(browser)
            opener = browser
        waiting = "Sign in to the EHR in the browser…" if interactive else "Requesting a token…"
        self.run(waiting, self._sign_in(stored, opener), self._connected, self._connect_failed)

    async def _sign_in(self, stored: Connection, opener: UrlOpener | None) -> Any:
        d = self.dialog
        live = await d.session.open(stored.id)
        d.relay.watch(live)
        tokens = await sign_in(live, stored, opener=opener)
        name = await resolve_display_name(live)
        if name:
            d.user_names[stored.id] = name
        return tokens

    def _connected(self, tokens: Any) -> None:
        name = self.dialog.user_names.get(self.dialog.current_id or -1)
        self.finish(f"Signed in as {name}." if name else "Signed in.")
        self.dialog.signed_in.emit(tokens)

    def _connect_failed(self, exc: BaseException) -> None:
        if isinstance(exc, LoginCancelled):
            self.finish("Sign-in cancelled.")
        else:
            self.finish(f"Sign-in failed: {describe_error(exc)}")
        self.dialog.signed_in.emit(exc)

    def cancel_login(self) -> None:
        d = self.dialog
        live = d.session.live_connection(d.current_id) if d.current_id else None
        if live is not None:
            live.cancel_login()

    def sign_out(self) -> None:
        d = self.dialog
        live = d.session.live_connection(d.current_id) if d.current_id else None
        if live is not None:
            live.logout()
        if d.current_id is not None:
            d.user_names.pop(d.current_id, None)
        d.show_status()
        d.refresh_list(select=d.current_id)

    # Backend Services public key --------------------------------------------------------

    def copy_jwks(self) -> None:
        connection_id = self._saved_first()
        if connection_id is not None:
            self.run(
                "Preparing the public key…",
                self._jwks(connection_id),
                self._copy_jwks,
                lambda exc: self.finish(f"No key: {describe_error(exc)}"),
            )

    async def _jwks(self, connection_id: int) -> str:
        live = await self.dialog.session.open(connection_id)
        # Generating an RSA key takes a moment: a thread. Only the public half is shown.
        jwks = await asyncio.to_thread(lambda: live.backend_key().jwks())
        return json.dumps(jwks, indent=2)

    def _copy_jwks(self, jwks: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(jwks)
        self.finish("Public key set (JWKS) copied: register it with the EHR.")
