"""Last sync and last error of a stored connection, kept across restarts.

They live beside the connection's other per-connection entries in the encrypted store (the
``secrets`` table, entry ``last_status``): deleted with the connection, never touched by an edit
of its settings (so a window saving the form and a batch finishing at the same moment cannot
overwrite each other), and no schema change. The value holds only a UTC time and the readable
error sentence the FHIR layer already shows (no secrets, no PHI), cut to 300 characters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from healthprep_desktop.fhir.status import ConnectionStatus, StatusTracker
from healthprep_desktop.store import Store

log = logging.getLogger(__name__)

STATUS_ENTRY = "last_status"
MAX_ERROR_CHARS = 300


def load_last_status(
    store: Store, tenant_id: str, connection_id: int
) -> tuple[datetime | None, str | None]:
    """(last_sync, last_error) as stored; (None, None) when nothing (or nothing readable) is."""
    raw = store.tenant(tenant_id).secrets.get(connection_id, STATUS_ENTRY)
    if not raw:
        return None, None
    try:
        data = json.loads(raw)
        sync = datetime.fromisoformat(data["last_sync"]) if data.get("last_sync") else None
        error = data.get("last_error") or None
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("stored connection status is unreadable; ignored")
        return None, None
    return sync, (str(error) if error else None)


def save_last_status(
    store: Store,
    tenant_id: str,
    connection_id: int,
    last_sync: datetime | None,
    last_error: str | None,
) -> None:
    value = {
        "last_sync": last_sync.isoformat() if last_sync else None,
        "last_error": last_error[:MAX_ERROR_CHARS] if last_error else None,
    }
    store.tenant(tenant_id).secrets.put(connection_id, STATUS_ENTRY, json.dumps(value))


def keep_status(
    store: Store, tenant_id: str, connection_id: int, tracker: StatusTracker
) -> Callable[[], None]:
    """Seed `tracker` with the stored last sync/last error, then store every change of either.

    Returns the unsubscribe function. A failing write is logged by the tracker, never raised
    into a fetch."""
    sync, error = load_last_status(store, tenant_id, connection_id)
    tracker.update(last_sync=sync, last_error=error)
    saved = [(sync, error)]

    def persist(status: ConnectionStatus) -> None:
        current = (status.last_sync, status.last_error)
        if current == saved[0]:
            return  # a token expiry or a user change: nothing of ours to store
        save_last_status(store, tenant_id, connection_id, *current)
        saved[0] = current

    return tracker.subscribe(persist)


__all__ = ["STATUS_ENTRY", "keep_status", "load_last_status", "save_last_status"]
