"""One connection state for the whole window: the status-bar indicator, the banner and the batch
panel all read the same ``ConnectionView``, so they can never contradict each other (no
"sign-in has expired" banner beside "Connected").

``connection_view`` is plain Python (unit-tested alone); ``ConnectionController`` keeps it
current (status changes, the clock for token expiry, an outage seen by the batch) and runs the
sign-in paths: reconnect, and re-consent with the permission to post to the chart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.store import Connection
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.connection_status import (
    EXPIRY_WARNING,
    ConnectionBanner,
    banner_message,
)
from healthprep_desktop.ui.login import sign_in
from healthprep_desktop.ui.session import StatusRelay, describe_error
from healthprep_desktop.ui.window_host import WindowHost
from healthprep_desktop.workers.write_scope import allow_write_back

log = logging.getLogger(__name__)

STATUS_REFRESH_MS = 30_000  # the indicator and banner follow the clock (token expiry)


class LinkState(StrEnum):
    NONE = "none"  # no connection set up
    OPENING = "opening"
    CONNECTED = "connected"
    EXPIRING = "expiring"  # connected, the sign-in lapses soon and cannot renew itself
    SIGNED_OUT = "signed_out"  # never signed in, signed out, or the sign-in expired
    UNREACHABLE = "unreachable"  # the EHR cannot be reached (network or EHR down)
    BROKEN = "broken"  # the stored settings could not be opened


@dataclass(frozen=True, slots=True)
class ConnectionView:
    state: LinkState
    indicator: str
    banner: tuple[str, str] | None  # (kind, message) or None

    @property
    def needs_sign_in(self) -> bool:
        return self.state is LinkState.SIGNED_OUT


def connection_view(
    status: ConnectionStatus | None,
    *,
    name: str = "",
    can_refresh: bool = True,
    now: datetime | None = None,
    outage: str | None = None,
    opening: bool = False,
    broken: str | None = None,
) -> ConnectionView:
    """The one derivation of what the window says about the connection."""
    now = now or datetime.now(UTC)
    prefix = f"{name}: " if name else ""
    if broken is not None:
        return ConnectionView(LinkState.BROKEN, f"{prefix}{broken}", ("error", broken))
    if status is None:
        if opening:
            return ConnectionView(LinkState.OPENING, f"{prefix}opening…", None)
        return ConnectionView(
            LinkState.NONE, "No EHR connection: set one up in Clinic ▸ Connections", None
        )
    if outage is not None:
        text = f"The EHR cannot be reached ({outage}). Preparing is paused and resumes by itself."
        return ConnectionView(LinkState.UNREACHABLE, f"{prefix}Unreachable", ("warning", text))
    expiry = status.token_expiry
    expired = expiry is not None and expiry <= now and not can_refresh
    if status.is_connected and not expired:
        banner = banner_message(status, can_refresh=can_refresh, now=now)
        if expiry is not None and expiry > now:
            indicator = f"{prefix}Connected until {expiry.astimezone().strftime('%H:%M')}"
        else:
            indicator = f"{prefix}Connected"
        soon = expiry is not None and not can_refresh and expiry - now <= EXPIRY_WARNING
        return ConnectionView(
            LinkState.EXPIRING if soon else LinkState.CONNECTED, indicator, banner
        )
    if expired:
        message = "The EHR sign-in has expired. Sign in again to keep working."
        return ConnectionView(LinkState.SIGNED_OUT, f"{prefix}Sign-in expired", ("error", message))
    if status.last_error:
        message = f"The EHR connection dropped: {status.last_error}. Sign in again."
        return ConnectionView(LinkState.SIGNED_OUT, f"{prefix}Not signed in", ("error", message))
    return ConnectionView(
        LinkState.SIGNED_OUT,
        f"{prefix}Not signed in",
        ("warning", "Not signed in to the EHR. Sign in to read the schedule and prepare sheets."),
    )


def can_refresh(live: Any) -> bool:
    """Whether the connection renews its own token (a refresh token, or backend services)."""
    method = live.config.auth_method
    if not method.is_smart or not method.is_interactive:
        return True
    tokens = live.tokens.tokens
    return bool(tokens is not None and tokens.refresh_token)


def post_setting_name(connection_id: int) -> str:
    """Per-connection switch, in the clinic's settings (off when absent)."""
    return f"_post_to_chart.{connection_id}"


class ConnectionHost(WindowHost, Protocol):
    """What the controller uses of the window (``MainWindow`` has it)."""

    @property
    def connection_label(self) -> QLabel:
        """The status bar's indicator."""
        ...

    @property
    def banner(self) -> ConnectionBanner: ...

    @property
    def runner(self) -> BatchRunner:
        """Read only: a batch waiting for a sign-in overrides what the token says."""
        ...


