"""Connection status with change events, and the audit hook the FHIR layer reports through."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    is_connected: bool = False
    token_expiry: datetime | None = None
    last_sync: datetime | None = None
    last_error: str | None = None  # readable, no secrets, no PHI
    user: str | None = None  # the EHR user (fhirUser) the tokens belong to


StatusListener = Callable[[ConnectionStatus], None]


class StatusTracker:
    """Holds one connection's status and tells listeners (the UI, the store) when it changes."""

    def __init__(self, initial: ConnectionStatus | None = None) -> None:
        self._status = initial or ConnectionStatus()
        self._listeners: list[StatusListener] = []

    @property
    def current(self) -> ConnectionStatus:
        return self._status

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def update(self, **changes: Any) -> None:
        new = replace(self._status, **changes)
        if new == self._status:
            return
        self._status = new
        for listener in list(self._listeners):
            try:
                listener(new)
            except Exception:
                # A broken listener (a closed window) must not break a fetch.
                log.exception("connection status listener failed")

    def mark_synced(self, when: datetime | None = None) -> None:
        self.update(last_sync=when or datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What the FHIR layer asks the audit trail to record. `detail` never holds a token."""

    action: str  # connect, disconnect, refresh_failed, writeback, ...
    tenant: str
    connection: str
    outcome: str = "success"  # success | failure
    user: str | None = None
    patient_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class AuditSink(Protocol):
    def __call__(self, event: AuditEvent) -> None: ...


class MemoryAudit:
    """An AuditSink that keeps events in a list (tests, headless tools)."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def __call__(self, event: AuditEvent) -> None:
        self.events.append(event)

    def actions(self) -> list[str]:
        return [e.action for e in self.events]


def no_audit(event: AuditEvent) -> None:
    """An AuditSink that records nothing."""
