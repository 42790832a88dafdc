"""Endpoint directory import: a Bundle of Endpoint and Organization resources (Epic publishes its
customers' FHIR endpoints this way) -> organizations and their FHIR base URLs for the admin to
pick from. Meant to be downloaded once and cached, not queried live."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from healthprep_desktop.fhir.errors import InvalidResponse

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    organization: str
    base_url: str
    endpoint_name: str | None = None
    status: str = "active"


def _ref_id(reference: Any) -> str | None:
    if not isinstance(reference, dict):
        return None
    ref = str(reference.get("reference") or "")
    return ref.rstrip("/").split("/")[-1] or None


def parse_directory(bundle: JSON, *, include_inactive: bool = False) -> list[DirectoryEntry]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidResponse("an endpoint directory must be a FHIR Bundle")
    endpoints: dict[str, JSON] = {}
    organizations: dict[str, JSON] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        rid = str(resource.get("id") or entry.get("fullUrl") or "")
        if resource.get("resourceType") == "Endpoint":
            endpoints[rid] = resource
        elif resource.get("resourceType") == "Organization":
            organizations[rid] = resource
    # Organization -> Endpoint links, from either side.
    org_of: dict[str, str] = {}
    for oid, org in organizations.items():
        for ref in org.get("endpoint") or []:
            eid = _ref_id(ref)
            if eid:
                org_of[eid] = oid
    out: dict[tuple[str, str], DirectoryEntry] = {}
    for eid, endpoint in endpoints.items():
        address = str(endpoint.get("address") or "").strip()
        status = str(endpoint.get("status") or "active")
        if not address.startswith(("https://", "http://")):
            continue
        if status != "active" and not include_inactive:
            continue
        owner_id = org_of.get(eid) or _ref_id(endpoint.get("managingOrganization"))
        owner = organizations.get(owner_id or "")
        name = str(
            (owner or {}).get("name")
            or (endpoint.get("managingOrganization") or {}).get("display")
            or endpoint.get("name")
            or address
        )
        base = address.rstrip("/")
        out[(name, base)] = DirectoryEntry(name, base, endpoint.get("name"), status)
    return sorted(out.values(), key=lambda e: (e.organization.casefold(), e.base_url))


async def load_directory(
    source: str | Path, *, http: httpx.AsyncClient | None = None
) -> list[DirectoryEntry]:
    """From a file path or an http(s) URL."""
    text = str(source)
    if text.startswith(("https://", "http://")):
        owned = http is None
        client = http or httpx.AsyncClient(timeout=60, follow_redirects=True)
        try:
            response = await client.get(text, headers={"Accept": "application/fhir+json"})
            response.raise_for_status()
            body = response.json()
        finally:
            if owned:
                await client.aclose()
    else:
        body = json.loads(await asyncio.to_thread(Path(text).read_text, encoding="utf-8"))
    return parse_directory(body)


def search_directory(entries: list[DirectoryEntry], text: str) -> list[DirectoryEntry]:
    needle = text.casefold().strip()
    return [
        e for e in entries if needle in e.organization.casefold() or needle in e.base_url.casefold()
    ]
