"""Refresh when another process shares the store: the stored tokens are re-read under the
store's lock first, and a refused refresh forgets nothing another process stored since.

Real encrypted store; "the other process" writes through its own Store handle (its own
SQLCipher connection to the same file). The two-process run against the sandbox is in
test_refresh_two_processes.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from healthprep_desktop.fhir.errors import OAuthError
from healthprep_desktop.fhir.status import MemoryAudit
from healthprep_desktop.fhir.store_adapters import StoreTokenStore
from healthprep_desktop.fhir.tokens import TokenManager, TokenSet
from healthprep_desktop.store import Store
from healthprep_desktop.store.named_lock import NamedLock

BASE = "https://ehr.example/r4/clinic"
ISSUER = "https://ehr.example/oauth2/token"


@pytest.fixture
def stores() -> Iterator[tuple[Store, Store, str]]:
    mine = Store.open()
    tenant = mine.create_tenant("Clinic").id
    mine.tenant(tenant).connections.add("EHR", "generic", BASE)
    other = Store.open(mine.path)  # the other process's own connection to the same file
    try:
        yield mine, other, tenant
    finally:
        other.close()
        mine.close()


def _tokens(name: str, *, expired: bool) -> TokenSet:
    now = datetime.now(UTC)
    return TokenSet(
        access_token=f"at-{name}",
        refresh_token=f"rt-{name}",
        issued_at=now - timedelta(hours=2),
        expires_at=now + (-timedelta(hours=1) if expired else timedelta(hours=1)),
        issuer=ISSUER,
        fhir_base=BASE,
    )


async def test_tokens_another_process_refreshed_are_used_without_refreshing(
    stores: tuple[Store, Store, str],
) -> None:
    mine, other, tenant = stores
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("1", expired=True))
    calls: list[str | None] = []

    async def refresher(current: TokenSet | None) -> TokenSet:
        calls.append(current.refresh_token if current else None)
        return _tokens("mine", expired=False)

    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=refresher,
        needs_refresh_token=True, fhir_base=BASE,
    )  # fmt: skip
    assert manager.tokens is not None  # loaded: rt-1, expired
    # The other process refreshes first (rt-1 is now spent at the server).
    StoreTokenStore(other).save(tenant, "EHR", _tokens("2", expired=False))
    assert await manager.access_token() == "at-2"
    assert calls == [] and manager.adopted_count == 1


async def test_a_due_token_is_refreshed_with_the_latest_stored_refresh_token(
    stores: tuple[Store, Store, str],
) -> None:
    mine, other, tenant = stores
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("1", expired=True))
    calls: list[str | None] = []

    async def refresher(current: TokenSet | None) -> TokenSet:
        calls.append(current.refresh_token if current else None)
        return _tokens("3", expired=False)

    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=refresher,
        needs_refresh_token=True, fhir_base=BASE,
    )  # fmt: skip
    assert manager.tokens is not None
    StoreTokenStore(other).save(tenant, "EHR", _tokens("2", expired=True))
    assert await manager.access_token() == "at-3"
    assert calls == ["rt-2"]  # never the spent rt-1


async def test_invalid_grant_clears_nothing_when_newer_tokens_were_stored(
    stores: tuple[Store, Store, str],
) -> None:
    mine, other, tenant = stores
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("1", expired=True))
    audit = MemoryAudit()

    async def refresher(current: TokenSet | None) -> TokenSet:
        # While our refresh is on the wire, someone signs in again in another window (a login
        # takes no refresh lock) and the server refuses our refresh token.
        StoreTokenStore(other).save(tenant, "EHR", _tokens("login", expired=False))
        raise OAuthError("invalid_grant", "refresh token was revoked or already used")

    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=refresher,
        needs_refresh_token=True, fhir_base=BASE, audit=audit,
    )  # fmt: skip
    assert await manager.access_token() == "at-login"
    stored = StoreTokenStore(other).load(tenant, "EHR")
    assert stored is not None and stored.access_token == "at-login"
    assert manager.status.current.is_connected
    assert [e.action for e in audit.events] == []


async def test_invalid_grant_on_the_stored_tokens_still_disconnects(
    stores: tuple[Store, Store, str],
) -> None:
    mine, _, tenant = stores
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("1", expired=True))

    async def refresher(current: TokenSet | None) -> TokenSet:
        raise OAuthError("invalid_grant", "refresh token was revoked")

    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=refresher,
        needs_refresh_token=True, fhir_base=BASE,
    )  # fmt: skip
    with pytest.raises(Exception, match="refused"):
        await manager.access_token()
    assert StoreTokenStore(mine).load(tenant, "EHR") is None


async def test_refresh_waits_for_the_store_lock(stores: tuple[Store, Store, str]) -> None:
    """While another process holds the connection's refresh lock, no refresh starts; once it
    is released, the tokens that process stored are used."""
    mine, other, tenant = stores
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("1", expired=True))
    connection_id = mine.tenant(tenant).connections.all()[0].id
    lock = NamedLock.for_store(mine.path, "refresh", tenant, str(connection_id))
    fd = lock.try_acquire()
    assert fd is not None
    assert (lock.path.stat().st_mode & 0o777) == 0o600
    assert (lock.path.parent.stat().st_mode & 0o777) == 0o700
    calls: list[str] = []

    async def refresher(current: TokenSet | None) -> TokenSet:
        calls.append("refresh")
        return _tokens("mine", expired=False)

    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=refresher,
        needs_refresh_token=True, fhir_base=BASE,
    )  # fmt: skip
    waiting = asyncio.create_task(manager.access_token())
    await asyncio.sleep(0.3)
    assert not waiting.done() and calls == []
    StoreTokenStore(other).save(tenant, "EHR", _tokens("2", expired=False))
    NamedLock.release(fd)
    assert await asyncio.wait_for(waiting, 5) == "at-2"
    assert calls == []


async def test_tokens_for_another_base_are_not_loaded(stores: tuple[Store, Store, str]) -> None:
    mine, _, tenant = stores
    legacy = TokenSet(access_token="unbound", expires_at=datetime.now(UTC) + timedelta(hours=1))
    StoreTokenStore(mine).save(tenant, "EHR", legacy)
    manager = TokenManager(
        tenant, "EHR", store=StoreTokenStore(mine), refresher=None, fhir_base=BASE
    )
    assert manager.tokens is None
    StoreTokenStore(mine).save(tenant, "EHR", _tokens("x", expired=False))
    assert (
        TokenManager(
            tenant, "EHR", store=StoreTokenStore(mine), refresher=None, fhir_base=BASE
        ).tokens
        is not None
    )
