"""OAuth edges (issue 12, item 8): PKCE S256 always for public clients, the loopback listener's
Host allow-list, long requests, stray callbacks, and EHR text kept plain. Real loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.errors import (
    AuthError,
    LoginTimeout,
    OAuthError,
    parse_operation_outcome,
)
from healthprep_desktop.fhir.loopback import LoopbackListener
from healthprep_desktop.fhir.oauth import ClientAuth, token_request
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import (
    StoreAudit,
    StoreSecrets,
    StoreTokenStore,
    config_for_store,
)
from healthprep_desktop.store import Store

HOSTILE = "Denied\x1b[31m by\r\nadmin\x00\u202e<b>x</b>\x07\x85"


def _is_clean(text: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in text)


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


# --- PKCE -----------------------------------------------------------------------------------


def _smart_routes(server: LoopbackServer, methods: list[str] | None) -> None:
    base = server.url.rsplit("/fhir", 1)[0]

    @server.route("/fhir/.well-known/smart-configuration")
    def smart(seen: Seen) -> Any:
        body: dict[str, Any] = {
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
        }
        if methods is not None:
            body["code_challenge_methods_supported"] = methods
        return 200, {"Content-Type": "application/json"}, body


def _connection(store: Store, server: LoopbackServer, method: AuthMethod) -> FhirConnection:
    config = ConnectionConfig(name="Stub", base_url=server.url, auth_method=method, client_id="app")
    tenant = store.create_tenant("Clinic")
    store.tenant(tenant.id).connections.add(
        config.name, "generic", config.base_url, config=config_for_store(config)
    )
    secrets = StoreSecrets(store)
    if method is AuthMethod.SMART_CONFIDENTIAL_POST:
        secrets.set(config.secret_key(tenant.id, "client_secret"), "s3cret")
    return FhirConnection(
        config,
        tenant=tenant.id,
        tokens=StoreTokenStore(store),
        secrets=secrets,
        audit=StoreAudit(store),
    )


async def test_public_client_refuses_a_server_that_lists_only_plain(
    store: Store, server: LoopbackServer
) -> None:
    _smart_routes(server, ["plain"])
    opened: list[str] = []
    connection = _connection(store, server, AuthMethod.SMART_PUBLIC_PKCE)
    async with connection:
        with pytest.raises(AuthError) as caught:
            await connection.login_interactive(open_url=opened.append, time_limit=2)
    assert opened == []  # no authorize request without S256
    message = str(caught.value)
    assert "S256" in message and message.count(". ") == 0 and "\n" not in message


# --- the loopback listener --------------------------------------------------------------------


async def _raw_get(port: int, target: str, host: str | None) -> tuple[int, str]:
    """One HTTP/1.1 request with exactly the Host header given (None: no Host header)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET {target} HTTP/1.1\r\n"
    if host is not None:
        head += f"Host: {host}\r\n"
    writer.write((head + "Connection: close\r\n\r\n").encode("latin-1"))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.decode("utf-8", "replace")


def _port(uri: str) -> int:
    return int(uri.split(":")[2].split("/")[0])


async def test_host_header_outside_the_allow_list_is_refused() -> None:
    async with LoopbackListener() as listener:
        port = _port(await listener.start("s"))
        target = "/callback?code=stolen&state=s"
        for host in (f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.1.evil:{port}", None):
            status, _ = await _raw_get(port, target, host)
            assert status == 400, host
        with pytest.raises(LoginTimeout):
            await listener.wait(0.2)  # none of them completed the sign-in
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            status, _ = await _raw_get(port, "/favicon.ico", host)
            assert status == 404, host  # allowed through to routing
        status, _ = await _raw_get(port, target.replace("stolen", "real"), f"localhost:{port}")
        assert status == 200
        assert await listener.wait(5) == "real"


@pytest.mark.parametrize("size", [10_000, 100_000])
async def test_long_request_gets_414_and_the_sign_in_keeps_waiting(size: int) -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("s")
        port = _port(uri)
        target = "/callback?code=c&state=s&pad=" + "x" * size
        status, page = await _raw_get(port, target, f"127.0.0.1:{port}")
        assert status == 414 and "too long" in page
        async with httpx.AsyncClient() as http:
            good = await http.get(uri, params={"code": "c", "state": "s"})
            assert good.status_code == 200
        assert await listener.wait(5) == "c"


async def test_stray_callbacks_are_ignored_until_the_real_one() -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("expected")
        async with httpx.AsyncClient() as http:
            for params in (
                {"code": "abc", "state": "forged"},
                {"code": "abc"},
                {"error": "access_denied", "state": "forged"},
                {},
            ):
                stray = await http.get(uri, params=params)
                assert stray.status_code == 400, params
            good = await http.get(uri, params={"code": "real", "state": "expected"})
            assert good.status_code == 200
        assert await listener.wait(5) == "real"


async def test_only_stray_callbacks_end_in_the_time_limit_naming_them() -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("expected")
        async with httpx.AsyncClient() as http:
            await http.get(uri, params={"code": "abc", "state": "forged"})
        with pytest.raises(LoginTimeout) as caught:
            await listener.wait(0.3)
    assert "wrong state" in str(caught.value)


async def test_error_description_is_escaped_and_stripped_of_control_characters() -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("s")
        async with httpx.AsyncClient() as http:
            page = await http.get(
                uri,
                params={
                    "error": "access\x1b[2J_denied",
                    "error_description": HOSTILE,
                    "state": "s",
                },
            )
        assert page.status_code == 400
        assert "&lt;b&gt;x&lt;/b&gt;" in page.text and "<b>x" not in page.text
        assert _is_clean(page.text.replace("\n", ""))
        with pytest.raises(OAuthError) as caught:
            await listener.wait(5)
    assert caught.value.description == "Denied by admin<b>x</b>"
    assert _is_clean(str(caught.value)) and _is_clean(caught.value.error)


async def test_token_endpoint_error_description_is_stripped(server: LoopbackServer) -> None:
    @server.route("/token")
    def token(seen: Seen) -> Any:
        return 400, {}, {"error": "invalid_grant\x1b[0m", "error_description": HOSTILE}

    base = server.url.rsplit("/fhir", 1)[0]
    async with httpx.AsyncClient() as http:
        with pytest.raises(OAuthError) as caught:
            await token_request(
                http,
                base + "/token",
                {"grant_type": "x"},
                ClientAuth("app", AuthMethod.SMART_PUBLIC_PKCE),
            )
    assert _is_clean(str(caught.value))
    assert caught.value.description == "Denied by admin<b>x</b>"


def test_operation_outcome_text_is_stripped() -> None:
    issues = parse_operation_outcome(
        {"resourceType": "OperationOutcome", "issue": [{"code": "x", "diagnostics": HOSTILE}]}
    )
    assert issues[0].text == "Denied by admin<b>x</b>"
