"""The demo clinic: the embedded SMART-on-FHIR sandbox with a synthetic clinic, started
in-process, and a connection to it that signs in through the real loopback login flow.

Used by "Try the demo clinic" in the window, ``batch --demo``, the self-test and benchmarks.
Demo data is synthetic; the demo client is the sandbox's public PKCE client.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    Vendor,
)
from healthprep_desktop.fhir.presets import user_read_scopes
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import (
    DEMO_PUBLIC_CLIENT,
    ClinicSource,
    FaultConfig,
    OrgConfig,
    SandboxConfig,
    demo_clients,
)
from healthprep_desktop.sandbox.importer import ImportedClinic
from healthprep_desktop.sandbox.server import SandboxServer
from healthprep_desktop.settings import TIME_ZONE, Settings
from healthprep_desktop.store import Store

DEMO_CONNECTION = "Demo clinic (sandbox)"
DEMO_TENANT = "Demo Family Practice"
DEMO_SCOPES = (
    "openid",
    "fhirUser",
    "offline_access",
    *user_read_scopes(),
    "user/DocumentReference.write",
    # The panel's per-patient path reads the group's members; gaps-in-care bundles are posted
    # as Bundles where the server takes them (the demo sandbox does).
    "user/Group.read",
    "user/Bundle.write",
)


async def follow_authorize_redirects(url: str) -> None:
    """Stand-in for the browser: the demo's authorization server approves automatically, so
    following its redirects lands on our loopback listener exactly as a browser would."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=30.0) as client:
        await client.get(url)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


IMPORT_TIME_ZONE = "Etc/GMT+5"  # always -05:00, as ImportedClinic books its visits


class _FixedDay:
    """The synthetic clinic, with exactly ``count`` visits booked on one day."""

    def __init__(self, clinic: SyntheticClinic, day: date, count: int) -> None:
        self.clinic, self.day, self.count = clinic, day, count

    def resources(self) -> Iterable[dict[str, Any]]:
        return self.clinic.resources()

    def schedule(self, day: date) -> list[dict[str, Any]]:
        return self.clinic.schedule(day, count=self.count if day == self.day else None)


@dataclass
class DemoClinic:
    patients: int = 500
    seed: int = 1
    clinic_day: date | None = None  # the synthetic history is written relative to this day
    faults: FaultConfig = field(default_factory=FaultConfig)
    client_rate: float = 0.0  # requests/s the app allows itself (0 = unlimited)
    client_concurrency: int = 16
    schedule_size: int | None = None  # visits booked on the clinic day (None: the usual mix)
    # FHIR bundles (files or folders) to serve instead of the synthetic clinic, e.g. Synthea
    # exports or a test set with known answers.
    import_paths: Sequence[Path] = ()
    import_max_bytes: int | None = None  # per file (None: $HEALTHPREP_IMPORT_MAX_MB or 50 MB)
    # Told each import file (or part of one) that was left out, in one sentence.
    report_import_problem: Callable[[str], None] | None = None
    server: SandboxServer | None = None
    # More organizations beside the clinic, built from its synthetic patients (the hospital and
    # registry of workers/multi_source_demo.py).
    extra_orgs: Callable[[SyntheticClinic], Sequence[OrgConfig]] | None = None

    def __post_init__(self) -> None:
        reference = self.clinic_day or date.today()
        self.clinic: SyntheticClinic | None = None
        source: ClinicSource
        self.import_problems: list[str] = []
        if self.import_paths:
            # NothingToImport (one sentence) when not one patient could be imported.
            imported = ImportedClinic(
                self.import_paths, seed=self.seed, max_file_bytes=self.import_max_bytes
            )
            self.import_problems = list(imported.problems)
            report = self.report_import_problem or _to_stderr
            for problem in self.import_problems:
                report(problem)
            source = imported
        else:
            self.clinic = SyntheticClinic(
                seed=self.seed, patients=self.patients, reference_date=reference
            )
            source = self.clinic
            if self.schedule_size is not None:
                source = _FixedDay(self.clinic, reference, self.schedule_size)
        extra = self.extra_orgs(self.clinic) if self.extra_orgs and self.clinic else ()
        config = SandboxConfig(
            orgs=[
                OrgConfig("demo", name=DEMO_TENANT, clients=demo_clients(), source=source),
                *extra,
            ],
            auto_approve=True,
            faults=self.faults,
        )
        self.server = SandboxServer(config)

    def start(self) -> DemoClinic:
        assert self.server is not None
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> DemoClinic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url()

    def connection_config(self) -> ConnectionConfig:
        return ConnectionConfig(
            name=DEMO_CONNECTION,
            base_url=self.base_url,
            vendor=Vendor.GENERIC,
            auth_method=AuthMethod.SMART_PUBLIC_PKCE,
            client_id=DEMO_PUBLIC_CLIENT,
            scopes=DEMO_SCOPES,
            rate_limit=RateLimitConfig(
                requests_per_second=self.client_rate,
                max_concurrency=self.client_concurrency,
            ),
        )

    @property
    def time_zone(self) -> str:
        """The demo clinic's zone: the synthetic clinic's, or -05:00 for imports (their visits)."""
        return self.clinic.time_zone if self.clinic is not None else IMPORT_TIME_ZONE

    def ensure_connection(self, store: Store, tenant_id: str) -> int:
        """The demo connection in this clinic, pointed at this run's sandbox (its port changes
        from run to run). Returns the connection id."""
        scope = store.tenant(tenant_id)
        if scope.settings.get_raw(TIME_ZONE.name) is None:  # the demo clinic keeps its own clock
            Settings(store).set(TIME_ZONE, self.time_zone, scope)
        config = self.connection_config()
        existing = scope.connections.by_name(DEMO_CONNECTION)
        if existing is None:
            return scope.connections.add(
                DEMO_CONNECTION,
                Vendor.GENERIC.value,
                config.base_url,
                config=config_for_store(config),
            ).id
        scope.connections.update(
            existing.id, base_url=config.base_url, config=config_for_store(config)
        )
        return existing.id

    async def login(self, connection: FhirConnection) -> TokenSet:
        return await connection.login_interactive(open_url=follow_authorize_redirects)
