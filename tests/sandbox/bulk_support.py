"""Helpers for the Bulk Data export tests: backend tokens, kick-off, polling, NDJSON reading."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sandbox_smart import BACKEND, KeyPair, backend_form

from healthprep_desktop.sandbox import SandboxServer

JSON = dict[str, Any]
KICKOFF_HEADERS = {"Accept": "application/fhir+json", "Prefer": "respond-async"}


def system_token(
    http: httpx.Client,
    server: SandboxServer,
    keys: dict[str, KeyPair],
    scope: str = "system/*.read",
    org: str | None = None,
) -> str:
    """A SMART Backend Services access token (client_credentials, private_key_jwt)."""
    url = server.token_url(org)
    response = http.post(url, data=backend_form(BACKEND, url, keys["RS384"], scope))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def kick_off(
    http: httpx.Client,
    server: SandboxServer,
    token: str,
    path: str = "Group/panel/$export",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    org: str | None = None,
) -> httpx.Response:
    sent = {**KICKOFF_HEADERS, **(headers or {}), "Authorization": f"Bearer {token}"}
    return http.get(f"{server.base_url(org)}/{path}", params=params or {}, headers=sent)


def started(response: httpx.Response) -> str:
    """The status URL of an accepted kick-off."""
    assert response.status_code == 202, response.text
    url: str = response.headers["Content-Location"]
    return url


def poll(http: httpx.Client, status_url: str, token: str, limit: int = 200) -> httpx.Response:
    """Poll until the status is no longer 202 (tests set retry_after = 0: no waiting)."""
    for _ in range(limit):
        response = http.get(status_url, headers=auth(token))
        if response.status_code != 202:
            return response
    raise AssertionError("the export did not finish")


def export(
    http: httpx.Client,
    server: SandboxServer,
    token: str,
    path: str = "Group/panel/$export",
    params: dict[str, str] | None = None,
    org: str | None = None,
) -> JSON:
    """Kick off, poll to the end and return the manifest."""
    status_url = started(kick_off(http, server, token, path, params, org=org))
    response = poll(http, status_url, token)
    assert response.status_code == 200, response.text
    manifest: JSON = response.json()
    return manifest


def lines(http: httpx.Client, url: str, token: str) -> list[JSON]:
    response = http.get(url, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line]


def resources(http: httpx.Client, manifest: JSON, token: str) -> list[JSON]:
    """Every resource in a manifest's output files, in file order."""
    found: list[JSON] = []
    for item in manifest["output"]:
        got = lines(http, item["url"], token)
        assert len(got) == item["count"]
        assert all(r["resourceType"] == item["type"] for r in got)
        found += got
    return found


def keys_of(found: list[JSON]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in found}
