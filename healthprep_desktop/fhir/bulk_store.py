"""The Bulk Data export saver (fhir/bulk ExportSaver) on the encrypted store's `bulk_exports`.

A killed process finds its unfinished export again by the request (the same group, types and
`_since`), so it polls the same status URL and keeps the files already on disk. The store knows
no FHIR types: rows are mapped to fhir/bulk's value objects here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from healthprep_desktop.fhir.bulk import (
    ExportManifest,
    ExportRequest,
    FileState,
    SavedExport,
)
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.bulk_exports import BulkExportRow


class StoreExportSaver:
    """ExportSaver for one connection of one tenant."""

    def __init__(self, scope: TenantScope, connection_id: int) -> None:
        self._repo = scope.bulk_exports
        self._connection_id = connection_id

    def active(self, request: ExportRequest) -> SavedExport | None:
        row = self._repo.active(self._connection_id, request.key())
        return _saved(row) if row is not None else None

    def save(self, export: SavedExport) -> SavedExport:
        if export.id is None:
            export_id = self._repo.create(
                self._connection_id,
                export.request.key(),
                state=export.state,
                status_url=export.status_url,
                folder=export.folder,
            )
            export = replace(export, id=export_id)
        assert export.id is not None
        self._repo.update(
            export.id,
            status_url=export.status_url,
            state=export.state,
            transaction_time=export.transaction_time,
            manifest=export.manifest.to_json() if export.manifest else None,
            downloaded={url: f.to_json() for url, f in export.files.items()},
            folder=export.folder,
            error=export.error,
        )
        return export

    def last_transaction_time(self, request: ExportRequest) -> str | None:
        """The transactionTime of the newest fully downloaded export of the same group and
        types (whatever its `_since`): the next rerun's `_since`."""
        wanted = replace(request, since=None).key()
        for row in self._repo.list(self._connection_id, state="downloaded"):
            done = ExportRequest.from_json(_request_json(row))
            if replace(done, since=None).key() == wanted and row.transaction_time:
                return row.transaction_time
        return None


def _request_json(row: BulkExportRow) -> dict[str, Any]:
    data = json.loads(row.request)
    return data if isinstance(data, dict) else {}


def _saved(row: BulkExportRow) -> SavedExport:
    return SavedExport(
        request=ExportRequest.from_json(_request_json(row)),
        state=row.state,
        status_url=row.status_url,
        manifest=ExportManifest.from_json(row.manifest) if row.manifest else None,
        files={url: FileState.from_json(f) for url, f in row.downloaded.items()},
        folder=row.folder,
        error=row.error,
        id=row.id,
    )


__all__ = ["StoreExportSaver"]