class ConnectionController(QObject):
    """Keeps the window's indicator, banner and batch panel on one ``ConnectionView``."""

    changed = Signal(object)  # ConnectionView
    signed_in = Signal()

    def __init__(self, window: ConnectionHost) -> None:
        super().__init__(window.window())
        self.window = window
        self.view = connection_view(None)
        self.outage: str | None = None  # set by the batch controller while the EHR is away
        self.consent_needed: str | None = None  # posting refused: the permission is missing
        self._relay = StatusRelay(self)
        self._relay.changed.connect(lambda _s: self.refresh())
        self._watched: int | None = None
        self._opening: asyncio.Task[Any] | None = None
        self._broken: str | None = None
        self._signing_in = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(STATUS_REFRESH_MS)

    def stop(self) -> None:
        self.timer.stop()
        self._relay.unwatch()

    def forget(self) -> None:
        """Another clinic, or edited connections: start over (no old messages stay)."""
        self._watched = None
        self._broken = None
        self.outage = None
        self.consent_needed = None
        self._relay.unwatch()
        self.refresh()

    def stored(self) -> Connection | None:
        session = self.window.session
        return session.default_connection() if session.tenant_id else None

    def refresh(self) -> None:
        stored = self.stored()
        if stored is None:
            self._relay.unwatch()
            self._watched = None
            self._show(connection_view(None))
            return
        live = self.window.session.live_connection(stored.id)
        if live is None:
            if self._broken is None and (self._opening is None or self._opening.done()):
                self._opening = tasks.start(
                    self.window.session.open(stored.id),
                    on_done=lambda _live: self.refresh(),
                    on_error=lambda exc: self._open_failed(exc),  # a broken config: say so
                    name="open-connection",
                    owner=self,
                )
            self._show(connection_view(None, name=stored.name, opening=True, broken=self._broken))
            return
        if self._watched != stored.id:
            self._relay.watch(live)
            self._watched = stored.id
        view = connection_view(
            live.status,
            name=stored.name,
            can_refresh=can_refresh(live),
            outage=self.outage,
        )
        job = self.window.runner.job
        if self.window.runner.running and job is not None and job.waiting_for_reconnect:
            # The batch met a refused sign-in: whatever the token says, sign-in is needed now.
            message = "The EHR asked to sign in again. Preparing is paused until you sign in."
            view = ConnectionView(
                LinkState.SIGNED_OUT, f"{stored.name}: Sign-in needed", ("error", message)
            )
        elif self.consent_needed and view.state is LinkState.CONNECTED:
            view = ConnectionView(view.state, view.indicator, ("warning", self.consent_needed))
        self._show(view)

    def _open_failed(self, exc: BaseException) -> None:
        self._broken = describe_error(exc)
        self.refresh()

    def _show(self, view: ConnectionView) -> None:
        self.view = view
        w = self.window
        w.connection_label.setText(view.indicator)
        w.connection_label.setToolTip(view.indicator)
        if self._signing_in:
            return  # the banner says "Signing in…" until the sign-in ends
        if view.banner is None:
            w.banner.clear()
        else:
            kind, message = view.banner
            w.banner.show_message(kind, message)
            w.banner.button.setText(
                "Sign &in with permission to post" if self.consent_needed else "Sign &in again"
            )
            w.banner.button.setVisible(view.state is not LinkState.UNREACHABLE)
        self.changed.emit(view)

    # Signing in ---------------------------------------------------------------------------

    def reconnect(self) -> None:
        stored = self.stored()
        if stored is None or self._signing_in:
            return
        add_write = self.consent_needed is not None
        self._signing_in = True
        self.window.banner.button.setEnabled(False)
        self.window.banner.show_message("warning", "Signing in… finish in the browser window.")
        tasks.start(
            self.sign_in(stored, add_write_scope=add_write),
            on_error=self._sign_in_failed,
            name="reconnect",
            owner=self,
        )

    async def sign_in(self, stored: Connection, *, add_write_scope: bool = False) -> None:
        """Sign in (again) through the existing path; with ``add_write_scope`` the connection
        first asks for the permission to file documents (the one-click re-consent)."""
        session = self.window.session
        self._signing_in = True
        try:
            if add_write_scope:
                await asyncio.to_thread(
                    allow_write_back, session.store, session.scope.id, stored.id
                )
                await session.forget_connection(stored.id)
                self._watched = None
                refreshed = session.scope.connections.get(stored.id)
                stored = refreshed or stored
            live = await session.open(stored.id)
            await sign_in(live, stored)
        finally:
            self._signing_in = False
            self.window.banner.button.setEnabled(True)
        self.consent_needed = None
        self.window.banner.clear()
        self.signed_in.emit()  # first: a waiting batch carries on, then the state is read
        self.refresh()

    def _sign_in_failed(self, exc: BaseException) -> None:
        self._signing_in = False
        self.window.banner.button.setEnabled(True)
        self.window.banner.show_message("error", f"Sign-in failed: {describe_error(exc)}")

    def when_signed_in(self, then: Callable[[], None]) -> None:
        """Run ``then`` once after the next successful sign-in."""

        def once() -> None:
            self.signed_in.disconnect(once)
            then()

        self.signed_in.connect(once)
