"""Server profiles: the embedded sandbox behaving like the FHIR servers clinics connect to.

``profile_named("us-core")`` gives the rules; ``apply_profile(config, "epic-like")`` sets a
SandboxConfig up for one (the profile name, its token lifetimes and, when asked, its rate limit
and 429 style). The FHIR API reads ``config.profile`` on every request and enforces it; the
CapabilityStatement states it.
"""

from __future__ import annotations

from healthprep_desktop.sandbox.config import SandboxConfig
from healthprep_desktop.sandbox.profiles.athena_like import PROFILE as ATHENA_LIKE
from healthprep_desktop.sandbox.profiles.epic_like import PROFILE as EPIC_LIKE
from healthprep_desktop.sandbox.profiles.generic import PROFILE as GENERIC
from healthprep_desktop.sandbox.profiles.model import (
    BulkSupport,
    CountPolicy,
    RateLimit,
    ServerProfile,
    TokenLifetimes,
    TypeRules,
    UnsupportedParam,
    WriteRules,
)
from healthprep_desktop.sandbox.profiles.oracle_like import PROFILE as ORACLE_LIKE
from healthprep_desktop.sandbox.profiles.us_core import PROFILE as US_CORE

PROFILES: dict[str, ServerProfile] = {
    p.name: p
    for p in (
        GENERIC,
        US_CORE,
        EPIC_LIKE,
        ORACLE_LIKE,
        ATHENA_LIKE,
    )
}
PROFILE_NAMES = tuple(PROFILES)
DEFAULT_PROFILE = GENERIC.name


class UnknownProfile(ValueError):
    pass


def profile_named(name: str) -> ServerProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILE_NAMES)
        raise UnknownProfile(f"Unknown server profile '{name}'; choose one of: {known}.") from None


def apply_profile(config: SandboxConfig, name: str, *, rate_limit: bool = False) -> SandboxConfig:
    """Set ``config`` up to behave like profile ``name`` (returns it, changed in place).

    Token lifetimes come from the profile. The profile's rate limit is applied only when asked
    (benchmarks, the CLI), so functional tests do not pay for it.
    """
    profile = profile_named(name)
    config.profile = profile.name
    config.tokens.access_token_lifetime = profile.tokens.access_token
    config.tokens.refresh_token_lifetime = profile.tokens.refresh_token
    config.tokens.refresh_for_public_clients = profile.tokens.refresh_for_public_clients
    if rate_limit and profile.rate_limit is not None:
        config.faults.rate_limit = profile.rate_limit.requests_per_second
        config.faults.rate_burst = profile.rate_limit.burst
        config.faults.retry_after_header = profile.rate_limit.retry_after
    return config


__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "PROFILE_NAMES",
    "BulkSupport",
    "CountPolicy",
    "RateLimit",
    "ServerProfile",
    "TokenLifetimes",
    "TypeRules",
    "UnknownProfile",
    "UnsupportedParam",
    "WriteRules",
    "apply_profile",
    "profile_named",
]
