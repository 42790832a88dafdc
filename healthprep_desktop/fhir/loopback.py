"""The RFC 8252 loopback redirect listener for interactive (browser) logins.

A tiny HTTP/1.1 responder on 127.0.0.1 (never 0.0.0.0: nothing else on the network may deliver
a code). It answers the one valid callback on the configured path and a page that says the tab
can be closed. Everything else is answered and ignored, so a stray or hostile request cannot end
the sign-in: a Host header outside the loopback allow-list (DNS rebinding) gets 400, a request
line over 8 KB gets 414, a callback with a wrong or missing ``state`` gets 400, until the real
callback or the time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from healthprep_desktop.fhir.config import RedirectConfig
from healthprep_desktop.fhir.errors import LoginCancelled, LoginTimeout, OAuthError, plain_text
from healthprep_desktop.fhir.pkce import state_matches

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>HealthPrep Desktop</title>
<style>body{{font-family:sans-serif;margin:4em;color:#222}}</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>"""

MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
_READ_TIMEOUT = 10.0


class _TooLong(Exception):
    def __init__(self, status: str) -> None:
        self.status = status


class LoopbackListener:
    def __init__(self, redirect: RedirectConfig | None = None) -> None:
        self._config = redirect or RedirectConfig()
        self._server: asyncio.Server | None = None
        self._port = 0
        self._expected_state: str | None = None
        self._result: asyncio.Future[str] | None = None
        self._strays = 0  # callbacks with a wrong or missing state, answered and ignored

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
                self._handle,
                host=self._config.host,
                port=self._config.port,
                limit=MAX_REQUEST_LINE + 2,
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
            strays = (
                f" ({self._strays} answer{'s' if self._strays != 1 else ''} with a wrong "
                "state were ignored)"
                if self._strays
                else ""
            )
            raise LoginTimeout(
                f"no answer from the browser within {time_limit:.0f} s{strays}; "
                "try signing in again"
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
            try:
                request_line, host = await asyncio.wait_for(_read_head(reader), _READ_TIMEOUT)
            except _TooLong as too_long:
                title, message = "Request too long", "This request is too long for this address."
                await _respond(writer, too_long.status, title, message)
                await _discard(reader)
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            status, title, message = self._answer(request_line, host)
            await _respond(writer, status, title, message)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _host_allowed(self, host: str | None) -> bool:
        if host is None:
            return False
        port = self._port
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        if port == 80:
            allowed |= {"127.0.0.1", "localhost", "[::1]"}
        return host.strip().lower() in allowed

    def _answer(self, request_line: str, host: str | None) -> tuple[str, str, str]:
        parts = request_line.split(" ")
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", "Not allowed", "This address only accepts GET."
        if not self._host_allowed(host):
            # A page on another site reaching us through DNS rebinding names its own host.
            return "400 Bad Request", "Not allowed", "This address only answers this computer."
        target = urlsplit(parts[1])
        if target.path != self._config.path:
            return "404 Not Found", "Not found", "Nothing here."
        result = self._result
        if result is None or result.done():
            return "409 Conflict", "Already done", "This sign-in has already finished."
        query = {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        if not state_matches(self._expected_state or "", query.get("state")):
            # Not ours (a stale tab, another app, a forgery): answer it and keep waiting for
            # the real callback; only the time limit or the user ends the sign-in.
            self._strays += 1
            log.info("ignored a sign-in callback with a wrong or missing state")
            return (
                "400 Bad Request",
                "Sign-in rejected",
                (
                    "This sign-in answer does not belong to the request HealthPrep Desktop made. "
                    "Return to the app and try again."
                ),
            )
        if "error" in query:
            error = OAuthError(query["error"], query.get("error_description") or None)
            result.set_exception(error)
            return (
                "400 Bad Request",
                "Sign-in failed",
                (
                    f"The EHR refused the sign-in: {error.description or error.error}. "
                    "You can close this tab and return to HealthPrep Desktop."
                ),
            )
        code = query.get("code")
        if not code:
            result.set_exception(OAuthError("invalid_request", "the redirect carried no code"))
            return "400 Bad Request", "Sign-in failed", "The answer carried no code."
        result.set_result(code)
        return "200 OK", "Signed in", "You can close this tab and return to HealthPrep Desktop."


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str | None]:
    """The request line and the Host header; _TooLong when either part is over its limit."""
    try:
        line = await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise _TooLong("414 URI Too Long") from None
    if len(line) - 2 > MAX_REQUEST_LINE:
        raise _TooLong("414 URI Too Long")
    host: str | None = None
    total = 0
    while True:
        try:
            header = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise _TooLong("431 Request Header Fields Too Large") from None
        total += len(header)
        if total > MAX_HEADER_BYTES:
            raise _TooLong("431 Request Header Fields Too Large")
        if header == b"\r\n":
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "host":
            host = None if host is not None else value.strip()  # two Host headers: none
    return line[:-2].decode("latin-1"), host


async def _respond(writer: asyncio.StreamWriter, status: str, title: str, message: str) -> None:
    body = _PAGE.format(
        title=html.escape(plain_text(title)), message=html.escape(plain_text(message, 600))
    ).encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _discard(reader: asyncio.StreamReader, limit: int = 1 << 20) -> None:
    """Read what the client still sends (up to a limit), so closing does not reset the
    connection before the client has read the answer."""
    with contextlib.suppress(TimeoutError, ConnectionError, asyncio.IncompleteReadError):
        seen = 0
        while seen < limit:
            chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            if not chunk:
                return
            seen += len(chunk)


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
