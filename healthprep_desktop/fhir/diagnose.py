"""Test connection: /metadata, SMART discovery and an authenticated read, each failure turned
into a message an admin can act on."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import httpx

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.discovery import Capabilities, discover
from healthprep_desktop.fhir.errors import (
    DiscoveryError,
    FhirError,
    FhirHttpError,
    FhirTransportError,
    Forbidden,
    InvalidResponse,
    OAuthError,
    PreflightFailed,
    ReauthenticationRequired,
    Unauthorized,
)
from healthprep_desktop.fhir.failures import causes, transport_failure
from healthprep_desktop.fhir.session import FhirConnection

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    result: str  # ok | failed | skipped
    message: str


@dataclass(slots=True)
class Diagnosis:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.result != FAILED for c in self.checks)

    def summary(self) -> str:
        failed = [c for c in self.checks if c.result == FAILED]
        return failed[0].message if failed else "The connection works."


def explain(exc: BaseException, host: str) -> str:
    """An actionable sentence for a failure (no secrets, no PHI): the same sentences as the
    batch and the command line (fhir/failures.py)."""
    chain = list(causes(exc))
    if isinstance(exc, FhirTransportError) or any(
        isinstance(e, httpx.TransportError | ssl.SSLError | OSError) for e in chain
    ):
        return str(transport_failure(exc, host))
    if isinstance(exc, OAuthError):
        if exc.error == "invalid_client":
            return (
                "The EHR does not accept this app's client id or its secret/key (invalid_client). "
                "Check the client id, and for backend services that the public key (JWKS) is "
                "registered."
            )
        if exc.error in ("invalid_scope", "access_denied", "unauthorized_client"):
            return (
                f"The EHR refused the requested access ({exc.error}). Ask the EHR administrator "
                "to grant the app the scopes it requests, or remove scopes it may not have."
            )
        return f"The EHR's sign-in service refused the request: {exc}."
    if isinstance(exc, Forbidden) and "was not granted" in str(exc):
        return str(exc)
    if isinstance(exc, Forbidden):
        return (
            "Signed in, but the EHR denies reading patient data (scope denied). Ask the EHR "
            "administrator to grant the app read access to Patient and the clinical resources."
        )
    if isinstance(exc, Unauthorized | ReauthenticationRequired):
        return "The EHR did not accept the app's sign-in. Sign in again."
    if isinstance(exc, DiscoveryError):
        return f"{exc}. Check that the URL is the FHIR base (it usually ends in /R4 or /fhir)."
    if isinstance(exc, InvalidResponse | FhirHttpError | PreflightFailed):
        return str(exc)
    if isinstance(exc, httpx.HTTPStatusError):
        return f"{host} answered HTTP {exc.response.status_code}. Check the FHIR base URL."
    return f"{type(exc).__name__}: {exc}"


async def check_connection(connection: FhirConnection) -> Diagnosis:
    config = connection.config
    host = httpx.URL(config.base_url).host or config.base_url
    diagnosis = Diagnosis()
    try:
        capabilities = await connection.capabilities()
    except (FhirError, httpx.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
        diagnosis.checks.append(Check("metadata", FAILED, explain(exc, host)))
        return diagnosis
    diagnosis.checks.append(_version_check(capabilities))
    if config.auth_method.is_smart:
        try:
            await discover(connection.client.http, config.base_url)
            diagnosis.checks.append(Check("discovery", OK, "SMART endpoints found."))
        except (FhirError, httpx.HTTPError) as exc:
            diagnosis.checks.append(Check("discovery", FAILED, explain(exc, host)))
            return diagnosis
        if config.auth_method.is_interactive and connection.tokens.tokens is None:
            diagnosis.checks.append(Check("access", SKIPPED, "Sign in to test access to data."))
            return diagnosis
    try:
        if config.auth_method is AuthMethod.SMART_BACKEND_SERVICES:
            # Always a fresh token: that is what proves the key and client id are registered.
            await connection.login_backend_services()
        await connection.client.search_pages("Patient", {"_count": 1}).__anext__()
        diagnosis.checks.append(Check("access", OK, "Patient data can be read."))
    except (FhirError, httpx.HTTPError) as exc:
        diagnosis.checks.append(Check("access", FAILED, explain(exc, host)))
    return diagnosis


def _version_check(capabilities: Capabilities) -> Check:
    version = capabilities.fhir_version or "unknown"
    if capabilities.is_r4:
        return Check("fhir-version", OK, f"FHIR {version}.")
    return Check(
        "fhir-version",
        FAILED,
        f"The server speaks FHIR {version}; HealthPrep Desktop needs FHIR R4 (4.0.x). Check "
        "that the URL points at the R4 endpoint (EHRs often publish DSTU2, R4 and R5 side by "
        "side).",
    )
