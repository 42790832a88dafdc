"""httpx auth layers: SMART bearer with refresh-once-on-401, HTTP Basic, API key header.

Every credential is sent only to URLs under the connection's FHIR base: the same scheme, host
and port, and a path that is the base path or below it (`/r4/tenantA/...`, never
`/r4/tenantB/...` or `/r4/tenantAB/...`). A paging or attachment link elsewhere, including
another tenant's path on the same origin, is fetched without the credential.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from healthprep_desktop.fhir.tokens import TokenManager

# Percent-encoded dot, slash and backslash: a server may decode them into a path that climbs
# out of the base ("%2e%2e/", "..%2f"), so a URL holding them never gets a credential.
_ENCODED_SEPARATORS = ("%2e", "%2f", "%5c")


class UrlScope:
    """The set of URLs a connection's credentials may go to: the FHIR base and below."""

    def __init__(self, base_url: str) -> None:
        base = httpx.URL(base_url)
        self._origin = (base.scheme, base.host, base.port)
        self._prefix = base.path.rstrip("/")

    def contains(self, url: httpx.URL) -> bool:
        if (url.scheme, url.host, url.port) != self._origin:
            return False
        raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
        if any(mark in raw_path.lower() for mark in _ENCODED_SEPARATORS) or "\\" in raw_path:
            return False
        segments = raw_path.split("/")
        if "." in segments or ".." in segments:
            return False
        return raw_path == self._prefix or raw_path.startswith(self._prefix + "/")


class BearerAuth(httpx.Auth):
    """Adds the connection's bearer token; after a 401, refreshes once (single-flight, through
    the TokenManager) and retries the request once.

    The token is only sent to URLs under the FHIR base (see UrlScope).
    """

    def __init__(self, manager: TokenManager, base_url: str) -> None:
        self._manager = manager
        self._scope = UrlScope(base_url)
        self.retries_after_401 = 0

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("BearerAuth is async-only; use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._scope.contains(request.url):
            request.headers.pop("Authorization", None)
            yield request
            return
        token = await self._manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self._manager.refresh_after_unauthorized(token)
            self.retries_after_401 += 1
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class ApiKeyAuth(httpx.Auth):
    def __init__(self, header: str, key: str, base_url: str) -> None:
        self._header = header
        self._key = key
        self._scope = UrlScope(base_url)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if self._scope.contains(request.url):
            request.headers[self._header] = self._key
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r})"


class ScopedBasicAuth(httpx.Auth):
    """HTTP Basic, sent only under the FHIR base (httpx.BasicAuth would send it anywhere)."""

    def __init__(self, username: str, password: str, base_url: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._scope = UrlScope(base_url)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if self._scope.contains(request.url):
            yield from self._basic.auth_flow(request)
        else:
            yield request

    def __repr__(self) -> str:
        return "ScopedBasicAuth()"
