"""Which patients' charts changed since the last run, asked once for the whole day.

A rerun that asks every patient "what changed?" pays one request per search per patient even
when nothing did. A server that allows a search without a patient (`Observation?_lastUpdated=gt..`)
answers for all patients at once: one search per type (and its pages), then only the changed
patients are fetched. Servers that require the patient on every clinical search (US Core's
Observation, Epic) cannot answer this that way; where they offer Bulk Data export of the panel's
Group, one `Group/[id]/$export?_since=..&_type=..` answers instead (the patients the exported
resources belong to: a handful of requests plus the files). Otherwise the rerun asks per patient
(`None`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.bulk import ExportRequest, run_export, supports_bulk
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import FhirError, FhirHttpError
from healthprep_desktop.fhir.paging import PagingError
from healthprep_desktop.fhir.parsing import JSON

# Where a resource names its patient (R4): subject for most, patient for some, beneficiary
# for Coverage; the Patient itself by its id.
_PATIENT_FIELDS = ("subject", "patient", "beneficiary")
PAGE_SIZE = 1000
log = logging.getLogger(__name__)


def can_list_changes(capabilities: Capabilities | None, types: Collection[str]) -> bool:
    """Whether every type can be searched by `_lastUpdated` alone (no patient required)."""
    if capabilities is None:
        return False
    for resource_type in ("Patient", *types):
        if resource_type == "Medication":
            continue  # read by reference; its changes show as the prescription's
        support = capabilities.resources.get(resource_type)
        if support is None:
            continue  # not offered: not fetched either
        if "_lastUpdated" not in support.search_params or "search-type" not in (
            support.interactions
        ):
            return False
        if support.combinations and frozenset({"_lastUpdated"}) not in support.combinations:
            return False
    return True


async def changed_patients(
    client: FhirClient,
    capabilities: Capabilities | None,
    types: Collection[str],
    since: datetime,
    *,
    group_id: str | None = None,
) -> set[str] | None:
    """The ids of patients with any resource changed after `since`; None when the server
    cannot say (then every patient is asked). `group_id`: the panel's Group, exported with
    `_since` where searches cannot list changes but Bulk Data export is offered."""
    if not can_list_changes(capabilities, types):
        if group_id and supports_bulk(capabilities):
            return await changed_by_export(client, capabilities, types, since, group_id)
        return None
    assert capabilities is not None
    since_text = since.astimezone(UTC).isoformat()
    changed: set[str] = set()
    for resource_type in ("Patient", *types):
        if resource_type == "Medication" or resource_type not in capabilities.resources:
            continue
        params: list[tuple[str, Any]] = [
            ("_lastUpdated", f"gt{since_text}"),
            ("_count", PAGE_SIZE),
        ]
        try:
            async for page in client.search_pages(resource_type, params):
                for resource in page.resources:
                    patient = _patient_of(resource)
                    if patient:
                        changed.add(patient)
        except (FhirHttpError, PagingError):
            return None  # refused after all: ask per patient
    return changed


async def changed_by_export(
    client: FhirClient,
    capabilities: Capabilities | None,
    types: Collection[str],
    since: datetime,
    group_id: str,
) -> set[str] | None:
    """The patients of every resource a `Group/[id]/$export?_since=` brings; None when the
    export fails (the rerun then asks per patient). The files go to a private temporary folder
    and are deleted once read."""
    offered = capabilities.resources if capabilities is not None else {}
    wanted = tuple(t for t in ("Patient", *types) if t != "Medication" and t in offered)
    request = ExportRequest(group_id=group_id, types=tuple(dict.fromkeys(wanted)))
    changed: set[str] = set()
    try:
        with tempfile.TemporaryDirectory(prefix="healthprep-changes-") as folder:  # 0700
            result = await run_export(client, request.with_since(since), Path(folder))
            for resource in result.iter_resources():  # a bad line: ask everyone
                patient = _patient_of(resource)
                if patient:
                    changed.add(patient)
    except FhirError as exc:
        log.info("the change export failed (%s): asking per patient", type(exc).__name__)
        return None
    return changed


def _patient_of(resource: JSON) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id") or "") or None
    for name in _PATIENT_FIELDS:
        ref = (resource.get(name) or {}).get("reference")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return ref.split("/", 1)[1].split("/")[0] or None
    return None
