"""The FHIR client's one request path: pacing, the concurrency cap, retries and failures.

Every request goes through `send`: wait out a server-imposed pause, take a slot of the
concurrency cap, take a token from the rate-limit bucket, send, and on 429/502/503/504 or a
transport error back off and retry. A 429 or 503 with Retry-After pauses the whole connection,
not just the request that got it, so the other in-flight requests do not keep hammering. An
error answer becomes a typed FhirError with one sentence (fhir/failures.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import httpx

from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig, TimeoutConfig
from healthprep_desktop.fhir.errors import (
    FhirHttpError,
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
from healthprep_desktop.fhir.parsing import (
    JSON,
    InvalidHandler,
)
from healthprep_desktop.fhir.search_limits import SearchLimits
from healthprep_desktop.fhir.tls import NetworkSettings

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


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


class FhirTransport:
    """Sends requests for one connection (see the module docstring)."""

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
        # Added to every search that names no patient (athenahealth's ah-practice: presets.py).
        self.patientless_params: tuple[tuple[str, str], ...] = ()
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
        # What this connection's server refused (learned from 400s by the chart fetch).
        self.search_limits = SearchLimits()
        # Held by the connection's first chart fetch while it learns those (fhir/record.py).
        self.first_chart = asyncio.Lock()

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

    async def __aenter__(self) -> Self:
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
        authenticate: bool = True,
    ) -> httpx.Response:
        """Send with pacing and retries; raise a typed FhirError for an error answer.

        A non-idempotent request (POST without a condition) is retried only when it cannot have
        been processed: connection refused, 429, or 503; never after a read timeout.
        `authenticate=False` sends no credential (Bulk Data files with requiresAccessToken false).
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
                        request, stream, None if budget is None else budget - spent, authenticate
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
        self,
        request: httpx.Request,
        stream: bool,
        remaining: float | None,
        authenticate: bool = True,
    ) -> tuple[httpx.Response, float]:
        """Send one request; raise TimeoutError when it outlasts the request's budget."""
        auth = self._auth if authenticate else None
        started = time.monotonic()
        key = id(request)
        self._sending[key] = started
        try:
            if remaining is None:
                response = await self._http.send(request, auth=auth, stream=stream)
            else:
                async with asyncio.timeout(max(0.0, remaining)):
                    response = await self._http.send(request, auth=auth, stream=stream)
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
