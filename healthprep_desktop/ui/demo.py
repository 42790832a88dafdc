"""The demo clinic from the window: the embedded sandbox started in-process (``workers.demo``),
its connection in the store, and a sign-in through the real SMART login flow (discovery, PKCE,
loopback redirect, code exchange); the sandbox approves at once, so the app plays the browser.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from healthprep_desktop.ui import gc_guard, tasks
from healthprep_desktop.ui.login import follow_in_process, sign_in
from healthprep_desktop.ui.session import AppSession, describe_error

DEMO_PATIENTS = 500  # a realistic panel: about 180 visits a day


class DemoRunner:
    """Owns the DemoClinic for the life of the window."""

    def __init__(
        self, session: AppSession, clinic: Any = None, *, patients: int = DEMO_PATIENTS
    ) -> None:
        self.session = session
        self.clinic = clinic
        self.patients = patients
        self.started = False

    def _build(self) -> Any:
        module = importlib.import_module("healthprep_desktop.workers.demo")
        return module.DemoClinic(patients=self.patients)

    async def start(self) -> int:
        """Start the sandbox, record its connection for the current clinic and sign in; return
        the connection id. Building the synthetic clinic takes seconds: it runs in a thread."""
        if self.clinic is None:
            self.clinic = await asyncio.to_thread(self._build)
        if not self.started:
            await asyncio.to_thread(self.clinic.start)
            self.started = True
            # The synthetic clinic lives as long as the app: keep it out of garbage collection
            # passes (a full pass over it would stall the window).
            gc_guard.freeze_long_lived()
        tenant_id = self.session.scope.id
        connection_id = int(
            await asyncio.to_thread(self.clinic.ensure_connection, self.session.store, tenant_id)
        )
        # The sandbox's port changes with each start: reopen the live connection.
        await self.session.forget_connection(connection_id)
        stored = self.session.scope.connections.get(connection_id)
        if stored is None:
            raise RuntimeError("the demo connection was not recorded")
        live = await self.session.open(connection_id)
        await sign_in(live, stored, opener=follow_in_process)
        return connection_id

    async def stop(self) -> None:
        if self.started and self.clinic is not None:
            await asyncio.to_thread(self.clinic.stop)
            self.started = False

    def start_in(self, window: Any) -> None:
        """Start from the main window: it says so, shows the demo day, then ``demo_ready``."""
        window.statusBar().showMessage("Starting the demo clinic and signing in…")
        tasks.start(
            self._start_in(window),
            on_error=lambda exc: self._failed_in(window, exc),
            name="demo",
            owner=window,
        )

    async def _start_in(self, window: Any) -> None:
        connection_id = await self.start()
        window.connection.forget()
        window.reload_day()
        window.statusBar().showMessage(
            "Demo clinic ready: synthetic patients only. Press Prepare sheets (Ctrl+R).", 15_000
        )
        window.demo_ready.emit(connection_id)

    def _failed_in(self, window: Any, exc: BaseException) -> None:
        window.statusBar().showMessage(f"The demo clinic could not start: {describe_error(exc)}")
        window.refresh_connection_status()
        window.demo_ready.emit(exc)
