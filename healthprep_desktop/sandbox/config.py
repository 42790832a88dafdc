"""What a sandbox run looks like: organizations, client registrations, tokens, faults, paging.

Everything here is a plain dataclass so a test can build exactly the server it needs, and so
the fault and token settings can be changed while the server runs (the server reads them on
every request rather than copying them at start).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

JSON = dict[str, Any]

LOOPBACK_REDIRECT = "http://127.0.0.1/callback"
DEMO_PUBLIC_CLIENT = "healthprep-desktop"
DEMO_BASIC_CLIENT = "healthprep-confidential"
DEMO_POST_CLIENT = "healthprep-confidential-post"
DEMO_BACKEND_CLIENT = "healthprep-backend"


@runtime_checkable
class ClinicSource(Protocol):
    """Where an organization's data comes from: the synthetic clinic or imported bundles."""

    def resources(self) -> Iterable[JSON]:
        """Every resource except Appointments, ids assigned, references as ``Type/id``."""
        ...

    def schedule(self, day: date) -> list[JSON]:
        """The Appointments of one clinic day; the same day always gives the same list."""
        ...


class ClientAuth(StrEnum):
    """How a client authenticates at the token endpoint (RFC 7591 names)."""

    NONE = "none"
    SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method name
    SECRET_POST = "client_secret_post"  # noqa: S105 - a method name
    PRIVATE_KEY_JWT = "private_key_jwt"


class LinkStyle(StrEnum):
    """How Bundle links are written; real servers use all three and clients must cope."""

    ABSOLUTE = "absolute"  # http://127.0.0.1:PORT/org/a/fhir/Observation?...
    RELATIVE = "relative"  # Observation?...  (relative to the FHIR base, as FHIR specifies)
    PATH = "path"  # /org/a/fhir/Observation?...


class OverCapacity(StrEnum):
    REJECT = "reject"  # 503 with Retry-After
    QUEUE = "queue"  # wait for a slot


@dataclass(slots=True)
class ClientRegistration:
    client_id: str
    auth_method: ClientAuth = ClientAuth.NONE
    # Registered redirect URIs. A loopback IP URI (127.0.0.1 or [::1]) matches any port
    # (RFC 8252 section 7.3); anything else must match exactly.
    redirect_uris: tuple[str, ...] = ()
    secret: str | None = None  # client_secret_basic / client_secret_post
    jwks: JSON | None = None  # private_key_jwt: a JWK Set ...
    jwks_url: str | None = None  # ... or where to fetch it
    # Scopes this client may be granted (exact strings or prefixes ending in '*'); None = any.
    allowed_scopes: tuple[str, ...] | None = None
    name: str = ""

    @property
    def is_public(self) -> bool:
        return self.auth_method is ClientAuth.NONE


@dataclass(slots=True)
class UserAccount:
    """A clinician who can sign in on the consent page."""

    username: str
    password: str
    # "Practitioner/<id>"; None picks the organization's first Practitioner.
    fhir_user: str | None = None


@dataclass(slots=True)
class TokenSettings:
    access_token_lifetime: float = 3600.0  # seconds
    refresh_token_lifetime: float = 90 * 86400.0
    code_lifetime: float = 60.0
    id_token_lifetime: float = 3600.0
    max_assertion_lifetime: float = 300.0  # SMART Backend Services: exp at most 5 min ahead
    # Whether public (PKCE) clients get refresh tokens; Epic grants them only to apps
    # configured for it. Server profiles set it; sandbox/auth.py does not read it yet.
    refresh_for_public_clients: bool = True


