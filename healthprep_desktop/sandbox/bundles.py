"""Bundles assembled from stored JSON bytes, and page links in the configured style.

Entries are concatenated from each resource's stored bytes rather than parsed and dumped
again: serving a 50-entry page costs a join, not 50 dumps.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from healthprep_desktop.sandbox.config import LinkStyle
from healthprep_desktop.sandbox.datastore import StoredResource, dumps, instant


@dataclass(frozen=True, slots=True)
class Bases:
    """Where this organization's FHIR API lives, as seen by the requesting client."""

    url: str  # http://127.0.0.1:PORT/org/a/fhir
    path: str  # /org/a/fhir

    def link(self, style: LinkStyle, relative: str) -> str:
        if style is LinkStyle.RELATIVE:
            return relative
        if style is LinkStyle.PATH:
            return f"{self.path}/{relative}"
        return f"{self.url}/{relative}"


def relative_url(path: str, params: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(params), safe="|:,/$*")
    return f"{path}?{query}" if query else path


def _entry(base_url: str, stored: StoredResource, body: bytes, mode: str) -> bytes:
    full_url = json.dumps(f"{base_url}/{stored.key}").encode()
    return b'{"fullUrl":%s,"resource":%s,"search":{"mode":"%s"}}' % (
        full_url,
        body,
        mode.encode(),
    )


def searchset(
    base_url: str,
    total: int | None,
    links: list[tuple[str, str]],
    entries: list[tuple[StoredResource, bytes, str]],
    now: float,
) -> bytes:
    """A searchset Bundle; ``entries`` are (resource, the bytes to serve, search mode)."""
    head: dict[str, object] = {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "meta": {"lastUpdated": instant(now)},
        "type": "searchset",
    }
    if total is not None:
        head["total"] = total
    head["link"] = [{"relation": rel, "url": url} for rel, url in links]
    body = dumps(head)
    if not entries:
        return body
    joined = b",".join(_entry(base_url, s, b, mode) for s, b, mode in entries)
    return body[:-1] + b',"entry":[' + joined + b"]}"


def batch_response(entries: list[bytes], now: float) -> bytes:
    head = dumps(
        {
            "resourceType": "Bundle",
            "id": uuid.uuid4().hex,
            "meta": {"lastUpdated": instant(now)},
            "type": "batch-response",
        }
    )
    return head[:-1] + b',"entry":[' + b",".join(entries) + b"]}"


def batch_entry(
    status_line: str, body: bytes | None, *, outcome: bool, headers: dict[str, str]
) -> bytes:
    response: dict[str, str] = {"status": status_line}
    if "etag" in headers:
        response["etag"] = headers["etag"]
    if "last-modified" in headers:
        response["lastModified"] = headers["last-modified"]
    if "location" in headers:
        response["location"] = headers["location"]
    response_bytes = dumps(response)
    if body is None:
        return b'{"response":%s}' % response_bytes
    if outcome:  # an error: the OperationOutcome goes in response.outcome
        return b'{"response":' + response_bytes[:-1] + b',"outcome":' + body + b"}}"
    return b'{"resource":' + body + b',"response":' + response_bytes + b"}"
