"""What a connection's server refused (fhir/search_limits.py), kept across restarts.

Stored beside the connection's other per-connection entries in the encrypted store (the
``secrets`` table, entry ``search_limits``), like the connection status: deleted with the
connection, untouched by an edit of its settings, and no schema change. The value holds resource
type and parameter names and a page size, nothing about a patient.
"""

from __future__ import annotations

from healthprep_desktop.fhir.search_limits import SearchLimits
from healthprep_desktop.store import Store, TenantScope

LIMITS_ENTRY = "search_limits"


def load_search_limits(store: Store, tenant_id: str, connection_id: int) -> SearchLimits:
    """The limits learned earlier; empty when none (or none readable) are stored."""
    return load_scope_limits(store.tenant(tenant_id), connection_id)


def save_search_limits(
    store: Store, tenant_id: str, connection_id: int, limits: SearchLimits
) -> None:
    save_scope_limits(store.tenant(tenant_id), connection_id, limits)


def load_scope_limits(scope: TenantScope, connection_id: int) -> SearchLimits:
    return SearchLimits.from_json(scope.secrets.get(connection_id, LIMITS_ENTRY))


def save_scope_limits(scope: TenantScope, connection_id: int, limits: SearchLimits) -> None:
    scope.secrets.put(connection_id, LIMITS_ENTRY, limits.to_json())
