"""The panel's Bulk Data path on the fhir/bulk client: which export, and its files.

The export is resumable (the store's ``bulk_exports`` through StoreExportSaver): a run stopped
while the server prepares the files, or mid-download, picks the same job up again. Its files go
to a private folder per connection under the app's data folder (0700; files 0600) and are
deleted once imported into the encrypted staging database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from healthprep_desktop.fhir.bulk import ExportProgress, ExportRequest, run_export, supports_bulk
from healthprep_desktop.fhir.bulk_store import StoreExportSaver
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.panel.sources import BulkExport, ExportedFiles
from healthprep_desktop.store import TenantScope


def bulk_problem(capabilities: Capabilities, group_id: str | None) -> str | None:
    """Why the panel cannot use Bulk Data on this server (None: it can)."""
    if group_id:
        if supports_bulk(capabilities, group=True):
            return None
        return "the server's CapabilityStatement offers no Group Bulk Data export"
    if supports_bulk(capabilities, group=False):
        return None
    if supports_bulk(capabilities, group=True):
        return (
            "the server exports Bulk Data only per group: name the panel's group with --group "
            "to use it"
        )
    return "the server's CapabilityStatement offers no Bulk Data export"


def store_bulk_export(
    connection: FhirConnection,
    scope: TenantScope,
    connection_id: int,
    *,
    say: Callable[[str], None],
) -> BulkExport:
    """A BulkExport for the panel run: kick-off, polling and downloads with fhir/bulk, saved in
    the store so a restart resumes the same job."""

    async def export(
        group_id: str | None, types: tuple[str, ...], since: str | None, folder: Path
    ) -> ExportedFiles:
        client = connection.client
        before = client.stats.requests
        downloads = 0
        last_said = 0.0

        def progress(p: ExportProgress) -> None:
            nonlocal downloads, last_said
            if p.phase == "downloading":
                downloads = max(downloads, p.files_done)
            now = time.monotonic()
            if p.phase in ("kick-off", "resumed", "done") or now - last_said >= 2.0:
                last_said = now
                detail = f" ({p.server_progress})" if p.server_progress else ""
                files = f", {p.files_done}/{p.files_total} files" if p.files_total else ""
                say(f"Bulk export: {p.phase}{detail}{files}")

        request = ExportRequest(group_id=group_id, types=types, since=since)
        result = await run_export(
            connection, request, folder, StoreExportSaver(scope, connection_id), progress
        )
        files = [(f.type, f.path) for f in result.files]
        if result.errors:
            # Their text is the server's and may name patients: counted here, kept in the log.
            say(f"The server reported {len(result.errors)} issue(s) in the export's error files")
        total = client.stats.requests - before
        return ExportedFiles(
            files=files,
            transaction_time=result.transaction_time,
            requests=max(0, total - len(files)),
            downloads=len(files),
            export_id=result.export_id,
        )

    return export


__all__ = ["bulk_problem", "store_bulk_export"]
