"""The RFC 8252 redirect listener, exercised over real loopback HTTP."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from healthprep_desktop.fhir.config import RedirectConfig
from healthprep_desktop.fhir.errors import LoginCancelled, LoginTimeout, OAuthError
from healthprep_desktop.fhir.loopback import LoopbackListener


async def test_valid_callback_returns_the_code_and_a_close_tab_page() -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("state-123")
        assert uri.startswith("http://127.0.0.1:") and uri.endswith("/callback")
        async with httpx.AsyncClient() as http:
            missing = await http.get(uri.replace("/callback", "/favicon.ico"))
            assert missing.status_code == 404
            page = await http.get(uri, params={"code": "abc", "state": "state-123"})
            assert page.status_code == 200 and "close this tab" in page.text
            again = await http.get(uri, params={"code": "abc", "state": "state-123"})
            assert again.status_code == 409
        assert await listener.wait(5) == "abc"


async def test_wrong_state_is_rejected() -> None:
    # Rejected and ignored: the sign-in keeps waiting for the real callback (issue 12).
    async with LoopbackListener() as listener:
        uri = await listener.start("expected")
        async with httpx.AsyncClient() as http:
            page = await http.get(uri, params={"code": "abc", "state": "forged"})
        assert page.status_code == 400
        with pytest.raises(LoginTimeout):
            await listener.wait(0.2)


async def test_error_callback_carries_the_description() -> None:
    async with LoopbackListener() as listener:
        uri = await listener.start("s")
        async with httpx.AsyncClient() as http:
            page = await http.get(
                uri,
                params={
                    "error": "access_denied",
                    "error_description": "User <b>declined</b>",
                    "state": "s",
                },
            )
        assert page.status_code == 400
        assert "User &lt;b&gt;declined&lt;/b&gt;" in page.text  # escaped, not injected
        with pytest.raises(OAuthError) as caught:
            await listener.wait(5)
        assert caught.value.error == "access_denied"
        assert caught.value.description == "User <b>declined</b>"


async def test_timeout_and_cancel() -> None:
    async with LoopbackListener() as listener:
        await listener.start("s")
        with pytest.raises(LoginTimeout):
            await listener.wait(0.2)
    async with LoopbackListener() as listener:
        await listener.start("s")
        waiter = asyncio.create_task(listener.wait(30))
        await asyncio.sleep(0.05)
        listener.cancel()
        with pytest.raises(LoginCancelled):
            await waiter


async def test_fixed_port_and_path() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopbackListener(RedirectConfig(port=port, path="/oauth/done")) as listener:
        uri = await listener.start("s")
        assert uri == f"http://127.0.0.1:{port}/oauth/done"
        async with httpx.AsyncClient() as http:
            await http.get(uri, params={"code": "c1", "state": "s"})
        assert await listener.wait(5) == "c1"
    # A port already taken gives an actionable error rather than a bare OSError text.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        listener = LoopbackListener(RedirectConfig(port=taken))
        with pytest.raises(OSError, match="change the port"):
            await listener.start("s")
        await listener.close()
