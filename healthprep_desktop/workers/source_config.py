"""Which of a clinic's connections are secondary FHIR sources, and what the sheet calls them.

The primary EHR is the batch's connection (the schedule comes from it). A secondary source is
another ENABLED connection of the clinic whose config carries a ``source`` section:

    "source": {"id": "stmarys", "kind": "ehr", "name": "St Mary's Hospital",
               "enterprise_systems": ["https://mpi.example/id"]}

Opting in (rather than reading every other connection) keeps a clinic's second login to its own
EHR, or a test server, from ever being merged into charts. Each source has its own connection,
so its own sign-in, rate limit and time-outs; ``connections.priority`` (lower wins) decides
which copy of a duplicated fact is kept. No Qt here: the window and the batch both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from healthprep_desktop.sources.model import Source, SourceKind
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.connections import Connection

SOURCE_KEY = "source"
PRIMARY_SOURCE_ID = "primary"


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """The ``source`` section of a connection's config, checked."""

    id: str
    kind: SourceKind
    name: str  # "" = the connection's name
    enterprise_systems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind.value}
        if self.name:
            data["name"] = self.name
        if self.enterprise_systems:
            data["enterprise_systems"] = list(self.enterprise_systems)
        return data


def source_id_from(name: str) -> str:
    """A short, FHIR-id-safe source id from a name: "St Mary's Hospital" -> "stmaryshospital"."""
    folded = re.sub(r"[^a-z0-9-]", "", name.casefold())[:24]
    return folded or "source"


def source_settings(connection: Connection) -> SourceSettings | None:
    """The connection's source section, or None when it is not a secondary source."""
    raw = connection.config.get(SOURCE_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        kind = SourceKind(str(raw.get("kind") or SourceKind.EHR.value))
    except ValueError:
        kind = SourceKind.EHR
    sid = str(raw.get("id") or "") or source_id_from(connection.name)
    if sid == PRIMARY_SOURCE_ID or not all(c.isalnum() or c in "-." for c in sid):
        sid = source_id_from(sid)
    systems = raw.get("enterprise_systems") or ()
    return SourceSettings(
        id=sid,
        kind=kind,
        name=str(raw.get("name") or ""),
        enterprise_systems=tuple(str(s) for s in systems if s),
    )


def as_source(connection: Connection, settings: SourceSettings) -> Source:
    return Source(
        id=settings.id,
        name=settings.name or connection.name,
        priority=connection.priority,
        kind=settings.kind,
    )


def primary_source(name: str) -> Source:
    """The clinic's own EHR: always first (merge sorts the primary before any priority)."""
    return Source(PRIMARY_SOURCE_ID, name or "the clinic's EHR", 0, primary=True)


def secondary_connections(
    scope: TenantScope, primary_connection_id: int | None
) -> list[tuple[Connection, SourceSettings]]:
    """The clinic's enabled secondary sources other than the primary, by priority."""
    out: list[tuple[Connection, SourceSettings]] = []
    seen: set[str] = set()
    for connection in scope.connections.all(enabled_only=True):
        if connection.id == primary_connection_id:
            continue
        settings = source_settings(connection)
        if settings is None or settings.id in seen:
            continue  # two connections claiming one source id: the higher priority one reads
        seen.add(settings.id)
        out.append((connection, settings))
    return out


def set_source(
    scope: TenantScope, connection_id: int, settings: SourceSettings | None
) -> Connection | None:
    """Make a connection a secondary source (or, with None, an ordinary connection again)."""
    found = scope.connections.get(connection_id)
    if found is None:
        return None
    config = dict(found.config)
    if settings is None:
        config.pop(SOURCE_KEY, None)
    else:
        config[SOURCE_KEY] = settings.to_json()
    return scope.connections.update(connection_id, config=config)
