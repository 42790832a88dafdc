"""The connections an EHR launch may go to: every stored connection of every clinic."""

from __future__ import annotations

import httpx

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.errors import plain_text
from healthprep_desktop.fhir.store_adapters import config_from_store
from healthprep_desktop.store import AuditAction, AuditEvent, Outcome, Store


def launch_candidates(store: Store) -> list[tuple[tuple[str, int], ConnectionConfig]]:
    """Every connection of every clinic, keyed by (tenant id, connection id), with its config
    (fhir/ehr_launch.find_launch_connection picks the one whose FHIR base is the launch's iss)."""
    return [
        ((tenant.id, row.id), config_from_store(row))
        for tenant in store.tenants()
        for row in store.tenant(tenant.id).connections.all()
    ]


def audit_refused_launch(store: Store, iss: str) -> None:
    """Record a refused EHR launch (unknown FHIR server) in the audit trail: which host asked,
    never the launch handle; no clinic, since the launch matched none."""
    try:
        host = httpx.URL(iss).host
    except (httpx.InvalidURL, ValueError):
        host = "an invalid address"
    store.audit.append(
        AuditEvent(
            AuditAction.LOGIN,
            outcome=Outcome.FAILURE,
            detail=f"EHR launch refused: {plain_text(host, 120)} is no configured FHIR server",
        )
    )
