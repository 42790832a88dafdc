"""What the open application holds: the store, typed settings, the chosen clinic, and the live
EHR connections (one ``FhirConnection`` per stored connection, opened on first use).

Qt-free on purpose, apart from the small ``StatusRelay`` that turns a connection's status
callbacks into a Qt signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from healthprep_desktop.fhir.parsing import preload_models
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.settings import Settings
from healthprep_desktop.store import Connection, Store, Tenant, TenantScope
from healthprep_desktop.workers.cpu import CpuPool

log = logging.getLogger(__name__)

OpenConnection = Callable[..., FhirConnection]


def default_open_connection() -> OpenConnection:
    """``workers.connections.open_connection``: tokens, secrets and audit live in the store."""
    from healthprep_desktop.workers.connections import open_connection

    return open_connection


class AppSession:
    def __init__(
        self,
        store: Store,
        *,
        settings: Settings | None = None,
        open_connection: OpenConnection | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings(store)
        self._open_connection = open_connection
        self.tenant_id: str | None = None
        self._live: dict[tuple[str, int], FhirConnection] = {}
        # One process pool for the whole session, started in the background after the window
        # shows (warm_up): spawning workers when Prepare is pressed stalls the window.
        self.cpu = CpuPool()
        tenants = store.tenants()
        if tenants:
            self.tenant_id = tenants[0].id

    # Clinics -----------------------------------------------------------------------------

    def tenants(self) -> list[Tenant]:
        return self.store.tenants()

    def create_tenant(self, name: str) -> Tenant:
        name = name.strip()
        if not name:
            raise ValueError("Enter the clinic's name.")
        if any(t.name.casefold() == name.casefold() for t in self.store.tenants()):
            raise ValueError(f"A clinic named {name!r} already exists.")
        tenant = self.store.create_tenant(name)
        self.tenant_id = tenant.id
        return tenant

    def select_tenant(self, tenant_id: str) -> None:
        self.store.tenant(tenant_id)  # raises TenantNotFoundError for a stale id
        self.tenant_id = tenant_id

    @property
    def scope(self) -> TenantScope:
        if self.tenant_id is None:
            raise RuntimeError("no clinic is selected")
        return self.store.tenant(self.tenant_id)

    @property
    def tenant_name(self) -> str:
        return self.scope.tenant.name if self.tenant_id else ""

    # Connections -------------------------------------------------------------------------

    def stored_connections(self) -> list[Connection]:
        return self.scope.connections.all() if self.tenant_id else []

    def default_connection(self) -> Connection | None:
        enabled = self.scope.connections.all(enabled_only=True) if self.tenant_id else []
        return enabled[0] if enabled else None

    def connection(self, connection_id: int) -> FhirConnection:
        """The live connection for a stored one (same object until ``forget_connection``)."""
        key = (self.scope.id, connection_id)
        live = self._live.get(key)
        if live is None:
            opener = self._open_connection or default_open_connection()
            live = opener(self.store, self.scope.id, connection_id)
            self._live[key] = live
        return live

    async def open(self, connection_id: int) -> FhirConnection:
        """``connection`` without blocking the loop: building one (its HTTP client loads the
        TLS trust store) takes 50-80 ms, so it happens in a thread."""
        tenant_id = self.scope.id
        key = (tenant_id, connection_id)
        live = self._live.get(key)
        if live is not None:
            return live
        opener = self._open_connection or default_open_connection()
        opened = await asyncio.to_thread(opener, self.store, tenant_id, connection_id)
        live = self._live.get(key)
        if live is not None:  # another caller opened it meanwhile: keep theirs
            await opened.aclose()
            return live
        self._live[key] = opened
        return opened

    def live_connection(self, connection_id: int) -> FhirConnection | None:
        if self.tenant_id is None:
            return None
        return self._live.get((self.tenant_id, connection_id))

    def drop_connection(self, connection_id: int) -> FhirConnection | None:
        """Forget the live object at once (the next use opens it again with the stored
        settings); the caller closes what is returned."""
        if self.tenant_id is None:
            return None
        return self._live.pop((self.tenant_id, connection_id), None)

    async def forget_connection(self, connection_id: int) -> None:
        """Drop and close the live object (after an edit, or a new sandbox port)."""
        live = self.drop_connection(connection_id)
        if live is not None:
            await live.aclose()

    def ehr_user(self) -> str | None:
        """The signed-in EHR user of the default connection, for audit entries."""
        default = self.default_connection() if self.tenant_id else None
        live = self.live_connection(default.id) if default else None
        return live.status.user if live else None

    async def warm_up(self) -> None:
        """Start the CPU workers and load the FHIR models, off the event loop."""
        await asyncio.gather(self.cpu.warm(), asyncio.to_thread(preload_models))

    async def aclose(self) -> None:
        for live in list(self._live.values()):
            with contextlib.suppress(Exception):  # closing must go on for the others
                await live.aclose()
        self._live.clear()
        await asyncio.to_thread(self.cpu.shutdown)


class StatusRelay(QObject):
    """A connection's status changes as a Qt signal (queued across threads if needed)."""

    changed = Signal(object)  # ConnectionStatus

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = None

    def watch(self, connection: FhirConnection | None) -> None:
        self.unwatch()
        if connection is None:
            return
        self._unsubscribe = connection.status_tracker.subscribe(self._relay)

    def unwatch(self) -> None:
        if self._unsubscribe is not None:
            with contextlib.suppress(ValueError):
                self._unsubscribe()
            self._unsubscribe = None

    def _relay(self, status: ConnectionStatus) -> None:
        self.changed.emit(status)


def describe_error(exc: BaseException) -> str:
    """A message for the user: the core's errors are written to be shown; anything else is
    named by type only (its text may hold data we do not show)."""
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.store import StoreError

    if isinstance(exc, FhirError | StoreError | ValueError | OSError):
        text = str(exc)
        return text if text else type(exc).__name__
    return f"Unexpected error ({type(exc).__name__}); see the log for details."
