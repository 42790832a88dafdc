"""One Bulk Data export from kick-off to files on disk, resumable at every step.

kick-off (or the saved status URL) -> poll until the manifest -> download each output file
(skipping those already complete, continuing a started one) -> read the error files -> DELETE
the job. Every request goes through the connection's FhirClient (pacing, retries, auth, stats).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from healthprep_desktop.fhir.bulk._kickoff import ExportRequest, kick_off
from healthprep_desktop.fhir.bulk._manifest import ExportManifest, ManifestFile
from healthprep_desktop.fhir.bulk._ndjson import (
    BadLineHandler,
    count_lines,
    download_file,
    iter_ndjson,
    make_private_folder,
)
from healthprep_desktop.fhir.bulk._resume import (
    COMPLETE,
    DOWNLOADED,
    EXPIRED,
    FAILED,
    KICKED_OFF,
    ExportSaver,
    FileState,
    MemorySaver,
    SavedExport,
)
from healthprep_desktop.fhir.bulk._status import PollPolicy, delete_export, wait_for_manifest
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import (
    BulkError,
    BulkFileExpired,
    OutcomeIssue,
    parse_operation_outcome,
)
from healthprep_desktop.fhir.parsing import JSON
from healthprep_desktop.fhir.session import FhirConnection

log = logging.getLogger(__name__)

# How often (in bytes downloaded) a progress event is sent while a file streams in.
_PROGRESS_BYTES = 1024 * 1024
# Operation names a CapabilityStatement uses for Bulk Data export (after the "$").
_EXPORT_OPERATIONS = frozenset({"export", "group-export", "patient-export", "bulk-data-export"})


@dataclass(frozen=True, slots=True)
class ExportProgress:
    phase: str  # "kick-off", "resumed", "waiting", "downloading", "done"
    server_progress: str | None = None  # the server's X-Progress text, plain
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0


ProgressHandler = Callable[[ExportProgress], None]


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    type: str
    path: Path
    count: int  # resources (lines)
    size: int  # bytes


@dataclass(frozen=True, slots=True)
class ExportResult:
    transaction_time: str  # the next export's `_since`
    files: tuple[DownloadedFile, ...]
    errors: tuple[OutcomeIssue, ...]  # what the manifest's error files reported
    export_id: int | None = None  # the saver's id of this export
    kicked_off: bool = True  # False when a saved export was picked up again

    def iter_resources(
        self, type: str | None = None, *, on_bad_line: BadLineHandler | None = None
    ) -> Iterator[JSON]:
        """Every resource of the downloaded files (of one type when given), streamed from disk
        one line at a time. A bad line goes to `on_bad_line`, else raises BulkFileInvalid."""
        for file in self.files:
            if type is None or file.type == type:
                yield from iter_ndjson(file.path, on_bad_line=on_bad_line)

    def count(self, type: str | None = None) -> int:
        return sum(f.count for f in self.files if type is None or f.type == type)


def supports_bulk(capabilities: Capabilities | None, *, group: bool = True) -> bool:
    """Whether the server offers Bulk Data export: `Group/[id]/$export` (`group`) or
    `Patient/$export`. The Group (or Patient) entry's own operations decide; a statement that
    names export on no resource at all is taken at its word from the system-level operation or
    its `instantiates` of the Bulk Data CapabilityStatement."""
    if capabilities is None:
        return False
    support = capabilities.resources.get("Group" if group else "Patient")
    if support is not None and support.operations & _EXPORT_OPERATIONS:
        return True
    if any(r.operations & _EXPORT_OPERATIONS for r in capabilities.resources.values()):
        return False  # the server says where it offers export, and it is not here
    if capabilities.system_operations & _EXPORT_OPERATIONS:
        return True
    return any("bulkdata" in url.lower().replace("-", "") for url in capabilities.instantiates)


class BulkExport:
    """One export: `await BulkExport(client, request, folder, saver).run(progress)`.
    With a saver that outlives the process (the store's, fhir/bulk_store.py), a second `run`
    after a crash picks up the same job: no second kick-off, complete files kept."""

    def __init__(
        self,
        source: FhirClient | FhirConnection,
        request: ExportRequest,
        folder: Path,
        saver: ExportSaver | None = None,
        *,
        policy: PollPolicy | None = None,
        delete_after: bool = True,
    ) -> None:
        self.client = source.client if isinstance(source, FhirConnection) else source
        self.request = request
        self.folder = folder
        self.saver: ExportSaver = saver or MemorySaver()
        self.policy = policy or PollPolicy()
        self.delete_after = delete_after
        self._progress: ProgressHandler | None = None
        self._saved: SavedExport | None = None

    def _emit(self, progress: ExportProgress) -> None:
        if self._progress is not None:
            self._progress(progress)

    def _save(self, export: SavedExport) -> SavedExport:
        self._saved = self.saver.save(export)
        return self._saved

    async def run(self, progress: ProgressHandler | None = None) -> ExportResult:
        self._progress = progress
        saved = self.saver.active(self.request)
        kicked_off = saved is None or saved.status_url is None
        if saved is None or saved.status_url is None:
            self._emit(ExportProgress("kick-off"))
            status_url = await kick_off(self.client, self.request)
            saved = self._save(
                SavedExport(self.request, KICKED_OFF, status_url, folder=str(self.folder))
            )
        else:
            self._saved = saved
            self._emit(ExportProgress("resumed"))
        assert saved.status_url is not None
        folder = Path(saved.folder or self.folder)
        make_private_folder(folder)
        if saved.manifest is None:
            try:
                polled = await wait_for_manifest(
                    self.client,
                    saved.status_url,
                    self.policy,
                    lambda text: self._emit(ExportProgress("waiting", server_progress=text)),
                )
            except BulkError as exc:
                self._save(replace(saved, state=FAILED, error=str(exc)))
                raise
            saved = self._save(replace(saved, state=COMPLETE, manifest=polled))
        manifest = saved.manifest
        assert manifest is not None
        try:
            files = await self._download_all(saved, manifest, folder)
            errors = await self._read_errors(manifest, folder)
        except BulkFileExpired as exc:
            assert self._saved is not None
            self._save(replace(self._saved, state=EXPIRED, error=str(exc)))
            raise
        assert self._saved is not None
        saved = self._save(replace(self._saved, state=DOWNLOADED))
        if self.delete_after:
            await delete_export(self.client, saved.status_url or "")
        self._emit(ExportProgress("done", files_done=len(files), files_total=len(files)))
        return ExportResult(
            transaction_time=manifest.transaction_time,
            files=tuple(files),
            errors=tuple(errors),
            export_id=saved.id,
            kicked_off=kicked_off,
        )

    async def cancel(self) -> bool:
        """DELETE the job on the server (this run's, else the saved unfinished one) and mark it
        failed, so the next run starts afresh."""
        saved = self._saved or self.saver.active(self.request)
        if saved is None or saved.status_url is None:
            return False
        self._save(replace(saved, state=FAILED, error="cancelled"))
        return await delete_export(self.client, saved.status_url)

    async def _download_all(
        self, saved: SavedExport, manifest: ExportManifest, folder: Path
    ) -> list[DownloadedFile]:
        files: list[DownloadedFile] = []
        total = len(manifest.output)
        sent = 0  # bytes downloaded in this run
        reported = 0

        def on_bytes(count: int) -> None:
            nonlocal sent, reported
            sent += count
            if sent - reported >= _PROGRESS_BYTES:
                reported = sent
                self._emit(ExportProgress("downloading", None, len(files), total, sent))

        for index, item in enumerate(manifest.output):
            state = saved.files.get(item.url)
            if state is not None and state.done and (folder / state.path).is_file():
                files.append(
                    DownloadedFile(item.type, folder / state.path, state.count, state.size)
                )
                continue
            name = state.path if state is not None else f"{index:04d}-{item.type}.ndjson"
            if state is None:
                # Saved before the first byte: after a crash, the part on disk is known ours.
                saved = self._save(saved.with_file(item.url, FileState(name)))
            path = folder / name
            size = await self._fetch(item, path, manifest, resume=state is not None, on=on_bytes)
            count = await asyncio.to_thread(count_lines, path)  # 100s of MB: off the loop
            saved = self._save(saved.with_file(item.url, FileState(name, True, count, size)))
            files.append(DownloadedFile(item.type, path, count, size))
            self._emit(ExportProgress("downloading", None, len(files), total, sent))
        return files

    async def _fetch(
        self,
        item: ManifestFile,
        path: Path,
        manifest: ExportManifest,
        *,
        resume: bool,
        on: Callable[[int], None],
    ) -> int:
        return await download_file(
            self.client,
            item.url,
            path,
            # requiresAccessToken false: the file host gets no Authorization header at all.
            authenticate=manifest.requires_access_token,
            resume=resume,
            on_bytes=on,
        )

    async def _read_errors(self, manifest: ExportManifest, folder: Path) -> list[OutcomeIssue]:
        """The OperationOutcomes of the manifest's error files (read, then deleted)."""
        issues: list[OutcomeIssue] = []
        for index, item in enumerate(manifest.error):
            path = folder / f"error-{index:04d}.ndjson"
            await self._fetch(item, path, manifest, resume=False, on=lambda _: None)
            try:
                for outcome in iter_ndjson(path, on_bad_line=lambda _: None):
                    issues.extend(parse_operation_outcome(outcome))
            finally:
                path.unlink(missing_ok=True)
        if issues:
            log.info("the export reported %d issue(s) in its error files", len(issues))
        return issues


async def run_export(
    source: FhirClient | FhirConnection,
    request: ExportRequest,
    folder: Path,
    saver: ExportSaver | None = None,
    progress: ProgressHandler | None = None,
    *,
    policy: PollPolicy | None = None,
    delete_after: bool = True,
) -> ExportResult:
    """`BulkExport(...).run(progress)` in one call (see the package docstring)."""
    export = BulkExport(source, request, folder, saver, policy=policy, delete_after=delete_after)
    return await export.run(progress)


async def export_group(
    source: FhirClient | FhirConnection,
    group_id: str,
    folder: Path,
    *,
    types: tuple[str, ...] = (),
    since: str | None = None,
    saver: ExportSaver | None = None,
    progress: ProgressHandler | None = None,
) -> ExportResult:
    request = ExportRequest(group_id=group_id, types=types, since=since)
    return await run_export(source, request, folder, saver, progress)


async def export_patients(
    source: FhirClient | FhirConnection,
    folder: Path,
    *,
    types: tuple[str, ...] = (),
    since: str | None = None,
    saver: ExportSaver | None = None,
    progress: ProgressHandler | None = None,
) -> ExportResult:
    request = ExportRequest(group_id=None, types=types, since=since)
    return await run_export(source, request, folder, saver, progress)


__all__ = [
    "BulkExport",
    "DownloadedFile",
    "ExportProgress",
    "ExportResult",
    "ProgressHandler",
    "export_group",
    "export_patients",
    "run_export",
    "supports_bulk",
]
