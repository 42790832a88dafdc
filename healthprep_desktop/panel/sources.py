"""Where a panel's charts come from: Bulk Data files, or the per-patient fetch.

The bulk path is handed to the panel as a function (``BulkExport``) so the panel does not care
how the export is done (helper code in fhir/bulk does the kick-off, polling and downloads); the
per-patient path reuses the chart fetch the batch uses (fhir/record.py with the fetch plan),
without document attachments, within the connection's own rate and concurrency limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.changed_patients import changed_patients
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.record import fetch_patient_record
from healthprep_desktop.fhir.session import FhirConnection

JSON = dict[str, Any]


@dataclass(slots=True)
class ExportedFiles:
    """A finished Bulk Data export: one NDJSON file (or several) per resource type."""

    files: list[tuple[str, Path]]  # (resource type, path), private files
    transaction_time: str  # the server's transactionTime: the next run's `_since`
    requests: int = 0  # HTTP requests the export took (kick-off, polls; downloads apart)
    downloads: int = 0
    export_id: int | None = None  # the store's bulk_exports row, when one was kept


# (group id or None, types, since or None, folder for the files) -> the files
BulkExport = Callable[[str | None, tuple[str, ...], str | None, Path], Awaitable[ExportedFiles]]


@dataclass(slots=True)
class FetchedPatient:
    patient_id: str
    patient: JSON | None
    resources: list[JSON] = field(default_factory=list)
    error: BaseException | None = None


async def group_members(
    connection: FhirConnection, group_id: str | None, capabilities: Capabilities | None = None
) -> list[str]:
    """The group's patients (Group.member), or every patient on the server without a group."""
    client = connection.client
    if group_id:
        group = await client.read("Group", group_id)
        ids: list[str] = []
        for member in group.get("member") or []:
            ref = str((member.get("entity") or {}).get("reference") or "")
            if "Patient/" in ref and not member.get("inactive"):
                ids.append(ref.rsplit("Patient/", 1)[1].split("/")[0])
        return sorted(dict.fromkeys(ids))
    ids = []
    params: list[tuple[str, str | int]] = [("_count", 500)]
    if capabilities is None or capabilities.supports_search_param("Patient", "_elements"):
        params.insert(0, ("_elements", "id"))  # ids only, where the server allows it
    async for page in client.search_pages("Patient", params):
        ids.extend(str(r["id"]) for r in page.resources if r.get("id"))
    return sorted(dict.fromkeys(ids))


async def changed_since(
    connection: FhirConnection,
    capabilities: Capabilities | None,
    types: tuple[str, ...],
    since: datetime,
) -> set[str] | None:
    """Patients with anything changed since the last run (None: the server cannot say)."""
    return await changed_patients(connection.client, capabilities, types, since)


async def fetch_charts(
    connection: FhirConnection,
    capabilities: Capabilities | None,
    patient_ids: list[str],
    *,
    concurrency: int,
    stopped: Callable[[], bool],
) -> AsyncIterator[FetchedPatient]:
    """Each patient's chart as it arrives (completion order), ``concurrency`` in flight; a
    patient whose fetch fails comes back with its error (the caller records it)."""
    queue: asyncio.Queue[FetchedPatient | None] = asyncio.Queue(maxsize=concurrency * 2)
    pending = iter(patient_ids)  # shared by the fetchers: no task per patient up front

    async def one(patient_id: str) -> None:
        try:
            fetched = await fetch_patient_record(
                connection.client,
                patient_id,
                capabilities=capabilities,
                documents=False,
                source=connection.config.name,
            )
        except Exception as exc:  # one bad patient never stops the panel
            await queue.put(FetchedPatient(patient_id, None, error=exc))
            return
        record = fetched.record
        await queue.put(FetchedPatient(patient_id, record.patient, list(record.resources)))

    async def fetcher() -> None:
        for patient_id in pending:
            if stopped():
                return
            await one(patient_id)

    async def all_of_them() -> None:
        try:
            # The first chart alone, as the batch does: what the server refuses (a page size,
            # several categories at once) is learned once, not by every chart in flight.
            first = next(pending, None)
            if first is not None and not stopped():
                await one(first)
            await asyncio.gather(*(fetcher() for _ in range(max(1, concurrency))))
        finally:
            await queue.put(None)

    producer = asyncio.get_running_loop().create_task(all_of_them())
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        if not producer.done():
            producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer


__all__ = [
    "BulkExport",
    "ExportedFiles",
    "FetchedPatient",
    "changed_since",
    "fetch_charts",
    "group_members",
]
