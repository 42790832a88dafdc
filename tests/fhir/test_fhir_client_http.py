"""Generic client behaviours over real loopback HTTP (a stdlib server in a thread)."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.auth import BearerAuth
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.errors import (
    AttachmentTooLarge,
    FhirTransportError,
    NotFound,
    OAuthError,
    ReauthenticationRequired,
    ServerError,
)
from healthprep_desktop.fhir.paging import PagingLoop
from healthprep_desktop.fhir.parsing import InvalidResource
from healthprep_desktop.fhir.status import MemoryAudit
from healthprep_desktop.fhir.tokens import MemoryTokenStore, TokenManager, TokenSet

FAST_RETRY = RetryConfig(max_attempts=4, base_delay=0.01, max_delay=0.05)
OPEN = RateLimitConfig(requests_per_second=0, max_concurrency=16)


def obs(i: int, value: object = 1.0) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": value},
    }


def bundle(resources: list[dict[str, object]], next_url: str | None = None) -> dict[str, object]:
    links = [{"relation": "next", "url": next_url}] if next_url else []
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": r} for r in resources],
    }


def client_for(server: LoopbackServer, **kwargs: object) -> FhirClient:
    options: dict[str, object] = {"retry": FAST_RETRY, "rate_limit": OPEN}
    options.update(kwargs)
    return FhirClient(server.url, **options)  # type: ignore[arg-type]


async def test_retry_after_seconds_is_honoured_on_503(server: LoopbackServer) -> None:
    calls = {"n": 0}

    @server.route("/fhir/Patient/1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        calls["n"] += 1
        if calls["n"] == 1:
            return 503, {"Retry-After": "1"}, {"resourceType": "OperationOutcome"}
        return 200, {}, {"resourceType": "Patient", "id": "1"}

    async with client_for(server) as client:
        started = time.monotonic()
        patient_json = await client.read("Patient", "1")
        elapsed = time.monotonic() - started
    assert patient_json["id"] == "1"
    assert elapsed >= 0.95  # waited the server's second, not the 10 ms backoff
    assert client.stats.retries == 1 and client.stats.requests == 2


async def test_429_with_http_date_pauses_every_request(server: LoopbackServer) -> None:
    state = {"limited": True}

    @server.route("/fhir/Patient/1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        if state["limited"]:
            state["limited"] = False
            when = datetime.now(UTC) + timedelta(seconds=2)
            return 429, {"Retry-After": format_datetime(when, usegmt=True)}, {}
        return 200, {}, {"resourceType": "Patient", "id": "1"}

    async with client_for(server) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.read("Patient", "1") for _ in range(5)))
        elapsed = time.monotonic() - started
    # HTTP dates have 1-second resolution: at least ~1 s of the 2 s must have been waited.
    assert elapsed >= 1.0
    assert client.stats.rate_limited == 1


async def test_5xx_retried_then_typed_error(server: LoopbackServer) -> None:
    @server.route("/fhir/Patient/2")
    def broken(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 502, {}, b"bad gateway"

    async with client_for(server) as client:
        with pytest.raises(ServerError):
            await client.read("Patient", "2")
    assert len(server.hits("/fhir/Patient/2")) == FAST_RETRY.max_attempts


async def test_create_is_not_retried_on_502(server: LoopbackServer) -> None:
    @server.route("/fhir/DocumentReference")
    def create(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 502, {}, b""

    async with client_for(server) as client:
        with pytest.raises(ServerError):
            await client.create({"resourceType": "DocumentReference", "status": "current"})
    # The first POST may have been processed; a second could post a duplicate note.
    assert len(server.hits("/fhir/DocumentReference")) == 1


async def test_operation_outcome_becomes_a_readable_error(server: LoopbackServer) -> None:
    @server.route("/fhir/Patient/404")
    def missing(seen: Seen) -> tuple[int, dict[str, str], object]:
        return (
            404,
            {},
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "error", "code": "not-found", "diagnostics": "No such patient"}
                ],
            },
        )

    async with client_for(server) as client:
        with pytest.raises(NotFound, match="No such patient"):
            await client.read("Patient", "404")


async def test_paging_relative_links_and_loop_guard(server: LoopbackServer) -> None:
    pages = {
        "": bundle([obs(1), obs(2)], "Observation?page=2"),
        "page=2": bundle([obs(3)], "/fhir/Observation?page=3"),
        "page=3": bundle([obs(4)], "?page=4"),
        "page=4": bundle([obs(5)]),
    }

    @server.route("/fhir/Observation")
    def search(seen: Seen) -> tuple[int, dict[str, str], object]:
        key = seen.query if seen.query.startswith("page=") else ""
        return 200, {}, pages[key]

    @server.route("/fhir/Condition")
    def looping(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {}, bundle([], "Condition?same=1")

    async with client_for(server) as client:
        found = await client.search_all("Observation", {"patient": "1"})
        assert [r["id"] for r in found] == ["o1", "o2", "o3", "o4", "o5"]
        with pytest.raises(PagingLoop):
            await client.search_all("Condition")
    assert len(server.hits("/fhir/Condition")) == 2


async def test_invalid_resource_skipped_and_reported(server: LoopbackServer) -> None:
    @server.route("/fhir/Observation")
    def search(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {}, bundle([obs(1), obs(2, value="Mrs Privatename"), obs(3)])

    reports: list[InvalidResource] = []
    async with client_for(server, on_invalid=reports.append) as client:
        found = await client.search_all("Observation")
    assert [r["id"] for r in found] == ["o1", "o3"]
    assert [(r.resource_type, r.resource_id) for r in reports] == [("Observation", "o2")]
    assert "Privatename" not in repr(reports)

    async with client_for(server, keep_invalid=True) as client:
        kept = await client.search_all("Observation")
    assert [r["id"] for r in kept] == ["o1", "o2", "o3"]


async def test_concurrency_cap_and_rate_limit(server: LoopbackServer) -> None:
    @server.route("/fhir/Patient/slow")
    def slow(seen: Seen) -> tuple[int, dict[str, str], object]:
        time.sleep(0.05)
        return 200, {}, {"resourceType": "Patient", "id": "slow"}

    capped = RateLimitConfig(requests_per_second=0, max_concurrency=3)
    async with client_for(server, rate_limit=capped) as client:
        await asyncio.gather(*(client.read("Patient", "slow") for _ in range(15)))
    assert 2 <= server.max_in_flight <= 3

    paced = RateLimitConfig(requests_per_second=20, burst=1, max_concurrency=16)
    async with client_for(server, rate_limit=paced) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.read("Patient", "slow") for _ in range(11)))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.45  # 10 intervals of 50 ms


async def test_connection_errors_are_retried_then_typed() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = FhirClient(f"http://127.0.0.1:{port}/fhir", retry=FAST_RETRY, rate_limit=OPEN)
    async with client:
        with pytest.raises(FhirTransportError):
            await client.read("Patient", "1")
    # A refused connection is tried twice, not max_attempts times (issue 13: 155 requests).
    assert client.stats.transport_errors == 2


async def test_attachments_inline_relative_absolute_and_capped(server: LoopbackServer) -> None:
    pdf = b"%PDF-1.4 fake" * 100

    @server.route("/fhir/Binary/b1")
    def raw(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {"Content-Type": "application/pdf", "ETag": 'W/"1"'}, pdf

    @server.route("/fhir/Binary/b2")
    def as_resource(seen: Seen) -> tuple[int, dict[str, str], object]:
        encoded = base64.b64encode(b"hello").decode()
        return 200, {}, {"resourceType": "Binary", "contentType": "text/plain", "data": encoded}

    async with client_for(server) as client:
        inline = await client.fetch_attachment(
            {"contentType": "text/plain", "data": base64.b64encode(b"inline").decode()}
        )
        assert inline.data == b"inline"
        relative = await client.fetch_attachment(
            {"contentType": "application/pdf", "url": "Binary/b1"}
        )
        assert relative.data == pdf and relative.etag == 'W/"1"'
        absolute = await client.fetch_attachment({"url": f"{server.url}/Binary/b2"})
        assert absolute.data == b"hello" and absolute.content_type == "text/plain"
        with pytest.raises(AttachmentTooLarge):
            await client.fetch_attachment({"url": "Binary/b1"}, max_bytes=100)


async def _expired_manager(
    refresher_calls: list[str], *, fail: bool = False, audit: MemoryAudit | None = None
) -> TokenManager:
    async def refresher(current: TokenSet | None) -> TokenSet:
        refresher_calls.append("refresh")
        await asyncio.sleep(0.05)  # long enough for every request to queue behind it
        if fail:
            raise OAuthError("invalid_grant", "refresh token revoked")
        return TokenSet(
            access_token="fresh",
            refresh_token="rt2",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )

    store = MemoryTokenStore()
    store.save(
        "t",
        "c",
        TokenSet(
            access_token="stale",
            refresh_token="rt1",
            issued_at=datetime.now(UTC) - timedelta(hours=2),
            expires_at=datetime.now(UTC) - timedelta(hours=1),
        ),
    )
    return TokenManager(
        "t",
        "c",
        store=store,
        refresher=refresher,
        needs_refresh_token=True,
        audit=audit or MemoryAudit(),
    )


async def test_32_requests_on_an_expired_token_refresh_once(server: LoopbackServer) -> None:
    @server.route("/fhir/Patient/1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        if seen.headers.get("Authorization") != "Bearer fresh":
            return 401, {}, {}
        return 200, {}, {"resourceType": "Patient", "id": "1"}

    calls: list[str] = []
    manager = await _expired_manager(calls)
    async with client_for(server, auth=BearerAuth(manager, server.url)) as client:
        results = await asyncio.gather(*(client.read("Patient", "1") for _ in range(32)))
    assert len(results) == 32 and calls == ["refresh"]
    assert all(s.headers.get("Authorization") == "Bearer fresh" for s in server.seen)


async def test_401_refreshes_once_and_retries(server: LoopbackServer) -> None:
    valid = {"token": "fresh"}

    @server.route("/fhir/Patient/1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        if seen.headers.get("Authorization") != f"Bearer {valid['token']}":
            return 401, {}, {}
        return 200, {}, {"resourceType": "Patient", "id": "1"}

    calls: list[str] = []
    manager = await _expired_manager(calls)
    auth = BearerAuth(manager, server.url)
    async with client_for(server, auth=auth) as client:
        await client.read("Patient", "1")
        valid["token"] = "revoked-server-side"  # the server stops accepting "fresh"
        with pytest.raises(Exception, match="401"):
            await client.read("Patient", "1")
    # One proactive refresh, then exactly one refresh after the 401 (not a loop).
    assert calls == ["refresh", "refresh"] and auth.retries_after_401 == 1


async def test_refresh_failure_disconnects_with_typed_error(server: LoopbackServer) -> None:
    @server.route("/fhir/Patient/1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 401, {}, {}

    calls: list[str] = []
    audit = MemoryAudit()
    manager = await _expired_manager(calls, fail=True, audit=audit)
    changes: list[bool] = []
    manager.status.subscribe(lambda s: changes.append(s.is_connected))
    async with client_for(server, auth=BearerAuth(manager, server.url)) as client:
        outcomes = await asyncio.gather(
            *(client.read("Patient", "1") for _ in range(8)), return_exceptions=True
        )
    assert all(isinstance(o, ReauthenticationRequired) for o in outcomes)
    assert calls == ["refresh"]  # the failure is shared, not retried by every request
    assert manager.status.current.is_connected is False
    assert "refused" in (manager.status.current.last_error or "")
    assert changes[-1] is False
    assert audit.actions() == ["refresh_failed"]
    assert server.seen == []  # nothing was sent with the dead token
    assert manager.tokens is None
