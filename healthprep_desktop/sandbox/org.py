"""One sandbox organization at run time: its data, its authorization server, its schedule."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from healthprep_desktop.sandbox.auth import AuthServer
from healthprep_desktop.sandbox.config import (
    ClinicSource,
    OrgConfig,
    SandboxClock,
    SandboxConfig,
    UserAccount,
)
from healthprep_desktop.sandbox.datastore import ResourceStore, StoredResource
from healthprep_desktop.sandbox.importer import ImportedClinic


@dataclass(slots=True)
class Snapshot:
    """A search's full result list, kept so later pages are consistent and cheap."""

    # The results in order. Pages re-read each by type and id, so a page shows the current
    # version; keeping the objects avoids formatting thousands of keys per search.
    results: list[StoredResource]
    owner: tuple[str, str | None]  # (client_id, patient) that may page through it
    path: str  # e.g. "Observation" or "Patient/1/$everything", for the page links
    extra: list[tuple[str, str]]  # _include/_revinclude/_count to repeat on each page
    created: float = field(default_factory=time.monotonic)


class SearchSnapshots:
    """A bounded, expiring cache of multi-page search results."""

    def __init__(self, capacity: int = 2000, ttl_seconds: float = 1800.0) -> None:
        self._items: OrderedDict[str, Snapshot] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl_seconds
        self._lock = threading.Lock()

    def add(self, snapshot: Snapshot) -> str:
        sid = uuid.uuid4().hex
        with self._lock:
            self._items[sid] = snapshot
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return sid

    def get(self, sid: str) -> Snapshot | None:
        with self._lock:
            found = self._items.get(sid)
            if found is None:
                return None
            if time.monotonic() - found.created > self._ttl:
                del self._items[sid]
                return None
            self._items.move_to_end(sid)
            return found


class Organization:
    def __init__(self, config: OrgConfig, sandbox: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.sandbox = sandbox
        self.store = ResourceStore(clock)
        self.auth = AuthServer(
            config.org_id, {c.client_id: c for c in config.clients}, sandbox.tokens, clock
        )
        self.snapshots = SearchSnapshots()
        self.source: ClinicSource | None = config.source
        if self.source is None and config.import_paths:
            self.source = ImportedClinic(config.import_paths, seed=sandbox.faults.seed)
        self._days: set[date] = set()
        self._day_lock = threading.Lock()
        self._load()

    @property
    def org_id(self) -> str:
        return self.config.org_id

    def _load(self) -> None:
        # Loading creates hundreds of thousands of short-lived containers; the cyclic
        # collector would rescan them all repeatedly (it tripled the Synthea import time).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            if self.source is not None:
                for resource in self.source.resources():
                    self.store.put(resource, keep_last_updated=True)
            for resource in self.config.resources:
                self.store.put(resource, keep_last_updated=True)
        finally:
            if was_enabled:
                gc.enable()

    def ensure_day(self, day: date) -> int:
        """Materialise a clinic day's Appointments (once); returns how many there are."""
        if self.source is None:
            return 0
        with self._day_lock:
            if day in self._days:
                return 0
            appointments = self.source.schedule(day)
            for n, appointment in enumerate(appointments):
                if not appointment.get("id"):
                    appointment = {**appointment, "id": f"appt-{day:%Y%m%d}-{n:04d}"}
                self.store.put(appointment)
            self._days.add(day)
            return len(appointments)

    def default_patient(self) -> str | None:
        if self.config.default_patient is not None:
            return self.config.default_patient
        ids = self.store.patient_ids()
        return ids[0] if ids else None

    def fhir_user(self, account: UserAccount) -> str | None:
        if account.fhir_user is not None:
            return account.fhir_user
        practitioners = self.store.all_of("Practitioner")
        return practitioners[0].key if practitioners else None
