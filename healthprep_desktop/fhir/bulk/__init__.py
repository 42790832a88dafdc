"""FHIR Bulk Data export (Bulk Data Access 2.0), client side; Qt-free.

Where the server offers it (`supports_bulk`), a whole panel comes in a handful of requests plus
the file downloads instead of several requests per patient::

    from healthprep_desktop.fhir.bulk import ExportRequest, run_export, supports_bulk
    from healthprep_desktop.fhir.bulk_store import StoreExportSaver

    if supports_bulk(await connection.capabilities()):
        result = await run_export(
            connection,                                   # or a FhirClient
            ExportRequest(group_id="panel-1", since=previous_transaction_time),
            folder,                                       # 0700; files inside are 0600
            StoreExportSaver(scope, connection_id),       # resumable after a crash
            progress=lambda p: print(p.phase, p.server_progress, p.files_done),
        )
        for patient in result.iter_resources("Patient"):  # streamed from disk, line by line
            ...
        next_since = result.transaction_time

`types` empty exports what the screening library reads (screening/needs.py chart_needs), with
Patient. A saved export is picked up again by the next `run_export` of the same request (the
same status URL: no second kick-off; complete files are not downloaded again; a started one
continues with a Range request). Errors are BulkError subclasses (fhir/errors.py), each one
sentence saying what to do; an expired file URL raises BulkFileExpired and the saved export is
closed, so running again starts a new export (no automatic restart).

Private modules: _kickoff ($export request), _status (polling, DELETE), _manifest (value
objects), _ndjson (streamed private files, line iterator), _resume (the saver Protocol),
_export (the whole flow).
"""

from healthprep_desktop.fhir.bulk._export import (
    BulkExport,
    DownloadedFile,
    ExportProgress,
    ExportResult,
    ProgressHandler,
    export_group,
    export_patients,
    run_export,
    supports_bulk,
)
from healthprep_desktop.fhir.bulk._kickoff import ExportRequest, kick_off
from healthprep_desktop.fhir.bulk._manifest import ExportManifest, ManifestFile
from healthprep_desktop.fhir.bulk._ndjson import BadLine, BadLineHandler, iter_ndjson
from healthprep_desktop.fhir.bulk._resume import (
    ExportSaver,
    FileState,
    MemorySaver,
    SavedExport,
)
from healthprep_desktop.fhir.bulk._status import PollPolicy, delete_export, wait_for_manifest
from healthprep_desktop.fhir.errors import (
    BulkError,
    BulkExportFailed,
    BulkFileExpired,
    BulkFileInvalid,
    BulkKickoffRefused,
    BulkManifestInvalid,
    BulkNotSupported,
    BulkTimedOut,
)

__all__ = [
    "BadLine",
    "BadLineHandler",
    "BulkError",
    "BulkExport",
    "BulkExportFailed",
    "BulkFileExpired",
    "BulkFileInvalid",
    "BulkKickoffRefused",
    "BulkManifestInvalid",
    "BulkNotSupported",
    "BulkTimedOut",
    "DownloadedFile",
    "ExportManifest",
    "ExportProgress",
    "ExportRequest",
    "ExportResult",
    "ExportSaver",
    "FileState",
    "ManifestFile",
    "MemorySaver",
    "PollPolicy",
    "ProgressHandler",
    "SavedExport",
    "delete_export",
    "export_group",
    "export_patients",
    "iter_ndjson",
    "kick_off",
    "run_export",
    "supports_bulk",
    "wait_for_manifest",
]
