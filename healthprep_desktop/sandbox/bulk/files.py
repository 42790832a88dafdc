"""Serving an export's NDJSON files: streamed from disk, with HTTP Range, expiry and cuts.

This is a raw ASGI app rather than a Starlette endpoint for one reason: to cut a download
(``BulkConfig.next_downloads_cut``) it sends part of the body and returns without finishing,
and uvicorn then closes the connection, exactly what a client sees when a network drops.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import anyio

from healthprep_desktop.sandbox.fhir_common import FhirError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

NDJSON = b"application/fhir+ndjson"
CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range asked for, None for the whole file; FhirError 416 if unsatisfiable.
    Several ranges at once are not supported: the whole file is sent (RFC 9110 allows it)."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(0, size - length), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return ByteRange(start, end)


def _unsatisfiable(size: int) -> FhirError:
    return FhirError(
        416,
        "invalid",
        f"the requested range is outside the file ({size} bytes)",
        {"Content-Range": f"bytes */{size}"},
    )


def file_headers(
    size: int, etag: str, modified: float, part: ByteRange | None
) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", NDJSON),
        (b"accept-ranges", b"bytes"),
        (b"etag", etag.encode()),
        (b"last-modified", formatdate(modified, usegmt=True).encode()),
        (b"cache-control", b"private, no-store"),
    ]
    if part is None:
        headers.append((b"content-length", str(size).encode()))
    else:
        headers.append((b"content-length", str(part.length).encode()))
        headers.append((b"content-range", f"bytes {part.start}-{part.end}/{size}".encode()))
    return headers


async def send_file(
    send: Send,
    path: Any,
    size: int,
    part: ByteRange | None,
    headers: list[tuple[bytes, bytes]],
    cut_after: int | None,
) -> None:
    """Stream ``path`` (or the part of it asked for) in chunks; with ``cut_after``, stop after
    that many body bytes without finishing the response (the server then drops the line)."""
    start, remaining = (0, size) if part is None else (part.start, part.length)
    status = 200 if part is None else 206
    await send({"type": "http.response.start", "status": status, "headers": headers})
    budget = cut_after if cut_after is not None else remaining
    async with await anyio.open_file(path, "rb") as handle:
        await handle.seek(start)
        while remaining > 0 and budget > 0:
            chunk = await handle.read(min(CHUNK, remaining, budget))
            if not chunk:
                break
            remaining -= len(chunk)
            budget -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if cut_after is not None and remaining > 0:
        return  # unfinished on purpose: uvicorn closes the connection
    await send({"type": "http.response.body", "body": b"", "more_body": False})
