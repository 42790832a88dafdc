"""The async FHIR client: one long-lived httpx.AsyncClient per connection.

Split by concern: the request path (pacing, the concurrency cap, retries with Retry-After,
typed failures) in fhir/transport.py, search Bundles in fhir/bundle_pages.py, attachments in
fhir/attachments.py; here the typed operations (read, search, create, update, batch). Every name
callers used is still importable from this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from healthprep_desktop.fhir.attachments import AttachmentData, AttachmentReader
from healthprep_desktop.fhir.bundle_pages import BundleReader, SearchPage
from healthprep_desktop.fhir.errors import InvalidResponse
from healthprep_desktop.fhir.paging import PageGuard
from healthprep_desktop.fhir.parsing import JSON, InvalidHandler, parse_model
from healthprep_desktop.fhir.search_context import names_a_patient
from healthprep_desktop.fhir.transport import (
    FHIR_JSON,
    REFUSED_ATTEMPTS,
    REQUEST_BUDGET,
    ClientStats,
    FhirTransport,
    RequestCounter,
    current_counter,
)

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: int
    resource_id: str | None
    version_id: str | None
    location: str | None
    resource: JSON | None  # the body, when the server returned one


class FhirClient(AttachmentReader, BundleReader):
    # --- typed operations --------------------------------------------------------------------

    async def read(self, resource_type: str, resource_id: str) -> JSON:
        response = await self.send("GET", f"{resource_type}/{resource_id}")
        body = await self._json(response, f"read {resource_type}")
        if body.get("resourceType") != resource_type:
            raise InvalidResponse(f"read {resource_type}: the server returned another type")
        return body

    async def read_if_changed(
        self, resource_type: str, resource_id: str, etag: str | None
    ) -> tuple[JSON | None, str | None]:
        """(resource, etag); (None, etag) when the server answers 304 Not Modified."""
        headers = {"If-None-Match": etag} if etag else None
        response = await self.send(
            "GET", f"{resource_type}/{resource_id}", headers=headers, ok_statuses=(304,)
        )
        if response.status_code == 304:
            return None, etag
        return await self._json(response, f"read {resource_type}"), response.headers.get("ETag")

    async def read_model(self, model: type[M], resource_id: str) -> M:
        """Typed read: `await client.read_model(Patient, "123")` -> a fhir.resources R4B Patient."""
        resource_type = str(model.get_resource_type())  # type: ignore[attr-defined]
        body = await self.read(resource_type, resource_id)
        parsed: M = parse_model(body)
        return parsed

    async def search_pages(
        self,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        on_invalid: InvalidHandler | None = None,
        max_pages: int | None = None,
        method: str = "GET",
    ) -> AsyncIterator[SearchPage]:
        """Pages of a search (or of an operation returning a searchset, e.g. $everything),
        following `next` links to the end. Raises PagingLoop / TooManyPages rather than stop
        quietly with part of the data."""
        guard = PageGuard(max_pages or self.max_pages)
        url = self.url(path)
        request_params: Any = self._with_context(path, params)
        while True:
            guard.visit(str(httpx.URL(url, params=request_params)) if request_params else url)
            response = await self.send(method, url, params=request_params)
            current_url = str(response.request.url)
            bundle = await self._json(response, f"search {path.split('?')[0]}")
            # Validating a page costs ~0.25 ms per resource, and the first resource of a type
            # imports its model modules: done on the loop, a 200-resource page freezes the
            # window. A thread keeps the loop responsive (the GIL switches every 5 ms).
            page = await asyncio.to_thread(self._page_from_bundle, bundle, current_url, on_invalid)
            yield page
            if page.next_url is None:
                return
            url, request_params, method = page.next_url, None, "GET"

    def _with_context(
        self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None
    ) -> Mapping[str, Any] | list[tuple[str, Any]] | None:
        """A type search that names no patient gets the EHR's patient-less context (athena's
        ah-practice); instance operations ("Patient/1/$everything") and named patients do not."""
        if not self.patientless_params or "/" in path or path.startswith("$"):
            return params
        items: list[tuple[str, Any]] = []
        if isinstance(params, Mapping):
            for name, value in params.items():
                values = value if isinstance(value, list | tuple) else [value]
                items.extend((name, v) for v in values)
        else:
            items = list(params or [])
        if names_a_patient(items):
            return params
        return [*items, *self.patientless_params]

    async def search(
        self,
        resource_type: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        on_invalid: InvalidHandler | None = None,
    ) -> AsyncIterator[JSON]:
        async for page in self.search_pages(resource_type, params, on_invalid=on_invalid):
            for resource in page.resources:
                yield resource

    async def search_all(
        self,
        resource_type: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        on_invalid: InvalidHandler | None = None,
    ) -> list[JSON]:
        return [r async for r in self.search(resource_type, params, on_invalid=on_invalid)]

    async def create(
        self,
        resource: JSON,
        *,
        return_representation: bool = True,
        if_none_exist: str | None = None,
    ) -> WriteResult:
        headers = {"Content-Type": FHIR_JSON}
        if return_representation:
            headers["Prefer"] = "return=representation"
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        response = await self.send(
            "POST",
            str(resource["resourceType"]),
            json=resource,
            headers=headers,
            idempotent=if_none_exist is not None,
        )
        return self._write_result(response)

    async def update(
        self, resource: JSON, *, if_match: str | None = None, return_representation: bool = True
    ) -> WriteResult:
        headers = {"Content-Type": FHIR_JSON}
        if return_representation:
            headers["Prefer"] = "return=representation"
        if if_match:
            headers["If-Match"] = if_match
        path = f"{resource['resourceType']}/{resource['id']}"
        response = await self.send("PUT", path, json=resource, headers=headers)
        return self._write_result(response)

    def _write_result(self, response: httpx.Response) -> WriteResult:
        body: JSON | None = None
        if response.content:
            try:
                parsed = response.json()
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        resource_id, version = _id_from_location(location)
        if body is not None:
            resource_id = body.get("id") or resource_id
            version = (body.get("meta") or {}).get("versionId") or version
        return WriteResult(response.status_code, resource_id, version, location, body)

    async def batch(self, requests: list[tuple[str, str]]) -> list[JSON | None]:
        """A batch Bundle of (method, url) entries; returns each entry's resource (or None)."""
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": m, "url": u}} for m, u in requests],
        }
        # A batch of reads is idempotent even though it is a POST.
        response = await self.send(
            "POST", "", json=bundle, headers={"Content-Type": FHIR_JSON}, idempotent=True
        )
        body = await self._json(response, "batch")
        results: list[JSON | None] = []
        for entry in body.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            results.append(resource if isinstance(resource, dict) else None)
        return results


def _id_from_location(location: str | None) -> tuple[str | None, str | None]:
    """("123", "2") from ".../DocumentReference/123/_history/2"."""
    if not location:
        return None, None
    parts = [p for p in httpx.URL(location).path.split("/") if p]
    version = None
    if len(parts) >= 2 and parts[-2] == "_history":
        version = parts[-1]
        parts = parts[:-2]
    return (parts[-1] if len(parts) >= 2 else None), version


__all__ = [
    "FHIR_JSON",
    "REFUSED_ATTEMPTS",
    "REQUEST_BUDGET",
    "AttachmentData",
    "ClientStats",
    "FhirClient",
    "FhirTransport",
    "RequestCounter",
    "SearchPage",
    "WriteResult",
    "current_counter",
]
