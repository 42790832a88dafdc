"""httpx auth layers: SMART bearer with refresh-once-on-401, HTTP Basic, API key header."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from healthprep_desktop.fhir.tokens import TokenManager


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class BearerAuth(httpx.Auth):
    """Adds the connection's bearer token; after a 401, refreshes once (single-flight, through
    the TokenManager) and retries the request once.

    The token is only sent to the FHIR server's own origin: an attachment URL pointing elsewhere
    is fetched without it.
    """

    def __init__(self, manager: TokenManager, base_url: str) -> None:
        self._manager = manager
        self._origin = _origin(httpx.URL(base_url))
        self.retries_after_401 = 0

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("BearerAuth is async-only; use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if _origin(request.url) != self._origin:
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
        self._origin = _origin(httpx.URL(base_url))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if _origin(request.url) == self._origin:
            request.headers[self._header] = self._key
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r})"