@dataclass(slots=True)
class FaultConfig:
    """Fault and load injection. Mutable while the server runs; changing ``seed`` restarts
    the random streams (see FaultInjector.reset)."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit: float | None = None  # requests per second (token bucket); None = unlimited
    rate_burst: int | None = None  # bucket size; None = max(1, rate_limit)
    max_concurrent: int | None = None
    over_capacity: OverCapacity = OverCapacity.REJECT
    error_rate: float = 0.0  # fraction of requests answered with a random 5xx
    error_statuses: tuple[int, ...] = (500, 502, 503)
    drop_rate: float = 0.0  # fraction of requests whose connection is closed with no response
    slow_body_ms: float = 0.0  # each response body is sent in chunks spread over this time
    slow_body_chunks: int = 4
    malformed_fraction: float = 0.0  # of resources in search results and $everything
    include_auth: bool = False  # also apply latency/limits/errors to /authorize and /token
    retry_after_header: bool = True  # whether a 429 says when to retry (not every server does)


@dataclass(slots=True)
class BulkConfig:
    """Bulk Data export (sandbox/bulk, docs/sandbox-bulk.md). Mutable while the server runs;
    the ``next_*`` counters are consumed by the server (set one to 1 for "once")."""

    retry_after: int = 1  # Retry-After seconds on a 202 status answer (0 is allowed: tests)
    polls_before_complete: int = 1  # status polls answered 202 before the manifest
    min_seconds: float = 0.0  # and at least this long after kick-off (sandbox clock)
    max_lines_per_file: int = 10_000  # an output type is split into files of at most this
    # Output files vanish this long after the job finished (sandbox clock); None = the
    # profile's own (oracle-like 30 days, else 1 day).
    file_expiry_seconds: float | None = None
    patients_per_step: int = 50  # the job yields to the server loop after this many patients
    enforce_retry_after: bool = False  # a status poll sooner than Retry-After gets 429
    next_status_errors: int = 0  # the next N status polls get a transient 5xx
    status_error_code: int = 503
    next_jobs_fail: int = 0  # the next N jobs fail (status 500 + OperationOutcome)
    next_downloads_cut: int = 0  # the next N file downloads are cut after cut_after_bytes
    cut_after_bytes: int = 4096
    folder: Path | None = None  # where job folders go; None = a private temporary folder


@dataclass(slots=True)
class OrgConfig:
    org_id: str  # the URL path segment: /org/{org_id}/fhir
    name: str = "Sandbox Clinic"
    clients: list[ClientRegistration] = field(default_factory=list)
    source: ClinicSource | None = None
    import_paths: list[Path] = field(default_factory=list)  # bundle files or folders
    resources: list[JSON] = field(default_factory=list)  # extra resources (tests)
    users: list[UserAccount] = field(default_factory=lambda: [UserAccount("demo", "demo")])
    default_patient: str | None = None  # auto-approve's patient for launch/patient


@dataclass(slots=True)
class SandboxConfig:
    orgs: list[OrgConfig] = field(default_factory=list)
    auto_approve: bool = True
    tokens: TokenSettings = field(default_factory=TokenSettings)
    faults: FaultConfig = field(default_factory=FaultConfig)
    link_style: LinkStyle = LinkStyle.ABSOLUTE
    default_page_size: int = 50
    max_page_size: int = 1000
    host: str = "127.0.0.1"
    port: int = 0
    max_schedule_days: int = 62  # widest Appointment date range materialised per search
    # Which server the sandbox behaves like (sandbox.profiles): "generic" is today's sandbox;
    # "us-core", "epic-like", "oracle-like", "athena-like" narrow it. Read on every request.
    profile: str = "generic"
    bulk: BulkConfig = field(default_factory=BulkConfig)  # $export (sandbox/bulk)

    def org(self, org_id: str) -> OrgConfig:
        for org in self.orgs:
            if org.org_id == org_id:
                return org
        raise KeyError(org_id)


def demo_clients(
    backend_jwks: JSON | None = None, backend_jwks_url: str | None = None
) -> list[ClientRegistration]:
    """The standard registrations: a public desktop client, two confidential ones and, when a
    key set is given, a backend-services client. Secrets are sandbox-only demo values."""
    clients = [
        ClientRegistration(
            DEMO_PUBLIC_CLIENT,
            ClientAuth.NONE,
            redirect_uris=(LOOPBACK_REDIRECT, "http://[::1]/callback"),
            name="HealthPrep Desktop (public, PKCE)",
        ),
        ClientRegistration(
            DEMO_BASIC_CLIENT,
            ClientAuth.SECRET_BASIC,
            redirect_uris=(LOOPBACK_REDIRECT,),
            secret="sandbox-secret-basic",  # noqa: S106 - a sandbox demo value, printed by the CLI
            name="Confidential (client_secret_basic)",
        ),
        ClientRegistration(
            DEMO_POST_CLIENT,
            ClientAuth.SECRET_POST,
            redirect_uris=(LOOPBACK_REDIRECT,),
            secret="sandbox-secret-post",  # noqa: S106 - a sandbox demo value, printed by the CLI
            name="Confidential (client_secret_post)",
        ),
    ]
    if backend_jwks is not None or backend_jwks_url is not None:
        clients.append(
            ClientRegistration(
                DEMO_BACKEND_CLIENT,
                ClientAuth.PRIVATE_KEY_JWT,
                jwks=backend_jwks,
                jwks_url=backend_jwks_url,
                name="Backend services (private_key_jwt)",
            )
        )
    return clients


class SandboxClock:
    """Wall-clock time with an offset, so tests can expire tokens without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
