"""NDJSON output files: streamed to private files, resumed with Range, read back line by line.

A Bulk Data file can be hundreds of megabytes, so it is never held in memory: the download writes
each chunk as it arrives, and `iter_ndjson` yields one resource per line. The files hold patient
data, so they are 0600 in 0700 folders (the same rule as workers/private_files.py, repeated here
because the fhir package does not import the workers). A line that is not a FHIR resource is
reported by file and line number, never by its content.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import BulkFileExpired, BulkFileInvalid
from healthprep_desktop.fhir.failures import transport_failure
from healthprep_desktop.fhir.parsing import JSON

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
NDJSON = "application/fhir+ndjson"
CHUNK = 64 * 1024
# A download cut this many times in a row is given up (each retry resumes where it stopped).
CUT_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class BadLine:
    file: Path
    line: int
    reason: str  # "is not JSON", "is not a FHIR resource": never the line's content

    def sentence(self) -> str:
        return (
            f"Line {self.line} of {self.file.name} {self.reason}: the export file is damaged; "
            "start the export again, and report it to the EHR's administrator if it repeats."
        )


BadLineHandler = Callable[[BadLine], None]


def make_private_folder(path: Path) -> None:
    """Create `path` and missing parents as 0700; an existing folder keeps its permissions."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        with contextlib.suppress(OSError):  # the umask may have taken bits we never gave
            folder.chmod(DIR_MODE)


def _open_private(path: Path, *, append: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), FILE_MODE)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, FILE_MODE)  # an older file, or the umask, may have other bits
    return fd


def _size_on_disk(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _content_range_start(response: httpx.Response) -> int | None:
    """The first byte of a 206 answer ("bytes 100-199/200"), None when absent or unreadable."""
    value = response.headers.get("Content-Range", "")
    unit, _, rest = value.partition(" ")
    if unit.strip().lower() != "bytes":
        return None
    start = rest.split("-", 1)[0].strip()
    return int(start) if start.isdigit() else None


async def download_file(
    client: FhirClient,
    url: str,
    path: Path,
    *,
    authenticate: bool,
    resume: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Stream `url` into `path` (0600); return the file's size. With `resume`, an existing part
    is continued with a Range request where the server honours it, else downloaded again. A
    connection cut mid-file resumes the same way, up to CUT_ATTEMPTS times."""
    offset = _size_on_disk(path) if resume else 0
    cuts = 0
    while True:
        headers = {"Accept": NDJSON}
        if offset:
            # Offsets count the decoded bytes on disk: ask for the unencoded representation.
            headers.update({"Range": f"bytes={offset}-", "Accept-Encoding": "identity"})
        response = await client.send(
            "GET",
            url,
            headers=headers,
            stream=True,
            authenticate=authenticate,
            ok_statuses=(404, 410, 416),
        )
        try:
            status = response.status_code
            if status in (404, 410):
                raise BulkFileExpired(
                    "The export's files are no longer on the server (they expire some time "
                    "after the export completes): start the export again."
                )
            if status == 416:  # our part is not a prefix the server recognises: start over
                offset = 0
                await response.aclose()
                _discard(path)
                continue
            append = bool(offset) and status == 206 and _content_range_start(response) == offset
            if not append:
                offset = 0  # the server sent the whole file (no Range support): restart it
            fd = _open_private(path, append=append)
            try:
                async for chunk in response.aiter_bytes(CHUNK):
                    os.write(fd, chunk)
                    offset += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
            finally:
                os.close(fd)
            return offset
        except httpx.TransportError as exc:
            cuts += 1
            client.stats.transport_errors += 1
            log.info("bulk download cut after %d bytes (attempt %d)", offset, cuts)
            if cuts >= CUT_ATTEMPTS:
                raise transport_failure(exc, httpx.URL(url).host) from exc
            await asyncio.sleep(min(0.1 * 2**cuts, 5.0))
        finally:
            await response.aclose()


def count_lines(path: Path) -> int:
    """Resources in an NDJSON file (its lines; NDJSON has no blank ones), read in chunks."""
    count = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def iter_ndjson(path: Path, *, on_bad_line: BadLineHandler | None = None) -> Iterator[JSON]:
    """One resource per line of `path`. A bad line is passed to `on_bad_line` and skipped; with
    no handler it raises BulkFileInvalid (file and line number, never the content)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line:
                continue
            reason = None
            try:
                value = json.loads(line)
            except ValueError:
                reason = "is not JSON"
            else:
                if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
                    reason = "is not a FHIR resource"
            if reason is None:
                yield value
                continue
            bad = BadLine(path, number, reason)
            if on_bad_line is None:
                raise BulkFileInvalid(bad.sentence(), path.name, number)
            on_bad_line(bad)


__all__ = [
    "BadLine",
    "BadLineHandler",
    "count_lines",
    "download_file",
    "iter_ndjson",
    "make_private_folder",
]
