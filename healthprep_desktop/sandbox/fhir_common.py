"""What the sandbox FHIR API's parts share: results, errors, the request context, access.

FhirBase holds the state and the checks every interaction needs (the access token's scopes,
the patient compartment, the server profile's page sizes); fhir_search and fhir_write add the
interactions, fhir_api the HTTP side and the dispatch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from healthprep_desktop.sandbox.auth import AccessToken
from healthprep_desktop.sandbox.bundles import Bases
from healthprep_desktop.sandbox.config import SandboxClock, SandboxConfig
from healthprep_desktop.sandbox.datastore import (
    StoredResource,
    dumps,
)
from healthprep_desktop.sandbox.faults import SandboxStats, corrupt, is_malformed, operation_outcome
from healthprep_desktop.sandbox.org import Organization
from healthprep_desktop.sandbox.profiles import ServerProfile, profile_named
from healthprep_desktop.sandbox.profiles.enforce import page_size
from healthprep_desktop.sandbox.scopes import READ, Access
from healthprep_desktop.sandbox.search_params import known_types

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
CONTROL_PARAMS = frozenset(
    {
        "_count",
        "_sort",
        "_include",
        "_revinclude",
        "_getpages",
        "_getpagesoffset",
        "_total",
        "_summary",
        "_format",
        "_elements",
        "_pretty",
        "_type",
        "_since",
    }
)
# Not patient data: a patient-scoped token may read and search these across the organization.
SHARED_TYPES = frozenset(
    {"Practitioner", "PractitionerRole", "Location", "Organization", "Medication"}
)
WRITABLE_TYPES = frozenset({"DocumentReference"})


@dataclass(slots=True)
class Result:
    status: int
    body: bytes | None = None
    content_type: str = FHIR_JSON
    headers: dict[str, str] = field(default_factory=dict)
    stored: StoredResource | None = None
    resource_type: str = "-"
    interaction: str = "other"
    is_outcome: bool = False


class FhirError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = dict(headers or {})

    def result(self) -> Result:
        return Result(
            self.status,
            operation_outcome(self.code, self.diagnostics),
            headers=self.headers,
            is_outcome=True,
        )


@dataclass(slots=True)
class Ctx:
    org: Organization
    token: AccessToken
    bases: Bases


def entry_headers(stored: StoredResource) -> dict[str, str]:
    return {"etag": stored.etag, "last-modified": stored.last_modified}


def etag_matches(header: str, stored: StoredResource) -> bool:
    wanted = {t.strip() for t in header.split(",")}
    return "*" in wanted or stored.etag in wanted or f'"{stored.version}"' in wanted


class FhirBase:
    def __init__(
        self,
        config: SandboxConfig,
        orgs: Mapping[str, Organization],
        stats: SandboxStats,
        clock: SandboxClock,
    ) -> None:
        self.config = config
        self.orgs = orgs
        self.stats = stats
        self.clock = clock
        self._known = frozenset(known_types())
        profile_named(config.profile)  # an unknown profile fails when the server is built

    @property
    def profile(self) -> ServerProfile:
        """The server profile in force (read per request: the config may change mid-run)."""
        return profile_named(self.config.profile)

    async def execute(
        self,
        ctx: Ctx,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Result:
        """One interaction, as from HTTP or a batch entry (FhirApi implements it)."""
        raise NotImplementedError

    # --- access ----------------------------------------------------------------------------

    def _access(self, ctx: Ctx, rtype: str, action: str) -> str | None:
        """None for organization-wide access, a patient id for compartment-only access;
        403 when no granted scope covers the type and interaction."""
        access = ctx.token.grant.access(rtype, action)
        if access is Access.NONE:
            raise FhirError(
                403, "forbidden", f"the granted scopes do not permit {action} on {rtype}"
            )
        if access is Access.ALL or rtype in SHARED_TYPES:
            return None
        if ctx.token.patient is None:
            raise FhirError(403, "forbidden", "patient scopes need a patient in context")
        return ctx.token.patient

    def _may_read(self, ctx: Ctx, stored: StoredResource) -> bool:
        access = ctx.token.grant.access(stored.resource_type, READ)
        if access is Access.ALL:
            return True
        if access is Access.NONE:
            return False
        return self._in_compartment(stored, ctx.token.patient)

    @staticmethod
    def _in_compartment(stored: StoredResource, patient: str | None) -> bool:
        if stored.patient is None:
            return stored.resource_type in SHARED_TYPES
        return stored.patient == patient

    def _served(self, stored: StoredResource) -> bytes:
        faults = self.config.faults
        if is_malformed(faults.seed, faults.malformed_fraction, stored.resource_type, stored.key):
            self.stats.fault("malformed")
            return dumps(corrupt(stored.json(), faults.seed))
        return stored.body

    def _page_size(self, control: dict[str, list[str]]) -> int:
        raw = control.get("_count", [None])[-1]
        config = self.config
        return page_size(self.profile, raw, config.default_page_size, config.max_page_size)
