"""What a server profile says: the rules one kind of EHR applies to the same FHIR API.

A profile narrows the generic sandbox (every type, every parameter, $everything, batch,
_include/_revinclude, lenient paging) to what a given server offers, and the sandbox enforces
exactly that and states it in its CapabilityStatement. ``None`` for ``types`` means "the generic
table, unchanged": the ``generic`` profile keeps today's behaviour bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# The interactions a profile can grant on a type (FHIR's TypeRestfulInteraction codes).
READ = "read"
VREAD = "vread"
SEARCH = "search-type"
CREATE = "create"
UPDATE = "update"
READ_SEARCH = frozenset({READ, SEARCH})


class UnsupportedParam(StrEnum):
    """How a server answers a search parameter it does not support."""

    IGNORE = "ignore"  # run the search without it; the self link shows what was used (FHIR 3.1.1)
    REFUSE = "refuse"  # 400 OperationOutcome naming the parameter


class CountPolicy(StrEnum):
    """What a ``_count`` above the page-size cap gets."""

    CAP = "cap"  # silently served at the cap, with next links
    REFUSE = "refuse"  # 400 OperationOutcome giving the cap


@dataclass(frozen=True, slots=True)
class TypeRules:
    """One resource type on one server.

    ``params`` are the search parameters the server supports (None = every parameter the
    sandbox knows for the type). ``required`` lists the accepted parameter combinations: a search
    must use every parameter of at least one of them (empty = any supported search is accepted).
    """

    params: frozenset[str] | None = None
    required: tuple[frozenset[str], ...] = ()
    interactions: frozenset[str] = READ_SEARCH

    def accepts(self, used: set[str]) -> bool:
        return not self.required or any(combo <= used for combo in self.required)


def rules(
    *required: str,
    extra: tuple[str, ...] = (),
    interactions: frozenset[str] = READ_SEARCH,
) -> TypeRules:
    """TypeRules from combinations written ``"patient+category"``; every parameter named in a
    combination is supported, plus ``extra`` (optional parameters)."""
    combos = tuple(frozenset(c.split("+")) for c in required if c)
    params = frozenset(extra).union(*combos) if combos else frozenset(extra)
    return TypeRules(params, combos, interactions)


@dataclass(frozen=True, slots=True)
class WriteRules:
    """What a create or update of a written-back document must carry."""

    content_types: frozenset[str] | None = None  # None = any attachment type
    single_attachment: bool = False
    needs_encounter: bool = False  # context.encounter must reference an existing Encounter
    update: bool = True  # PUT of an existing document (some servers only create)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The 429 behaviour a profile applies when a run asks for its rate limit."""

    requests_per_second: float
    burst: int | None = None
    retry_after: bool = True  # whether a 429 carries Retry-After (some servers omit it)


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    access_token: float = 3600.0
    refresh_token: float = 90 * 86400.0
    # Public (PKCE) clients get refresh tokens only when the server's app registration grants
    # them; enforcing this needs the auth server (sandbox/auth.py), which reads TokenSettings.
    refresh_for_public_clients: bool = True


@dataclass(frozen=True, slots=True)
class BulkSupport:
    """Which FHIR Bulk Data export operations a server offers and how (sandbox/bulk)."""

    system_export: bool = True  # [base]/$export
    patient_export: bool = True  # [base]/Patient/$export
    group_export: bool = True  # [base]/Group/[id]/$export
    progress: bool = True  # X-Progress on a running status answer
    one_job_per_client: bool = False  # a second kick-off while one runs gets 429
    file_expiry_seconds: float = 86_400.0
    sources: tuple[str, ...] = ("https://hl7.org/fhir/uv/bulkdata/",)

    @property
    def any(self) -> bool:
        return self.system_export or self.patient_export or self.group_export


GROUP_EXPORT_ONLY = BulkSupport(system_export=False, patient_export=False)


@dataclass(frozen=True, slots=True)
class ServerProfile:
    name: str
    title: str
    sources: tuple[str, ...]  # the public pages the rules come from
    types: Mapping[str, TypeRules] | None = None  # None = every type, generic rules
    everything: bool = True  # Patient/$everything
    batch: bool = True  # POST a batch Bundle of reads to the base
    # Allowed _include / _revinclude values ("MedicationRequest:medication"); None = all.
    includes: frozenset[str] | None = None
    revincludes: frozenset[str] | None = None
    # Control parameters besides _count and paging that the server honours; None = all.
    controls: frozenset[str] | None = None
    default_page_size: int | None = None  # None = SandboxConfig.default_page_size
    max_page_size: int | None = None  # None = SandboxConfig.max_page_size
    count_policy: CountPolicy = CountPolicy.CAP
    unsupported: UnsupportedParam = UnsupportedParam.REFUSE
    writes: Mapping[str, WriteRules] = field(
        default_factory=lambda: {"DocumentReference": WriteRules()}
    )
    tokens: TokenLifetimes = TokenLifetimes()
    rate_limit: RateLimit | None = None  # what bench/CLI apply for this profile
    # Searches that name no patient must carry this parameter (athenahealth's ah-practice).
    practice_param: str | None = None
    practice_value: str | None = None
    notes: tuple[str, ...] = ()  # one line each, shown in the CapabilityStatement
    bulk: BulkSupport = BulkSupport()  # Bulk Data export (sandbox/bulk)

    @property
    def is_generic(self) -> bool:
        return self.types is None

    def type_rules(self, resource_type: str) -> TypeRules | None:
        """The rules for a type, or None when the server does not offer it."""
        if self.types is None:
            return TypeRules()
        return self.types.get(resource_type)

    def offers(self, resource_type: str, interaction: str) -> bool:
        found = self.type_rules(resource_type)
        if found is None:
            return False
        if interaction == CREATE:
            return resource_type in self.writes
        if interaction == UPDATE:
            write = self.writes.get(resource_type)
            return write is not None and write.update
        if interaction == VREAD:
            return READ in found.interactions
        return interaction in found.interactions
