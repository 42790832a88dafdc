"""The multi-source demo day (issue 16): the demo clinic plus a hospital EHR and a state
immunization registry, served by the same embedded sandbox as their own organizations.

The hospital and the registry hold copies of many clinic patients under their own ids, with the
perturbations matching must cope with (sandbox/clinic/shared_patients.py), the hospital some
colonoscopies the clinic never recorded, the registry immunizations only. In the clinic's store
each is a connection of its own (own sign-in, own rate limit) marked as a secondary source.
Used by ``batch --demo --multi-source``, the benchmarks and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from healthprep_desktop.fhir.config import ConnectionConfig, Vendor
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.registry_immunizations import (
    clinic_reported_doses,
    with_registry_immunizations,
)
from healthprep_desktop.sandbox.clinic.shared_patients import (
    HOSPITAL_ID,
    HOSPITAL_NAME,
    REGISTRY_ID,
    REGISTRY_NAME,
    SharedOrganizationSource,
    SharedPatients,
    shared_patients,
)
from healthprep_desktop.sandbox.config import OrgConfig, demo_clients
from healthprep_desktop.sources.model import SourceKind
from healthprep_desktop.store import Store
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.source_config import SOURCE_KEY, SourceSettings


@dataclass(frozen=True, slots=True)
class DemoSource:
    org_id: str
    name: str
    kind: SourceKind
    priority: int


DEMO_SOURCES = (
    DemoSource(HOSPITAL_ID, HOSPITAL_NAME, SourceKind.EHR, 10),
    DemoSource(REGISTRY_ID, REGISTRY_NAME, SourceKind.REGISTRY, 20),
)


class SharedOrgs:
    """Builds the hospital and registry organizations from the demo clinic (DemoClinic's
    ``extra_orgs`` hook) and keeps what they were built from, for tests and benchmarks."""

    def __init__(self) -> None:
        self.shared: SharedPatients | None = None

    def __call__(self, clinic: SyntheticClinic) -> Sequence[OrgConfig]:
        shared = shared_patients(clinic)
        self.shared = with_registry_immunizations(
            shared,
            clinic.reference_date,
            clinic.seed,
            reported=clinic_reported_doses(clinic, shared),
        )
        by_id = {o.source_id: o for o in self.shared.organizations}
        return [
            OrgConfig(
                s.org_id,
                name=s.name,
                clients=demo_clients(),
                source=SharedOrganizationSource(by_id[s.org_id]),
            )
            for s in DEMO_SOURCES
        ]


def source_config(demo: DemoClinic, source: DemoSource) -> ConnectionConfig:
    """The demo connection's settings (public PKCE client, same rate limit) for another org:
    each source gets its OWN limit, as a real hospital or registry would."""
    assert demo.server is not None
    base = demo.connection_config()
    return ConnectionConfig(
        name=source.name,
        base_url=demo.server.base_url(source.org_id),
        vendor=Vendor.GENERIC,
        auth_method=base.auth_method,
        client_id=base.client_id,
        scopes=base.scopes,
        rate_limit=base.rate_limit,
    )


def ensure_demo_sources(
    demo: DemoClinic, store: Store, tenant_id: str, *, enabled: bool = True
) -> list[int]:
    """The hospital and registry connections in the clinic, marked as secondary sources and
    pointed at this run's sandbox. Returns their connection ids."""
    scope = store.tenant(tenant_id)
    ids = []
    for source in DEMO_SOURCES:
        config = config_for_store(source_config(demo, source))
        config[SOURCE_KEY] = SourceSettings(source.org_id, source.kind, source.name).to_json()
        existing = scope.connections.by_name(source.name)
        if existing is None:
            found = scope.connections.add(
                source.name,
                Vendor.GENERIC.value,
                demo.server.base_url(source.org_id) if demo.server else "",
                config=config,
                enabled=enabled,
                priority=source.priority,
            )
        else:
            updated = scope.connections.update(
                existing.id,
                base_url=demo.server.base_url(source.org_id) if demo.server else "",
                config=config,
                enabled=enabled,
                priority=source.priority,
            )
            assert updated is not None
            found = updated
        ids.append(found.id)
    return ids


async def sign_in_demo_sources(
    demo: DemoClinic, store: Store, tenant_id: str, connection_ids: Sequence[int]
) -> None:
    """Sign in to each demo source (the sandbox approves by itself); tokens go to the store."""
    for connection_id in connection_ids:
        connection = open_connection(store, tenant_id, connection_id)
        try:
            await demo.login(connection)
        finally:
            await connection.aclose()
