"""Fault and load injection, and the request counters tests and benchmarks read.

The middleware sits outside the web app so it sees uvicorn's own ``send`` (needed to drop a
connection with no response at all) and every status the app or a fault produced. Faults hit
FHIR data requests; discovery, /metadata and the sandbox endpoints stay reliable so a client can
always find its way in (``FaultConfig.include_auth`` extends faults to /authorize and /token).

Random faults come from seeded streams, one per kind, so a sequential client sees the same
faults on every run; the malformed-resource choice hashes the seed with the resource id, so it
does not depend on request order at all.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from healthprep_desktop.sandbox.config import JSON, FaultConfig, OverCapacity
from healthprep_desktop.sandbox.datastore import dumps

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FHIR_JSON = b"application/fhir+json; charset=utf-8"


def _fraction(seed: int, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def is_malformed(seed: int, fraction: float, resource_type: str, resource_key: str) -> bool:
    """Whether this resource is served malformed (never the Patient a record hangs on)."""
    if fraction <= 0 or resource_type == "Patient":
        return False
    return _fraction(seed, resource_key) < fraction


def corrupt(resource: JSON, seed: int) -> JSON:
    """A copy of the resource with one element of the wrong type or an invalid value; each
    variant fails fhir.resources validation, as a buggy EHR interface would."""
    bad = copy.deepcopy(resource)
    variants: list[str] = ["meta"]
    if isinstance(bad.get("status"), str):
        variants.append("status")
    if isinstance(bad.get("subject"), dict):
        variants.append("subject")
    variants.append("unknown-element")
    pick = variants[
        int(_fraction(seed + 1, f"{bad.get('resourceType')}/{bad.get('id')}") * 1e6) % len(variants)
    ]
    if pick == "meta":
        bad["meta"] = {**(bad.get("meta") or {}), "lastUpdated": "not-a-date"}
    elif pick == "status":
        bad["status"] = [bad["status"]]
    elif pick == "subject":
        bad["subject"] = str(bad["subject"].get("reference", "Patient/unknown"))
    else:
        bad["unexpectedElement"] = {"value": 1}
    return bad


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> bytes:
    return dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        }
    )


class SandboxStats:
    """Requests served per organization, type, interaction and status (no ids, no PHI)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._faults: Counter[str] = Counter()
        self._since = time.monotonic()

    def record(self, org: str, resource_type: str, interaction: str, status: str) -> None:
        with self._lock:
            self._counts[(org, resource_type, interaction, status)] += 1

    def fault(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self._faults[kind] += n

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._faults.clear()
            self._since = time.monotonic()

    def snapshot(self) -> JSON:
        with self._lock:
            counts = dict(self._counts)
            faults = dict(self._faults)
            elapsed = time.monotonic() - self._since
        by: dict[str, Counter[str]] = {
            k: Counter() for k in ("org", "type", "interaction", "status")
        }
        for (org, rtype, interaction, status), n in counts.items():
            by["org"][org] += n
            by["type"][rtype] += n
            by["interaction"][interaction] += n
            by["status"][status] += n
        return {
            "requests": sum(counts.values()),
            "seconds": round(elapsed, 3),
            "by_org": dict(by["org"]),
            "by_type": dict(by["type"]),
            "by_interaction": dict(by["interaction"]),
            "by_status": dict(by["status"]),
            "faults": faults,
            "detail": [
                {"org": o, "type": t, "interaction": i, "status": s, "count": n}
                for (o, t, i, s), n in sorted(counts.items())
            ],
        }


class FaultInjector:
    """Decides, per request, which fault (if any) to inject; reads its FaultConfig live."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._inflight = 0
        self._condition: asyncio.Condition | None = None
        self.reset()

    def reset(self) -> None:
        """Restart the random streams and the rate limiter from the current settings."""
        seed = self.config.seed
        self._seed = seed
        self._jitter = random.Random(f"{seed}:jitter")
        self._drop = random.Random(f"{seed}:drop")
        self._error = random.Random(f"{seed}:error")
        self._bucket_key: tuple[float | None, int | None] = (None, None)
        self._tokens = 0.0
        self._last = time.monotonic()

    def _check_seed(self) -> None:
        if self.config.seed != self._seed:
            self.reset()

    def latency(self) -> float:
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.jitter_ms <= 0:
            return 0.0
        jitter = self._jitter.uniform(0, cfg.jitter_ms) if cfg.jitter_ms > 0 else 0.0
        return max(0.0, cfg.latency_ms + jitter) / 1000.0

    def rate_limited(self) -> float | None:
        """None when the request may proceed, else the seconds until a token is available."""
        cfg = self.config
        rate = cfg.rate_limit
        if not rate or rate <= 0:
            return None
        burst = float(cfg.rate_burst or max(1, math.ceil(rate)))
        now = time.monotonic()
        if self._bucket_key != (rate, cfg.rate_burst):
            self._bucket_key = (rate, cfg.rate_burst)
            self._tokens = burst
            self._last = now
        self._tokens = min(burst, self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / rate

    def should_drop(self) -> bool:
        return self.config.drop_rate > 0 and self._drop.random() < self.config.drop_rate

    def random_error(self) -> int | None:
        cfg = self.config
        if cfg.error_rate <= 0 or not cfg.error_statuses:
            return None
        if self._error.random() >= cfg.error_rate:
            return None
        return cfg.error_statuses[self._error.randrange(len(cfg.error_statuses))]

    async def acquire(self) -> bool:
        cap = self.config.max_concurrent
        if cap is None or cap <= 0:
            self._inflight += 1
            return True
        if self.config.over_capacity is OverCapacity.REJECT:
            if self._inflight >= cap:
                return False
            self._inflight += 1
            return True
        if self._condition is None:
            self._condition = asyncio.Condition()
        async with self._condition:
            await self._condition.wait_for(
                lambda: self._inflight < (self.config.max_concurrent or 1 << 30)
            )
            self._inflight += 1
        return True

    async def release(self) -> None:
        self._inflight -= 1
        if self._condition is not None:
            async with self._condition:
                self._condition.notify()


def classify(path: str, method: str) -> tuple[str, str, bool, bool]:
    """(org, interaction guess, is FHIR data, is auth) from the path alone."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "org":
        org, area, rest = parts[1], parts[2], parts[3:]
        if area == "fhir":
            if not rest:
                return org, "batch", method == "POST", False
            if rest[0] == "metadata":
                return org, "capabilities", False, False
            if rest[0] == ".well-known":
                return org, "smart-configuration", False, False
            return org, "fhir", True, False
        if area == "auth" and rest:
            return org, rest[0], False, rest[0] in ("authorize", "token")
    if parts[:1] == ["_sandbox"]:
        return "-", "sandbox", False, False
    return "-", "other", False, False


class FaultMiddleware:
    def __init__(self, app: ASGIApp, injector: FaultInjector, stats: SandboxStats) -> None:
        self.app = app
        self.injector = injector
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        org, interaction, is_data, is_auth = classify(scope["path"], scope["method"])
        info = {"org": org, "type": "-", "interaction": interaction}
        scope["sandbox"] = info  # the app fills in type and interaction
        status = ["0"]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        faulty = is_data or (is_auth and self.injector.config.include_auth)
        if not faulty:
            await self.app(scope, receive, counting_send)
        else:
            await self._with_faults(scope, receive, send, counting_send, status)
        self.stats.record(info["org"], info["type"], info["interaction"], status[0])

    async def _with_faults(
        self, scope: Scope, receive: Receive, raw_send: Send, send: Send, status: list[str]
    ) -> None:
        injector = self.injector
        injector._check_seed()
        if not await injector.acquire():
            self.stats.fault("over_capacity")
            await _error(send, 503, "transient", "too many concurrent requests", retry_after=1)
            return
        try:
            wait = injector.rate_limited()
            if wait is not None:
                self.stats.fault("rate_limited")
                # Some servers (profiles) say when to come back, some leave the client to guess.
                retry = math.ceil(wait) if injector.config.retry_after_header else None
                await _error(send, 429, "throttled", "rate limit exceeded", retry)
                return
            delay = injector.latency()
            if delay > 0:
                self.stats.fault("latency")
                await asyncio.sleep(delay)
            if injector.should_drop():
                self.stats.fault("dropped")
                status[0] = "dropped"
                await _drop(raw_send, send)
                return
            error = injector.random_error()
            if error is not None:
                self.stats.fault("server_error")
                await _error(
                    send,
                    error,
                    "exception",
                    "injected server error",
                    retry_after=1 if error == 503 else None,
                )
                return
            cfg = injector.config
            if cfg.slow_body_ms > 0:
                self.stats.fault("slow_body")
                send = _slow(send, cfg.slow_body_ms / 1000.0, max(1, cfg.slow_body_chunks))
            await self.app(scope, receive, send)
        finally:
            await injector.release()


async def _error(send: Send, status: int, code: str, text: str, retry_after: int | None) -> None:
    body = operation_outcome(code, text)
    headers = [(b"content-type", FHIR_JSON), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, retry_after)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(raw_send: Send, send: Send) -> None:
    """Close the connection with no response. uvicorn's send is a bound method of the
    request cycle, which holds the transport; failing that, promise a body and stop."""
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(3):  # let connection_lost run so uvicorn does not answer 500
            await asyncio.sleep(0)
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]}
    )
    raise ConnectionAbortedError("injected dropped connection")


def _slow(send: Send, total_seconds: float, chunks: int) -> Send:
    async def slow_send(message: Message) -> None:
        body = message.get("body", b"")
        if message["type"] != "http.response.body" or not body:
            await send(message)
            return
        more = bool(message.get("more_body", False))
        size = max(1, math.ceil(len(body) / chunks))
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        pause = total_seconds / len(pieces)
        for n, piece in enumerate(pieces):
            await asyncio.sleep(pause)
            last = n == len(pieces) - 1
            await send({"type": "http.response.body", "body": piece, "more_body": more or not last})

    return slow_send
