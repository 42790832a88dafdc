"""The async FHIR client: one long-lived httpx.AsyncClient per connection.

Every request goes through one path (`_send`): wait out a server-imposed pause, take a slot of
the concurrency cap, take a token from the rate-limit bucket, send, and on 429/502/503/504 or a
transport error back off and retry. A 429 or 503 with Retry-After pauses the whole connection,
not just the request that got it, so the other in-flight requests do not keep hammering.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig, TimeoutConfig
from healthprep_desktop.fhir.errors import (
    AttachmentTooLarge,
    FhirHttpError,
    InvalidResponse,
    parse_operation_outcome,
)
from healthprep_desktop.fhir.failures import (
    http_failure,
    is_refused,
    not_fhir,
    transport_failure,
)
from healthprep_desktop.fhir.pacing import (
    TokenBucket,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from healthprep_desktop.fhir.paging import PageGuard, next_link, resolve_link
from healthprep_desktop.fhir.parsing import (
    JSON,
    InvalidHandler,
    InvalidResource,
    check_resource,
    parse_model,
    repair,
)
from healthprep_desktop.fhir.tls import NetworkSettings

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
M = TypeVar("M")


_THREAD_DECODE_BYTES = 64 * 1024
# Seconds one request may take on the wire, retries and their pauses included (queueing for a
# slot, the rate limit and a server-imposed Retry-After pause are not counted): a server that
# accepts and never answers fails the request in bounded time instead of 6 x the read timeout.
REQUEST_BUDGET = 30.0
# A refused connection is tried twice at most: nothing listens there, and retrying it six times
# per request (for every request of every patient) only delays the one useful message.
REFUSED_ATTEMPTS = 2


class RequestCounter:
    """Counts the HTTP requests made inside one unit of work (e.g. one patient's fetch),
    concurrent sub-tasks included: set it in `current_counter` and every request made from that
    context (and the tasks it spawns) adds to it."""

    def __init__(self) -> None:
        self.count = 0


current_counter: contextvars.ContextVar[RequestCounter | None] = contextvars.ContextVar(
    "healthprep_fhir_request_counter", default=None
)


@dataclass(slots=True)
class ClientStats:
    requests: int = 0  # HTTP requests sent, retries and auth retries included
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers
    transport_errors: int = 0
    waited_for_retry_after: float = 0.0  # seconds spent paused on Retry-After


@dataclass(slots=True)
class SearchPage:
    url: str
    resources: list[JSON]
    total: int | None
    next_url: str | None
    invalid: list[InvalidResource] = field(default_factory=list)
    outcomes: list[JSON] = field(default_factory=list)  # search.mode = outcome entries


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: int
    resource_id: str | None
    version_id: str | None
    location: str | None
    resource: JSON | None  # the body, when the server returned one


@dataclass(frozen=True, slots=True)
class AttachmentData:
    data: bytes | None  # None when not modified (ETag matched)
    content_type: str
    etag: str | None = None
    not_modified: bool = False


class FhirClient:
    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        rate_limit: RateLimitConfig | None = None,
        retry: RetryConfig | None = None,
        timeout: TimeoutConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_file: str = "",  # a private CA, on top of the OS trust store (fhir/tls.py)
        proxy: str = "",  # "" = the system's proxy settings
        validate: bool = True,
        keep_invalid: bool = False,
        on_invalid: InvalidHandler | None = None,
        max_pages: int = 1000,
        max_attachment_bytes: int = 20 * 1024 * 1024,
        rng: random.Random | None = None,
        request_budget: float | None = REQUEST_BUDGET,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_budget = request_budget
        # "user", "patient" or "system": names the missing scope in a 403's message.
        self.scope_prefix: str | None = None
        self._sending: dict[int, float] = {}  # in-flight requests -> when they were sent
        self._last_delay = 0.0
        self._auth = auth
        limits = rate_limit or RateLimitConfig()
        self._retry = retry or RetryConfig()
        t = timeout or TimeoutConfig()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            # The pool holds at least as many keep-alive connections as requests may be in
            # flight, so connections are reused rather than reopened.
            limits=httpx.Limits(
                max_connections=limits.max_connections_hint(),
                max_keepalive_connections=limits.max_connections_hint(),
            ),
            transport=transport,
            # OS trust store (+ the connection's CA file; one shared SSL context per file) and
            # the connection's proxy, else the system's proxy settings.
            **NetworkSettings(ca_file, proxy).client_options(),
            headers={"Accept": FHIR_JSON, "User-Agent": "HealthPrep-Desktop"},
            event_hooks={"request": [self._count_request]},
        )
        self._semaphore = asyncio.Semaphore(max(1, limits.max_concurrency))
        self._bucket = TokenBucket(limits.requests_per_second, limits.burst)
        self._paused_until = 0.0
        self.validate = validate
        self.keep_invalid = keep_invalid
        self.on_invalid = on_invalid
        self.max_pages = max_pages
        self.max_attachment_bytes = max_attachment_bytes
        self._rng = rng or random.Random()
        self.stats = ClientStats()

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying client (also used, without the FHIR auth, for OAuth requests)."""
        return self._http

    async def _count_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1
        counter = current_counter.get()
        if counter is not None:
            counter.count += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    def longest_wait(self) -> float:
        """Seconds the oldest request on the wire has waited for its answer (0 when none)."""
        if not self._sending:
            return 0.0
        return max(0.0, time.monotonic() - min(self._sending.values()))

    @property
    def host(self) -> str:
        return httpx.URL(self.base_url).host or self.base_url

    async def __aenter__(self) -> FhirClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the one request path ----------------------------------------------------------------

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    async def _wait_for_pause(self) -> None:
        while (remaining := self._paused_until - time.monotonic()) > 0:
            self.stats.waited_for_retry_after += remaining
            await asyncio.sleep(remaining)

    async def send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with pacing and retries; raise a typed FhirError for an error answer.

        A non-idempotent request (POST without a condition) is retried only when it cannot have
        been processed: connection refused, 429, or 503; never after a read timeout.
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        url = self.url(path_or_url)
        attempt = refused = 0
        budget = self.request_budget
        spent = 0.0  # seconds on the wire and in backoff, counted against the budget
        while True:
            attempt += 1
            request = self._http.build_request(
                method, url, params=params, json=json, content=content, headers=headers
            )
            try:
                async with self._semaphore:
                    await self._wait_for_pause()
                    await self._bucket.acquire()
                    # A 429 may have paused the connection while this request waited its turn.
                    await self._wait_for_pause()
                    response, took = await self._send_within(
                        request, stream, None if budget is None else budget - spent
                    )
                    spent += took
            except (httpx.TransportError, TimeoutError) as exc:
                self.stats.transport_errors += 1
                if not isinstance(exc, httpx.TransportError):  # the request's budget is spent
                    raise transport_failure(exc, request.url.host, budget=budget) from None
                safe = idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                refused += is_refused(exc)
                if (
                    not safe
                    or attempt >= self._retry.max_attempts
                    or refused >= REFUSED_ATTEMPTS
                    or not await self._backoff_within(attempt, None, budget, spent)
                ):
                    raise transport_failure(exc, request.url.host, budget=budget) from exc
                spent += self._last_delay
                continue
            status = response.status_code
            if status in ok_statuses or status < 400:
                return response
            if (
                is_retryable_status(status)
                and attempt < self._retry.max_attempts
                and (idempotent or status in (429, 503))
            ):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if status == 429:
                    self.stats.rate_limited += 1
                else:
                    self.stats.server_errors += 1
                await response.aclose()
                if retry_after is not None and status in (429, 503):
                    # Pause the whole connection: every request honours the server's request.
                    wait = min(retry_after, self._retry.max_retry_after)
                    self._paused_until = max(self._paused_until, time.monotonic() + wait)
                    await self._sleep_before_retry(attempt, retry_after)
                    continue
                if await self._backoff_within(attempt, None, budget, spent):
                    spent += self._last_delay
                    continue
                raise self._error(method, request.url, response)
            if status >= 500:
                self.stats.server_errors += 1
            await response.aread()
            raise self._error(method, request.url, response)

    async def _send_within(
        self, request: httpx.Request, stream: bool, remaining: float | None
    ) -> tuple[httpx.Response, float]:
        """Send one request; raise TimeoutError when it outlasts the request's budget."""
        started = time.monotonic()
        key = id(request)
        self._sending[key] = started
        try:
            if remaining is None:
                response = await self._http.send(request, auth=self._auth, stream=stream)
            else:
                async with asyncio.timeout(max(0.0, remaining)):
                    response = await self._http.send(request, auth=self._auth, stream=stream)
        finally:
            self._sending.pop(key, None)
        return response, time.monotonic() - started

    async def _backoff_within(
        self, attempt: int, retry_after: float | None, budget: float | None, spent: float
    ) -> bool:
        """Sleep before a retry, unless the pause and a try would not fit in the budget."""
        delay = backoff_delay(attempt, self._retry, retry_after=retry_after, rng=self._rng)
        self._last_delay = delay
        if budget is not None and spent + delay >= budget:
            return False
        self.stats.retries += 1
        await asyncio.sleep(delay)
        return True

    async def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        self.stats.retries += 1
        delay = backoff_delay(attempt, self._retry, retry_after=retry_after, rng=self._rng)
        await asyncio.sleep(delay)

    def _error(self, method: str, url: httpx.URL, response: httpx.Response) -> FhirHttpError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return http_failure(
            response.status_code,
            method,
            url.path,
            base_path=httpx.URL(self.base_url).path.rstrip("/"),
            host=url.host,
            issues=parse_operation_outcome(body),
            scope_prefix=self.scope_prefix,
        )

    async def _json(self, response: httpx.Response, what: str) -> JSON:
        try:
            # A searchset page can be megabytes: decode it off the event loop.
            body = (
                await asyncio.to_thread(response.json)
                if len(response.content) > _THREAD_DECODE_BYTES
                else response.json()
            )
        except ValueError as exc:
            raise not_fhir(response, self.base_url, what) from exc
        if not isinstance(body, dict):
            raise not_fhir(response, self.base_url, what)
        return body

    # --- lenient validation ------------------------------------------------------------------

    def _accept(
        self, resource: Any, invalid: list[InvalidResource], on_invalid: InvalidHandler | None
    ) -> bool:
        if not self.validate:
            return isinstance(resource, dict)
        problem = check_resource(resource)
        if problem is None:
            return True
        if self.keep_invalid and isinstance(resource, dict):
            repair(resource)
            problem = InvalidResource(
                problem.resource_type,
                problem.resource_id,
                problem.error_kinds,
                problem.paths,
                kept=True,
            )
        invalid.append(problem)
        handler = on_invalid or self.on_invalid
        if handler is not None:
            handler(problem)
        log.warning(
            "%s invalid resource: %s", "kept" if problem.kept else "skipped", problem.describe()
        )
        return problem.kept

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
        request_params: Any = params
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

    def _page_from_bundle(
        self, bundle: JSON, current_url: str, on_invalid: InvalidHandler | None
    ) -> SearchPage:
        if bundle.get("resourceType") != "Bundle":
            raise InvalidResponse("a search did not return a Bundle")
        resources: list[JSON] = []
        outcomes: list[JSON] = []
        invalid: list[InvalidResource] = []
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if resource is None:
                continue
            search = entry.get("search") if isinstance(entry.get("search"), dict) else {}
            if (search or {}).get("mode") == "outcome" or (
                isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"
            ):
                outcomes.append(resource)
                continue
            if self._accept(resource, invalid, on_invalid):
                resources.append(resource)
        link = next_link(bundle)
        total = bundle.get("total")
        return SearchPage(
            url=current_url,
            resources=resources,
            total=total if isinstance(total, int) else None,
            next_url=resolve_link(self.base_url, current_url, link) if link else None,
            invalid=invalid,
            outcomes=outcomes,
        )

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

    def page_from_bundle(
        self, bundle: JSON, on_invalid: InvalidHandler | None = None
    ) -> SearchPage:
        """Validate the entries of a Bundle obtained some other way (e.g. inside a batch)."""
        return self._page_from_bundle(bundle, self.base_url, on_invalid)

    # --- attachments -------------------------------------------------------------------------

    async def fetch_attachment(
        self, attachment: JSON, *, max_bytes: int | None = None, etag: str | None = None
    ) -> AttachmentData:
        """The bytes of a DocumentReference attachment: inline `data`, or `url` (relative to the
        FHIR base, e.g. "Binary/123", or absolute), streamed with a size cap."""
        cap = max_bytes or self.max_attachment_bytes
        content_type = str(attachment.get("contentType") or "application/octet-stream")
        if attachment.get("data"):
            raw = str(attachment["data"])
            if len(raw) * 3 // 4 > cap:
                raise AttachmentTooLarge(f"inline attachment is over {cap} bytes")
            try:
                return AttachmentData(base64.b64decode(raw, validate=False), content_type)
            except ValueError as exc:
                raise InvalidResponse("inline attachment data is not valid base64") from exc
        url = attachment.get("url")
        if not url:
            raise InvalidResponse("the attachment has neither data nor url")
        size = attachment.get("size")
        if isinstance(size, int) and size > cap:
            raise AttachmentTooLarge(f"attachment is over {cap} bytes")
        headers = {"Accept": f"{content_type}, {FHIR_JSON};q=0.5, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        response = await self.send(
            "GET", str(url), headers=headers, stream=True, ok_statuses=(304,)
        )
        try:
            if response.status_code == 304:
                return AttachmentData(None, content_type, etag, not_modified=True)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise AttachmentTooLarge(f"attachment is over {cap} bytes")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > cap:
                    raise AttachmentTooLarge(f"attachment is over {cap} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        data = b"".join(chunks)
        served_type = response.headers.get("Content-Type", content_type).split(";")[0].strip()
        new_etag = response.headers.get("ETag")
        if served_type in (FHIR_JSON, "application/json"):
            # The server sent the Binary resource itself: the content is base64 inside it.
            return _binary_resource_content(data, content_type, new_etag)
        return AttachmentData(data, served_type or content_type, new_etag)


def _binary_resource_content(data: bytes, fallback_type: str, etag: str | None) -> AttachmentData:
    import json as jsonlib

    try:
        body = jsonlib.loads(data)
    except ValueError as exc:
        raise InvalidResponse("the attachment is not valid JSON") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "Binary":
        raise InvalidResponse("the attachment URL returned JSON that is not a Binary")
    raw = body.get("data") or ""
    return AttachmentData(
        base64.b64decode(str(raw)), str(body.get("contentType") or fallback_type), etag
    )


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
