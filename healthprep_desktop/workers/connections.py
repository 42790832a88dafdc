"""A stored connection, opened: tokens, secrets, ledger and audit all live in the store."""

from __future__ import annotations

from typing import Any

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.registration import install_lasting_access
from healthprep_desktop.fhir.search_limits_store import load_search_limits
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status_store import keep_status
from healthprep_desktop.fhir.store_adapters import (
    StoreAudit,
    StoreSecrets,
    StoreTokenStore,
    config_from_store,
)
from healthprep_desktop.store import Store
from healthprep_desktop.store.errors import RecordNotFoundError


def connection_config(store: Store, tenant_id: str, connection_id: int) -> ConnectionConfig:
    row = store.tenant(tenant_id).connections.get(connection_id)
    if row is None:
        raise RecordNotFoundError(f"connection {connection_id} does not exist in this clinic")
    return config_from_store(row)


def open_connection(
    store: Store, tenant_id: str, connection_id: int, **options: Any
) -> FhirConnection:
    """``options`` go to FhirConnection (validate, keep_invalid, on_invalid, transport).

    Invalid resources are kept raw by default (and reported): the engine reads only a few
    fields leniently, and dropping a lab result for a bad ``meta`` would turn "complete" into
    "due".
    """
    options.setdefault("keep_invalid", True)
    secrets = StoreSecrets(store)
    connection = FhirConnection(
        connection_config(store, tenant_id, connection_id),
        tenant=tenant_id,
        tokens=StoreTokenStore(store),
        secrets=secrets,
        audit=StoreAudit(store),
        **options,
    )
    # Last sync and last error survive a restart (stored per connection, no PHI, no secrets).
    keep_status(store, tenant_id, connection_id, connection.status_tracker)
    # What the server refused before (a required category, a page cap) is not asked again.
    connection.client.search_limits = load_search_limits(store, tenant_id, connection_id)
    # A workstation key registered for lasting access (fhir/registration.py) gets new tokens
    # by the JWT bearer grant instead of the browser.
    install_lasting_access(connection, secrets)
    return connection
