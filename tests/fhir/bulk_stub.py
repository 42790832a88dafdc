"""A small Bulk Data server for the fhir/bulk client tests: a raw ASGI app on a real socket
(sandbox.server.BackgroundServer), scripted per test.

Kick-off at `/fhir/Group/{id}/$export` and `/fhir/Patient/$export` (202 + Content-Location),
status at `/fhir/bulkstatus/{job}` (scripted answers, then the manifest), files at
`/fhir/bulkfiles/{name}` with Range support, slow chunks, a cut connection and expiry on demand.
Everything seen is recorded (method, path, query, headers).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from healthprep_desktop.sandbox.server import BackgroundServer

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = tuple[int, dict[str, str], Any]  # status, headers, body (dict -> JSON, bytes as is)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class StubFile:
    type: str
    data: bytes
    chunk: int = 64 * 1024
    chunk_delay: float = 0.0
    cut_after: int | None = None  # close the connection once after this many bytes
    ranges: bool = True  # honour Range requests
    expired: bool = False  # 410 Gone
    sent_event: threading.Event | None = None  # set once `sent_mark` bytes went out
    sent_mark: int = 0


@dataclass
class BulkStub:
    server: BackgroundServer | None = None
    files: dict[str, StubFile] = field(default_factory=dict)
    error_files: dict[str, StubFile] = field(default_factory=dict)
    status_script: list[Answer] = field(default_factory=list)  # answered before the manifest
    kickoff_answer: Answer | None = None
    kickoff_script: list[Answer] = field(default_factory=list)
    requires_access_token: bool = True
    valid_token: str | None = None  # when set, /fhir requests need "Bearer <token>"
    transaction_time: str = "2026-12-01T10:00:00Z"
    seen: list[Seen] = field(default_factory=list)
    deleted: bool = False

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"{self.server.url}/fhir"

    def hits(self, prefix: str, method: str = "GET") -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(prefix)]

    def manifest(self) -> dict[str, Any]:
        def entry(name: str, file: StubFile) -> dict[str, Any]:
            return {"type": file.type, "url": f"{self.base}/bulkfiles/{name}"}

        return {
            "transactionTime": self.transaction_time,
            "request": f"{self.base}/Group/g/$export",
            "requiresAccessToken": self.requires_access_token,
            "output": [entry(n, f) for n, f in self.files.items()],
            "error": [entry(n, f) for n, f in self.error_files.items()],
        }

    # --- the ASGI app ------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        seen = Seen(scope["method"], path, parse_qs(scope["query_string"].decode()), headers)
        self.seen.append(seen)
        open_file = path.startswith("/fhir/bulkfiles/") and not self.requires_access_token
        token_ok = headers.get("authorization") == f"Bearer {self.valid_token}"
        if self.valid_token and not token_ok and not open_file:
            await _answer(send, (401, {}, {"resourceType": "OperationOutcome"}))
            return
        if path.endswith("/$export"):
            await _answer(send, self._kickoff())
        elif path.startswith("/fhir/bulkstatus/"):
            if seen.method == "DELETE":
                self.deleted = True
                await _answer(send, (202, {}, b""))
            elif self.status_script:
                await _answer(send, self.status_script.pop(0))
            else:
                await _answer(send, (200, {}, self.manifest()))
        elif path.startswith("/fhir/bulkfiles/"):
            name = path.rsplit("/", 1)[1]
            file = self.files.get(name) or self.error_files.get(name)
            if file is None:
                await _answer(send, (404, {}, {"resourceType": "OperationOutcome"}))
            else:
                await self._serve_file(file, headers, send)
        else:
            await _answer(send, (404, {}, {"resourceType": "OperationOutcome"}))

    def _kickoff(self) -> Answer:
        if self.kickoff_script:
            return self.kickoff_script.pop(0)
        if self.kickoff_answer is not None:
            return self.kickoff_answer
        return 202, {"Content-Location": f"{self.base}/bulkstatus/job-1"}, b""

    async def _serve_file(self, file: StubFile, headers: dict[str, str], send: Send) -> None:
        if file.expired:
            await _answer(send, (410, {}, {"resourceType": "OperationOutcome"}))
            return
        start = 0
        status = 200
        extra: list[tuple[bytes, bytes]] = []
        wanted = headers.get("range", "")
        if file.ranges and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1])
            status = 206
            total = len(file.data)
            extra.append((b"content-range", f"bytes {start}-{total - 1}/{total}".encode()))
        body = memoryview(file.data)[start:]  # no copy: the memory test measures the client
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/fhir+ndjson"),
                    (b"content-length", str(len(body)).encode()),
                    (b"accept-ranges", b"bytes" if file.ranges else b"none"),
                    *extra,
                ],
            }
        )
        sent = start
        for offset in range(0, len(body), file.chunk):
            piece = bytes(body[offset : offset + file.chunk])
            if file.cut_after is not None and sent + len(piece) > file.cut_after:
                keep = file.cut_after - sent
                await send({"type": "http.response.body", "body": piece[:keep], "more_body": True})
                file.cut_after = None  # once
                raise ConnectionResetError("the stub cuts the connection")
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            sent += len(piece)
            if file.sent_event is not None and sent >= file.sent_mark:
                file.sent_event.set()
            if file.chunk_delay:
                await asyncio.sleep(file.chunk_delay)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _answer(send: Send, answer: Answer) -> None:
    status, headers, body = answer
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    kind = "application/fhir+json" if not isinstance(body, bytes) else "text/plain"
    raw = [(b"content-type", kind.encode()), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def ndjson(resources: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


def patients(count: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [{"resourceType": "Patient", "id": f"{prefix}{i}"} for i in range(count)]


def observations(count: int, patient_count: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": f"Patient/p{i % patient_count}"},
        }
        for i in range(count)
    ]


def start(stub: BulkStub) -> BulkStub:
    stub.server = BackgroundServer(stub)
    stub.server.start()
    return stub
