"""Tokens are bound to the token endpoint and FHIR base they were granted for.

A real sign-in against the embedded sandbox, then the saved connection is pointed at a capture
server (a stdlib HTTP server on loopback that records every request): neither the access token
nor the refresh token may ever reach it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fhir_support import LoopbackServer, Seen
from token_support import (
    CONNECTION,
    add_connection,
    follow_authorize,
    open_stored,
    small_sandbox,
)

from healthprep_desktop.fhir.errors import ReauthenticationRequired
from healthprep_desktop.fhir.store_adapters import StoreTokenStore
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.store import AuditAction, AuditFilter, Store


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with small_sandbox() as sb:
        yield sb


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


def _capture(server: LoopbackServer) -> None:
    """The new server: SMART discovery naming its own token endpoint, a Patient that wants a
    token, and a token endpoint that would accept anything."""
    origin = server.url.rsplit("/fhir", 1)[0]

    @server.route("/fhir/.well-known/smart-configuration")
    def smart(seen: Seen) -> tuple[int, dict[str, str], object]:
        return (
            200,
            {"Content-Type": "application/json"},
            {
                "authorization_endpoint": f"{origin}/authorize",
                "token_endpoint": f"{origin}/token",
                "code_challenge_methods_supported": ["S256"],
            },
        )

    @server.route("/fhir/Patient/p1")
    def patient(seen: Seen) -> tuple[int, dict[str, str], object]:
        if not seen.headers.get("Authorization"):
            return 401, {}, {"resourceType": "OperationOutcome"}
        return 200, {}, {"resourceType": "Patient", "id": "p1"}

    @server.route("/token")
    def token(seen: Seen) -> tuple[int, dict[str, str], object]:
        return (
            200,
            {"Content-Type": "application/json"},
            {
                "access_token": "new-server-token",
                "token_type": "Bearer",
                "expires_in": 3600,
            },
        )


def _leaks(server: LoopbackServer, tokens: TokenSet) -> list[str]:
    secrets = [tokens.access_token, tokens.refresh_token or "\0"]
    found = []
    for seen in server.seen:
        text = repr(seen.headers) + seen.query + seen.body.decode("latin-1")
        found += [f"{seen.method} {seen.path}" for s in secrets if s in text]
    return found


async def _sign_in(store: Store, sandbox: SandboxServer) -> tuple[str, int, TokenSet]:
    tenant, connection_id = add_connection(store, sandbox.base_url())
    async with open_stored(store, tenant, connection_id) as conn:
        tokens = await conn.login_interactive(open_url=follow_authorize, time_limit=10)
        patient = sandbox.org().store.patient_ids()[0]
        assert (await conn.client.read("Patient", patient))["id"] == patient
    assert tokens.refresh_token
    return tenant, connection_id, tokens


async def test_base_url_change_clears_tokens_and_nothing_reaches_the_new_server(
    store: Store, sandbox: SandboxServer, server: LoopbackServer
) -> None:
    _capture(server)
    tenant, connection_id, tokens = await _sign_in(store, sandbox)
    # The admin points the saved connection at another EHR.
    store.tenant(tenant).connections.update(connection_id, base_url=server.url)
    assert StoreTokenStore(store).load(tenant, CONNECTION) is None
    async with open_stored(store, tenant, connection_id) as conn:
        assert not conn.status.is_connected
        with pytest.raises(ReauthenticationRequired):
            await conn.client.read("Patient", "p1")
    assert _leaks(server, tokens) == []
    assert server.hits("/token") == []
    changes = [
        e
        for e in store.tenant(tenant).audit_entries(AuditFilter())
        if e.action == AuditAction.CONNECTION_CHANGE
    ]
    assert changes and "base_url" in changes[-1].detail and "sign-in" in changes[-1].detail
    assert tokens.access_token not in changes[-1].detail
    assert server.url not in changes[-1].detail  # the detail names fields, not values


async def test_tokens_granted_for_another_base_are_never_used_even_if_still_stored(
    store: Store, sandbox: SandboxServer, server: LoopbackServer
) -> None:
    """Defence in depth: tokens bound to the old base are ignored by a connection to the new
    one, even when they are still in the store (written back by an older process)."""
    _capture(server)
    tenant, connection_id, tokens = await _sign_in(store, sandbox)
    store.tenant(tenant).connections.update(connection_id, base_url=server.url)
    for expired in (False, True):
        server.seen.clear()
        kept = tokens
        if expired:  # due for refresh: the refresh token must not go to the new endpoint
            kept = dataclasses.replace(tokens, expires_at=datetime.now(UTC) - timedelta(hours=1))
        StoreTokenStore(store).save(tenant, CONNECTION, kept)
        async with open_stored(store, tenant, connection_id) as conn:
            with pytest.raises(ReauthenticationRequired):
                await conn.client.read("Patient", "p1")
        assert _leaks(server, tokens) == [], expired
        assert server.hits("/token") == []


async def test_refresh_token_is_posted_only_to_the_endpoint_that_issued_it(
    store: Store, server: LoopbackServer
) -> None:
    """Tokens for this base whose issuer is another token endpoint (the discovered endpoint
    changed since): the refresh is not attempted; the user signs in again."""
    _capture(server)
    tenant, connection_id = add_connection(store, server.url)
    foreign = TokenSet(
        access_token="issued-elsewhere",
        refresh_token="refresh-issued-elsewhere",
        issued_at=datetime.now(UTC) - timedelta(hours=2),
        expires_at=datetime.now(UTC) - timedelta(hours=1),
        issuer="http://127.0.0.1:9/other/token",
        fhir_base=server.url,
    )
    StoreTokenStore(store).save(tenant, CONNECTION, foreign)
    async with open_stored(store, tenant, connection_id) as conn:
        with pytest.raises(ReauthenticationRequired, match="sign in again"):
            await conn.client.read("Patient", "p1")
    assert _leaks(server, foreign) == []
    assert server.hits("/token") == []
