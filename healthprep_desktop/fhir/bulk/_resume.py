"""What a killed process needs to pick an export up again, saved through a Protocol.

After the kick-off the status URL is saved, so a restart polls the same job instead of starting
another (an export of a whole panel can take the server many minutes). After the manifest, the
manifest is saved, and each file is marked when it starts and when it is complete: a restart
skips the complete ones and continues a started one with a Range request. The store keeps these
in the encrypted `bulk_exports` table (fhir/bulk_store.py); `MemorySaver` serves tests and
callers that need no resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from healthprep_desktop.fhir.bulk._kickoff import ExportRequest
from healthprep_desktop.fhir.bulk._manifest import ExportManifest

# States of a saved export, in order; "failed" and "expired" end it without files.
KICKED_OFF = "kicked_off"
COMPLETE = "complete"  # the manifest is known; files are being downloaded
DOWNLOADED = "downloaded"  # every file is on disk
FAILED = "failed"
EXPIRED = "expired"
ACTIVE_STATES = frozenset({KICKED_OFF, COMPLETE})


@dataclass(frozen=True, slots=True)
class FileState:
    """One output file on disk: `done` once it is complete (a restart leaves it alone)."""

    path: str  # relative to the export's folder
    done: bool = False
    count: int = 0  # resources (lines), once done
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "done": self.done, "count": self.count, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileState:
        return cls(
            path=str(data["path"]),
            done=bool(data.get("done")),
            count=int(data.get("count") or 0),
            size=int(data.get("size") or 0),
        )


@dataclass(frozen=True, slots=True)
class SavedExport:
    request: ExportRequest
    state: str
    status_url: str | None = None
    manifest: ExportManifest | None = None
    files: dict[str, FileState] = field(default_factory=dict)  # by file URL
    folder: str | None = None
    error: str | None = None
    id: int | None = None  # the saver's own key, once saved

    @property
    def transaction_time(self) -> str | None:
        return self.manifest.transaction_time if self.manifest else None

    def with_file(self, url: str, file: FileState) -> SavedExport:
        return replace(self, files={**self.files, url: file})


class ExportSaver(Protocol):
    """Keeps SavedExports. `active` finds the unfinished export of the same request (the key
    is `ExportRequest.key()`); `save` returns the export with its id set."""

    def active(self, request: ExportRequest) -> SavedExport | None: ...

    def save(self, export: SavedExport) -> SavedExport: ...


class MemorySaver:
    """An ExportSaver in memory (tests; callers that need no resume across processes)."""

    def __init__(self) -> None:
        self.saved: dict[int, SavedExport] = {}

    def active(self, request: ExportRequest) -> SavedExport | None:
        for export in reversed(self.saved.values()):
            if export.state in ACTIVE_STATES and export.request.key() == request.key():
                return export
        return None

    def save(self, export: SavedExport) -> SavedExport:
        if export.id is None:
            export = replace(export, id=len(self.saved) + 1)
        assert export.id is not None
        self.saved[export.id] = export
        return export


__all__ = [
    "ACTIVE_STATES",
    "COMPLETE",
    "DOWNLOADED",
    "EXPIRED",
    "FAILED",
    "KICKED_OFF",
    "ExportSaver",
    "FileState",
    "MemorySaver",
    "SavedExport",
]
