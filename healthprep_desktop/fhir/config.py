"""Connection settings: one value object per configured EHR connection (several per tenant).

Secrets (client secret, API key, backend private key, password) are not here: they live in the
keyring or the encrypted store under `secret_key(...)`, so this object can be stored, shown and
logged freely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class Vendor(StrEnum):
    EPIC = "epic"
    ORACLE_HEALTH = "oracle_health"  # formerly Cerner
    ATHENAHEALTH = "athenahealth"
    GENERIC = "generic"


class AuthMethod(StrEnum):
    SMART_PUBLIC_PKCE = "smart_public_pkce"
    SMART_CONFIDENTIAL_BASIC = "smart_confidential_basic"  # client_secret_basic
    SMART_CONFIDENTIAL_POST = "smart_confidential_post"  # client_secret_post
    SMART_BACKEND_SERVICES = "smart_backend_services"  # client_credentials + private_key_jwt
    BASIC = "basic"
    API_KEY = "api_key"
    NONE = "none"

    @property
    def is_smart(self) -> bool:
        return self.value.startswith("smart_")

    @property
    def is_interactive(self) -> bool:
        return self in (
            AuthMethod.SMART_PUBLIC_PKCE,
            AuthMethod.SMART_CONFIDENTIAL_BASIC,
            AuthMethod.SMART_CONFIDENTIAL_POST,
        )


@dataclass(frozen=True, slots=True)
class RedirectConfig:
    """RFC 8252 loopback redirect. port 0 = ephemeral; some EHRs register exact URIs, so a
    fixed port (and path) must be settable."""

    port: int = 0
    path: str = "/callback"
    host: str = "127.0.0.1"

    def uri(self, actual_port: int) -> str:
        return f"http://{self.host}:{actual_port}{self.path}"


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Client-side pacing per connection: a token bucket plus an in-flight cap."""

    requests_per_second: float = 20.0  # 0 = unlimited
    burst: int = 1  # 1 paces evenly, so a server-side limiter never sees a spike
    max_concurrency: int = 8

    def max_connections_hint(self) -> int:
        return max(1, self.max_concurrency)


@dataclass(frozen=True, slots=True)
class RetryConfig:
    max_attempts: int = 6  # first try included
    base_delay: float = 0.25
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is reported, not slept through


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 60.0


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    name: str
    base_url: str
    vendor: Vendor = Vendor.GENERIC
    auth_method: AuthMethod = AuthMethod.SMART_PUBLIC_PKCE
    client_id: str = ""
    scopes: tuple[str, ...] = ()
    redirect: RedirectConfig = field(default_factory=RedirectConfig)
    enabled: bool = True
    priority: int = 0  # lower first, when a tenant has several connections
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    timeout: TimeoutConfig = field(default_factory=TimeoutConfig)
    username: str = ""  # HTTP Basic only; the password is a secret
    api_key_header: str = "X-API-Key"
    backend_key_algorithm: str = "RS384"  # or ES384
    backend_key_id: str = ""  # kid registered with the EHR
    audience: str = ""  # `aud` for the authorize request; defaults to base_url
    token_endpoint_override: str = ""  # when discovery is unavailable (backend services)
    max_pages: int = 1000
    max_attachment_bytes: int = 20 * 1024 * 1024
    # TLS and proxy (fhir/tls.py): the OS trust store is always used; ca_file adds a private
    # CA (PEM or DER path). proxy "" = the system's proxy settings (HTTP(S)_PROXY, NO_PROXY).
    ca_file: str = ""
    proxy: str = ""
    # athenahealth: the practice every search that names no patient must carry as
    # ah-practice=Organization/a-1.Practice-{id} (the schedule, a Patient search); "" = none.
    practice_id: str = ""
    # The Group the EHR made for this app's patients, for Bulk Data: a rerun exports it with
    # `_since` to learn which charts changed (fhir/changed_patients.py); "" = no export path.
    panel_group_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def fhir_base(self) -> str:
        return self.base_url + "/"

    def with_changes(self, **changes: Any) -> ConnectionConfig:
        return replace(self, **changes)

    def secret_key(self, tenant: str, kind: str) -> str:
        """The name a secret of this connection is kept under (kind: client_secret, api_key,
        password, private_key)."""
        return f"{tenant}/{self.name}/{kind}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["vendor"] = self.vendor.value
        data["auth_method"] = self.auth_method.value
        data["scopes"] = list(self.scopes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConnectionConfig:
        known = dict(data)
        known["vendor"] = Vendor(known.get("vendor", Vendor.GENERIC))
        known["auth_method"] = AuthMethod(known.get("auth_method", AuthMethod.NONE))
        known["scopes"] = tuple(known.get("scopes") or ())
        for key, sub in (
            ("redirect", RedirectConfig),
            ("rate_limit", RateLimitConfig),
            ("retry", RetryConfig),
            ("timeout", TimeoutConfig),
        ):
            if isinstance(known.get(key), dict):
                known[key] = sub(**known[key])
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in known.items() if k in fields})
