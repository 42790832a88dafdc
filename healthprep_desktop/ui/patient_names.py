"""Patient names for display, looked up in this computer's stored charts (never from the EHR,
never written anywhere): the audit viewer shows "Rosa Alvarez (p1)" where the trail holds "p1".

Reading a stored chart means decompressing it, so names are cached per viewer and at most
``LOOKUP_LIMIT`` new patients are looked up per read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from healthprep_desktop.store import TenantScope
from healthprep_desktop.ui.signed_in_user import human_name

LOOKUP_LIMIT = 500


class PatientNames:
    def __init__(self) -> None:
        self._known: dict[tuple[str, str], str | None] = {}

    def lookup(
        self,
        scopes: Mapping[str, TenantScope],
        wanted: Iterable[tuple[str | None, str | None]],
    ) -> dict[str, str]:
        """Names by patient id for (tenant id, patient id) pairs (unknown ones left out)."""
        found: dict[str, str] = {}
        new = 0
        for tenant_id, patient_id in wanted:
            if not tenant_id or not patient_id:
                continue
            key = (tenant_id, patient_id)
            if key not in self._known:
                scope = scopes.get(tenant_id)
                if scope is None or new >= LOOKUP_LIMIT:
                    continue
                new += 1
                self._known[key] = name_in_store(scope, patient_id)
            name = self._known[key]
            if name:
                found[patient_id] = name
        return found


def name_in_store(scope: TenantScope, patient_id: str) -> str | None:
    for connection in scope.connections.all():
        stored = scope.records.get(connection.id, patient_id)
        if stored is None:
            continue
        patient = stored.record.get("patient")
        if isinstance(patient, dict):
            name = human_name(patient)
            if name:
                return name
    return None
