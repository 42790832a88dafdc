"""SMART discovery and what the server's CapabilityStatement says it can do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from healthprep_desktop.fhir.errors import (
    DiscoveryError,
    FhirError,
    FhirTransportError,
    InvalidResponse,
    NotFhirServer,
    parse_operation_outcome,
)
from healthprep_desktop.fhir.failures import (
    FHIR_BASE_HINT,
    http_failure,
    not_fhir,
    transport_failure,
)

OAUTH_URIS_EXTENSION = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
# How a CapabilityStatement says which parameters a search must combine (US Core uses it for
# e.g. Observation: patient+category, patient+code).
COMBINATION_EXTENSION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class SmartConfiguration:
    authorization_endpoint: str | None
    token_endpoint: str
    capabilities: tuple[str, ...] = ()
    code_challenge_methods: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    token_auth_methods: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    revocation_endpoint: str | None = None
    registration_endpoint: str | None = None
    source: str = "well-known"  # or "capability-statement"

    @property
    def supports_s256(self) -> bool:
        # Servers that omit the field may still support PKCE; S256 is then sent anyway, and a
        # server that does not know PKCE ignores the extra parameters (RFC 7636 section 5).
        # A server listing methods without S256 is refused for public clients (oauth.pkce_for).
        return not self.code_challenge_methods or "S256" in self.code_challenge_methods

    @classmethod
    def from_json(cls, body: dict[str, Any], source: str = "well-known") -> SmartConfiguration:
        token = body.get("token_endpoint")
        if not isinstance(token, str) or not token:
            raise DiscoveryError("the SMART configuration names no token endpoint")

        def strings(key: str) -> tuple[str, ...]:
            value = body.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(
            authorization_endpoint=body.get("authorization_endpoint") or None,
            token_endpoint=token,
            capabilities=strings("capabilities"),
            code_challenge_methods=strings("code_challenge_methods_supported"),
            grant_types=strings("grant_types_supported"),
            token_auth_methods=strings("token_endpoint_auth_methods_supported"),
            scopes_supported=strings("scopes_supported"),
            revocation_endpoint=body.get("revocation_endpoint") or None,
            registration_endpoint=body.get("registration_endpoint") or None,
            source=source,
        )


@dataclass(frozen=True, slots=True)
class ResourceSupport:
    interactions: frozenset[str] = frozenset()
    search_params: frozenset[str] = frozenset()
    rev_includes: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()
    # The declared search-parameter combinations (each the set of required parameters).
    combinations: tuple[frozenset[str], ...] = ()

    def patient_alone_allowed(self, patient_param: str = "patient") -> bool:
        """False when the server declares combinations for this type and none of them is the
        patient parameter alone: such a search needs e.g. a category as well."""
        with_patient = [c for c in self.combinations if patient_param in c]
        return not with_patient or frozenset({patient_param}) in with_patient

    def combination_partners(self, patient_param: str = "patient") -> frozenset[str]:
        """The parameters that complete a patient search into a declared combination."""
        return frozenset(
            p
            for c in self.combinations
            if patient_param in c and len(c) == 2
            for p in c
            if p != patient_param
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The parts of a CapabilityStatement the record fetch plans with."""

    fhir_version: str = ""
    system_interactions: frozenset[str] = frozenset()
    system_operations: frozenset[str] = frozenset()
    resources: dict[str, ResourceSupport] = field(default_factory=dict)
    oauth_uris: dict[str, str] = field(default_factory=dict)
    # Canonical URLs the server says it implements (e.g. the Bulk Data CapabilityStatement).
    instantiates: frozenset[str] = frozenset()

    @property
    def is_r4(self) -> bool:
        return self.fhir_version.startswith(("4.0", "4.3"))

    @property
    def supports_batch(self) -> bool:
        return "batch" in self.system_interactions

    def supports_everything(self) -> bool:
        patient = self.resources.get("Patient")
        return bool(patient and "everything" in patient.operations) or (
            "everything" in self.system_operations
        )

    def supports_revinclude(self, source_type: str, param: str = "patient") -> bool:
        patient = self.resources.get("Patient")
        return bool(patient and f"{source_type}:{param}" in patient.rev_includes)

    def supports_search_param(self, resource_type: str, param: str) -> bool:
        support = self.resources.get(resource_type)
        return bool(support and param in support.search_params)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Capabilities:
        resources: dict[str, ResourceSupport] = {}
        system_interactions: set[str] = set()
        system_operations: set[str] = set()
        oauth: dict[str, str] = {}
        for rest in body.get("rest") or []:
            if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
                continue
            system_interactions |= {str(i.get("code")) for i in rest.get("interaction") or []}
            system_operations |= {_op_name(o) for o in rest.get("operation") or []}
            security = rest.get("security") or {}
            for ext in security.get("extension") or []:
                if ext.get("url") == OAUTH_URIS_EXTENSION:
                    for sub in ext.get("extension") or []:
                        if sub.get("url") and sub.get("valueUri"):
                            oauth[str(sub["url"])] = str(sub["valueUri"])
            for res in rest.get("resource") or []:
                if not isinstance(res, dict) or not res.get("type"):
                    continue
                resources[str(res["type"])] = ResourceSupport(
                    interactions=frozenset(
                        str(i.get("code")) for i in res.get("interaction") or []
                    ),
                    search_params=frozenset(
                        str(p.get("name")) for p in res.get("searchParam") or []
                    ),
                    rev_includes=frozenset(str(r) for r in res.get("searchRevInclude") or []),
                    operations=frozenset(_op_name(o) for o in res.get("operation") or []),
                    combinations=_combinations(res),
                )
        return cls(
            fhir_version=str(body.get("fhirVersion") or ""),
            system_interactions=frozenset(system_interactions),
            system_operations=frozenset(system_operations),
            resources=resources,
            oauth_uris=oauth,
            instantiates=frozenset(
                str(u) for u in body.get("instantiates") or [] if isinstance(u, str)
            ),
        )


