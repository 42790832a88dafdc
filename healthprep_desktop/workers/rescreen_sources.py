"""The other sources' charts for an offline re-screen: what the batch last read, linked now.

The batch keeps each linked source's chart (``scope.records`` under that source's connection and
the patient's id there), so a correction made offline re-screens the same merged chart the sheet
came from, hospital evidence included, instead of the clinic's chart alone (which would turn a
colonoscopy done at the hospital back into "Due"). Pairs unlinked since are left out, as the next
batch would. No network, no Qt.
"""

from __future__ import annotations

from datetime import datetime

from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.sources.merge import SourceChart, merge_charts
from healthprep_desktop.store import TenantScope
from healthprep_desktop.workers.evidence_sources import EvidenceSources, evidence_sources
from healthprep_desktop.workers.source_config import (
    as_source,
    primary_source,
    secondary_connections,
    source_settings,
)


def with_stored_sources(
    scope: TenantScope, primary_connection_id: int, patient_id: str, record: PatientRecord
) -> tuple[PatientRecord, EvidenceSources | None]:
    """``record`` merged with the linked sources' stored charts, and their provenance; the
    record unchanged (and None) when the clinic has no source or none is linked and stored."""
    sources = secondary_connections(scope, primary_connection_id)
    if not sources:
        return record, None
    linked = {(d.source_id, d.remote_id) for d in scope.links.linked(patient_id)}
    charts: list[SourceChart] = []
    for connection, settings in sources:
        for source_id, remote in sorted(linked):
            if source_id != settings.id:
                continue
            stored = scope.records.get(connection.id, remote)
            if stored is None:
                continue  # linked after the last batch read it: the next Prepare reads it
            charts.append(
                SourceChart(
                    as_source(connection, settings),
                    remote,
                    list(stored.record.get("resources") or []),
                    datetime.fromisoformat(stored.fetched_at),
                )
            )
    if not charts:
        return record, None
    primary_connection = scope.connections.get(primary_connection_id)
    primary = primary_source(primary_connection.name if primary_connection else "")
    merged = merge_charts(
        [SourceChart(primary, patient_id, record.resources, record.fetched_at), *charts]
    )
    screened = PatientRecord(
        patient=record.patient,
        resources=[r for r in merged.screened if r.get("resourceType") != "Patient"],
        documents=record.documents,
        fetched_at=record.fetched_at,
        source=record.source,
        warnings=list(record.warnings),
    )
    return screened, evidence_sources(merged, primary)


def secondary_ids(scope: TenantScope) -> set[int]:
    """The clinic's secondary-source connections, enabled or not: their stored charts are the
    other organization's, under that organization's patient ids."""
    return {c.id for c in scope.connections.all() if source_settings(c) is not None}
