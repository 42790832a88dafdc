"""SMART scopes, v1 (``patient/*.read``) and v2 (``user/Observation.rs``), and what they allow.

A grant is the subset of the requested scopes the server understands and the client may have
(RFC 6749 lets a server grant fewer scopes than asked; the token response says which). v2
scopes with search restrictions (``?category=...``) are not granted: granting them unrestricted
would give more than asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

_CLINICAL = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$")
CONTEXT_SCOPES = frozenset(
    {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    }
)
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}

# Interactions as SMART v2 letters.
READ, SEARCH, CREATE, UPDATE, DELETE = "r", "s", "c", "u", "d"


class Access(Enum):
    NONE = 0
    PATIENT = 1  # only the token's patient compartment
    ALL = 2  # every resource of the type in the organization


@dataclass(frozen=True, slots=True)
class ClinicalScope:
    level: str  # patient | user | system
    resource_type: str  # a type or "*"
    actions: frozenset[str]


def parse_clinical(scope: str) -> ClinicalScope | None:
    match = _CLINICAL.match(scope)
    if match is None or not match.group(3):
        return None
    level, rtype, action = match.groups()
    actions = _V1.get(action, frozenset(action))
    return ClinicalScope(level, rtype, actions)


def _client_may(scope: str, allowed: tuple[str, ...] | None) -> bool:
    if allowed is None:
        return True
    return any(scope == a or (a.endswith("*") and scope.startswith(a[:-1])) for a in allowed)


@dataclass(frozen=True, slots=True)
class ScopeGrant:
    scopes: tuple[str, ...]
    clinical: tuple[ClinicalScope, ...]

    @classmethod
    def from_request(
        cls,
        requested: str,
        *,
        levels: Iterable[str],
        client_allowed: tuple[str, ...] | None = None,
    ) -> ScopeGrant:
        """The grantable subset of a space-separated scope request."""
        level_set = set(levels)
        granted: list[str] = []
        clinical: list[ClinicalScope] = []
        for scope in dict.fromkeys(requested.split()):
            if not _client_may(scope, client_allowed):
                continue
            if scope in CONTEXT_SCOPES:
                granted.append(scope)
                continue
            parsed = parse_clinical(scope)
            if parsed is not None and parsed.level in level_set:
                granted.append(scope)
                clinical.append(parsed)
        return cls(tuple(granted), tuple(clinical))

    def narrowed(self, requested: str) -> ScopeGrant | None:
        """A refresh may ask for a subset of the original grant; None if it asks for more."""
        wanted = requested.split()
        if not set(wanted) <= set(self.scopes):
            return None
        return ScopeGrant(
            tuple(s for s in self.scopes if s in wanted),
            tuple(c for c in (parse_clinical(s) for s in wanted) if c is not None),
        )

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def text(self) -> str:
        return " ".join(self.scopes)

    @property
    def has_patient_level(self) -> bool:
        return any(c.level == "patient" for c in self.clinical)

    def access(self, resource_type: str, action: str) -> Access:
        best = Access.NONE
        for scope in self.clinical:
            if action in scope.actions and scope.resource_type in ("*", resource_type):
                if scope.level in ("user", "system"):
                    return Access.ALL
                best = Access.PATIENT
        return best