def _combinations(resource: dict[str, Any]) -> tuple[frozenset[str], ...]:
    found: list[frozenset[str]] = []
    for ext in resource.get("extension") or []:
        if not isinstance(ext, dict) or ext.get("url") != COMBINATION_EXTENSION:
            continue
        required = frozenset(
            str(sub["valueString"])
            for sub in ext.get("extension") or []
            if isinstance(sub, dict) and sub.get("url") == "required" and sub.get("valueString")
        )
        if required:
            found.append(required)
    return tuple(found)


def _op_name(op: Any) -> str:
    name = str(op.get("name", "")) if isinstance(op, dict) else ""
    return name.lstrip("$")


async def fetch_capabilities(http: httpx.AsyncClient, base_url: str) -> Capabilities:
    """The CapabilityStatement; a typed FhirError with one sentence for every failure (no
    answer, an error status, a web page, JSON that is not a CapabilityStatement)."""
    base = base_url.rstrip("/")
    url = httpx.URL(base + "/metadata")
    try:
        response = await http.get(url, headers={"Accept": FHIR_JSON})
    except httpx.TransportError as exc:
        raise transport_failure(exc, url.host or base) from exc
    if response.status_code >= 400:
        try:
            issues = parse_operation_outcome(response.json())
        except ValueError:
            issues = []
        raise http_failure(
            response.status_code,
            "GET",
            url.path,
            base_path=httpx.URL(base).path.rstrip("/"),
            host=url.host or base,
            issues=issues,
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise not_fhir(response, base, "/metadata") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
        if response.status_code >= 300 or not isinstance(body, dict):
            raise not_fhir(response, base, "/metadata")
        raise InvalidResponse(
            f"{base}/metadata answers JSON that is not a FHIR CapabilityStatement: "
            f"{FHIR_BASE_HINT}."
        )
    return Capabilities.from_json(body)


async def discover(http: httpx.AsyncClient, base_url: str) -> SmartConfiguration:
    """SMART configuration from .well-known, falling back to the CapabilityStatement."""
    base = base_url.rstrip("/")
    problems: list[str] = []
    try:
        response = await http.get(
            base + "/.well-known/smart-configuration", headers={"Accept": "application/json"}
        )
        if response.status_code == 200:
            body = response.json()
            if isinstance(body, dict):
                return SmartConfiguration.from_json(body)
        problems.append(f".well-known/smart-configuration answered HTTP {response.status_code}")
    except httpx.TransportError as exc:
        raise transport_failure(exc, httpx.URL(base).host or base) from exc
    except ValueError:
        problems.append(".well-known/smart-configuration is not JSON")
    except DiscoveryError as exc:
        problems.append(f".well-known/smart-configuration is not usable ({exc})")
    try:
        capabilities = await fetch_capabilities(http, base)
    except FhirError as exc:
        if isinstance(exc, FhirTransportError | NotFhirServer):
            raise  # its own sentence says more than "does not say where to log in"
        problems.append(f"/metadata is not usable ({type(exc).__name__})")
        raise DiscoveryError(
            "the server does not say where to log in: " + "; ".join(problems)
        ) from exc
    uris = capabilities.oauth_uris
    if "token" not in uris:
        problems.append("the CapabilityStatement has no oauth-uris extension")
        raise DiscoveryError("the server does not say where to log in: " + "; ".join(problems))
    return SmartConfiguration(
        authorization_endpoint=uris.get("authorize"),
        token_endpoint=uris["token"],
        revocation_endpoint=uris.get("revoke"),
        registration_endpoint=uris.get("register"),
        source="capability-statement",
    )
