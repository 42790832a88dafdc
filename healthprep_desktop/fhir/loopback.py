"""The RFC 8252 loopback redirect listener for interactive (browser) logins.

A tiny HTTP/1.1 responder on 127.0.0.1 (never 0.0.0.0: nothing else on the network may deliver
a code). It answers exactly one valid callback on the configured path, checks `state`, and
answers the browser with a page that says it can be closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from healthprep_desktop.fhir.config import RedirectConfig
from healthprep_desktop.fhir.errors import LoginCancelled, LoginTimeout, OAuthError, StateMismatch
from healthprep_desktop.fhir.pkce import state_matches

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>HealthPrep Desktop</title>
<style>body{{font-family:sans-serif;margin:4em;color:#222}}</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>"""

_MAX_REQUEST = 16 * 1024


class LoopbackListener:
    def __init__(self, redirect: RedirectConfig | None = None) -> None:
        self._config = redirect or RedirectConfig()
        self._server: asyncio.Server | None = None
        self._port = 0
        self._expected_state: str | None = None
        self._result: asyncio.Future[str] | None = None

    @property
    def redirect_uri(self) -> str:
        if self._server is None:
            raise RuntimeError("the listener is not started")
        return self._config.uri(self._port)

    async def start(self, expected_state: str) -> str:
        """Listen; returns the redirect URI to put in the authorize request."""
        self._expected_state = expected_state
        self._result = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(
                self._handle, host=self._config.host, port=self._config.port
            )
        except OSError as exc:
            raise OSError(
                f"cannot listen on {self._config.host}:{self._config.port} for the login "
                f"redirect ({exc.strerror}); close the program using it or change the port"
            ) from exc
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self.redirect_uri

    async def wait(self, time_limit: float) -> str:
        """The authorization code, once a valid callback arrived."""
        if self._result is None:
            raise RuntimeError("the listener is not started")
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), time_limit)
        except TimeoutError as exc:
            raise LoginTimeout(
                f"no answer from the browser within {time_limit:.0f} s; try signing in again"
            ) from exc

    def cancel(self) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_exception(LoginCancelled("sign-in cancelled"))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._result is not None and not self._result.done():
            self._result.cancel()
        elif self._result is not None and not self._result.cancelled():
            self._result.exception()  # mark retrieved: no "exception never retrieved" warning

    async def __aenter__(self) -> LoopbackListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- one HTTP exchange -------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        try:
            status, title, message = self._answer(head[:_MAX_REQUEST])
            body = _PAGE.format(title=html.escape(title), message=html.escape(message)).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _answer(self, head: bytes) -> tuple[str, str, str]:
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", "Not allowed", "This address only accepts GET."
        target = urlsplit(parts[1])
        if target.path != self._config.path:
            return "404 Not Found", "Not found", "Nothing here."
        result = self._result
        if result is None or result.done():
            return "409 Conflict", "Already done", "This sign-in has already finished."
        query = {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        if not state_matches(self._expected_state or "", query.get("state")):
            result.set_exception(
                StateMismatch("the sign-in answer did not come from this app's request")
            )
            return (
                "400 Bad Request",
                "Sign-in rejected",
                (
                    "This sign-in answer does not belong to the request HealthPrep Desktop made. "
                    "Return to the app and try again."
                ),
            )
        if "error" in query:
            description = query.get("error_description") or ""
            result.set_exception(OAuthError(query["error"], description or None))
            return (
                "400 Bad Request",
                "Sign-in failed",
                (
                    f"The EHR refused the sign-in: {description or query['error']}. "
                    "You can close this tab and return to HealthPrep Desktop."
                ),
            )
        code = query.get("code")
        if not code:
            result.set_exception(OAuthError("invalid_request", "the redirect carried no code"))
            return "400 Bad Request", "Sign-in failed", "The answer carried no code."
        result.set_result(code)
        return "200 OK", "Signed in", "You can close this tab and return to HealthPrep Desktop."


UrlOpener = Callable[[str], object | Awaitable[object]]


def open_system_browser(url: str) -> bool:
    """Open the URL in the system browser; False when no browser is available."""
    import webbrowser

    try:
        return webbrowser.open(url, new=1, autoraise=True)
    except webbrowser.Error:
        return False


def print_url(url: str) -> None:
    """The headless opener: print the URL for the user to open anywhere."""
    print(f"Open this address in a browser to sign in:\n  {url}", flush=True)
