"""The bearer token goes only to URLs under the FHIR base's path, not to its whole origin.

EHRs that host several tenants on one origin (`/r4/<tenant>/`) must never receive tenant A's
token on a paging or attachment link into tenant B's path. Real loopback HTTP; the server
records every request's headers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.auth import ApiKeyAuth, BearerAuth, ScopedBasicAuth
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.tokens import MemoryTokenStore, TokenManager, TokenSet

TOKEN = "tenant-a-access-token"
QUICK = RetryConfig(max_attempts=2, base_delay=0.01, max_delay=0.02)
OPEN = RateLimitConfig(requests_per_second=0, max_concurrency=4)


def _origin(server: LoopbackServer) -> str:
    return server.url.rsplit("/fhir", 1)[0]


def _manager() -> TokenManager:
    store = MemoryTokenStore()
    store.save(
        "t",
        "c",
        TokenSet(access_token=TOKEN, expires_at=datetime.now(UTC) + timedelta(hours=1)),
    )
    return TokenManager("t", "c", store=store, refresher=None)


def _bundle(next_url: str | None) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_url}] if next_url else [],
        "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}],
    }


def _authorization(seen: list[Seen]) -> list[str | None]:
    return [s.headers.get("Authorization") for s in seen]


async def test_cross_tenant_next_link_on_the_same_origin_carries_no_token(
    server: LoopbackServer,
) -> None:
    origin = _origin(server)
    base = f"{origin}/r4/tenantA"

    @server.route("/r4/tenantA/Patient")
    def first(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {}, _bundle(f"{origin}/r4/tenantB/Patient?page=2")

    @server.route("/r4/tenantB/Patient")
    def other_tenant(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {}, _bundle(None)

    client = FhirClient(base, auth=BearerAuth(_manager(), base), retry=QUICK, rate_limit=OPEN)
    async with client:
        pages = [page async for page in client.search_pages("Patient", {})]
    assert len(pages) == 2
    assert _authorization(server.hits("/r4/tenantA/Patient")) == [f"Bearer {TOKEN}"]
    assert _authorization(server.hits("/r4/tenantB/Patient")) == [None]


async def test_attachments_outside_the_base_path_are_fetched_without_the_token(
    server: LoopbackServer,
) -> None:
    origin = _origin(server)
    base = f"{origin}/r4/tenantA"
    for path in (
        "/r4/tenantA/Binary/1",
        "/r4/tenantB/Binary/2",
        "/r4/tenantAB/Binary/3",
        "/r4/tenantA/../tenantB/Binary/2",
        "/r4/tenantA/%2e%2e/tenantB/Binary/2",
    ):
        server.routes[path] = lambda seen: (200, {"Content-Type": "text/plain"}, b"x")

    client = FhirClient(base, auth=BearerAuth(_manager(), base), retry=QUICK, rate_limit=OPEN)
    async with client:
        await client.fetch_attachment({"url": "Binary/1"})
        await client.fetch_attachment({"url": f"{origin}/r4/tenantB/Binary/2"})
        # A name that merely starts with the tenant's name is another path.
        await client.fetch_attachment({"url": f"{origin}/r4/tenantAB/Binary/3"})
        # Dot segments that climb out of the base path.
        await client.fetch_attachment({"url": f"{base}/../tenantB/Binary/2"})
        await client.fetch_attachment({"url": f"{base}/%2e%2e/tenantB/Binary/2"})
    assert len(server.seen) == 5
    assert _authorization(server.hits("/r4/tenantA/Binary/1")) == [f"Bearer {TOKEN}"]
    others = [s for s in server.seen if s.path != "/r4/tenantA/Binary/1"]
    assert _authorization(others) == [None] * 4, [s.path for s in others]


async def test_api_key_and_basic_credentials_stay_under_the_base_path(
    server: LoopbackServer,
) -> None:
    origin = _origin(server)
    base = f"{origin}/r4/tenantA"
    for path in ("/r4/tenantA/Binary/1", "/r4/tenantB/Binary/2"):
        server.routes[path] = lambda seen: (200, {"Content-Type": "text/plain"}, b"x")
    for auth, header in (
        (ApiKeyAuth("X-API-Key", "secret-key", base), "X-API-Key"),
        (ScopedBasicAuth("user", "secret-password", base), "Authorization"),
    ):
        server.seen.clear()
        async with FhirClient(base, auth=auth, retry=QUICK, rate_limit=OPEN) as client:
            await client.fetch_attachment({"url": "Binary/1"})
            await client.fetch_attachment({"url": f"{origin}/r4/tenantB/Binary/2"})
        assert server.hits("/r4/tenantA/Binary/1")[0].headers.get(header)
        assert server.hits("/r4/tenantB/Binary/2")[0].headers.get(header) is None
