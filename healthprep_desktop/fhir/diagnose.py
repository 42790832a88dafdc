"""Test connection: /metadata and the FHIR version, SMART discovery and the grant types, the
sign-in, the granted scopes against the types the screenings read, and a sample read of each
type; each failure turned into a message an admin can act on (the same sentences as the batch:
fhir/failures.py). Used by the window's connection dialog and ``connection test``."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

import httpx

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.discovery import Capabilities, SmartConfiguration
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
    plain_text,
)
from healthprep_desktop.fhir.failures import causes, transport_failure

# The record fetch's own list, so the test and a batch agree on what fails a patient.
from healthprep_desktop.fhir.fetch_plan import CORE_TYPES
from healthprep_desktop.fhir.preflight import (
    failure_sentence,
    missing_types,
    needed_types,
    scope_prefix,
)
from healthprep_desktop.fhir.session import FhirConnection

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
# A type the batch can do without (the sheet says data may be missing): not a failure.
WARNING = "warning"

# The OAuth grant and the client authentication each sign-in method uses.
_METHOD_NEEDS: dict[AuthMethod, tuple[str, str]] = {
    AuthMethod.SMART_PUBLIC_PKCE: ("authorization_code", ""),
    AuthMethod.SMART_CONFIDENTIAL_BASIC: ("authorization_code", "client_secret_basic"),
    AuthMethod.SMART_CONFIDENTIAL_POST: ("authorization_code", "client_secret_post"),
    AuthMethod.SMART_BACKEND_SERVICES: ("client_credentials", "private_key_jwt"),
}
_METHOD_LABELS = {
    AuthMethod.SMART_PUBLIC_PKCE: "browser sign-in (public app with PKCE)",
    AuthMethod.SMART_CONFIDENTIAL_BASIC: "browser sign-in with a client secret",
    AuthMethod.SMART_CONFIDENTIAL_POST: "browser sign-in with a client secret",
    AuthMethod.SMART_BACKEND_SERVICES: "backend services",
}
# Types whose failed search fails a patient (fhir/record.py's core types) or the whole batch
# (the Appointment search that lists the day): a failed sample read of these is a failure.
_BATCH_NEEDS = frozenset({*CORE_TYPES, "Appointment"})


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
        if failed:
            return failed[0].message
        if any(c.name == "access" and c.result == SKIPPED for c in self.checks):
            # Not "works": nothing proves a batch could read data yet.
            return "The server answers; sign in to test access to data."
        if any(c.result == WARNING for c in self.checks):
            return "The connection works, with gaps: " + next(
                c.message for c in self.checks if c.result == WARNING
            )
        return "The connection works."


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


async def check_connection(connection: FhirConnection, *, schedule: bool = True) -> Diagnosis:
    """Every check a batch depends on, in the order an admin fixes them: the FHIR version, the
    SMART endpoints and grant types, the sign-in, the granted scopes against the types the
    screening library reads (``schedule``: the day's Appointments too), then one small read of
    each of those types. It only says "works" when a batch would run."""
    config = connection.config
    host = httpx.URL(config.base_url).host or config.base_url
    diagnosis = Diagnosis()
    try:
        capabilities = await connection.capabilities()
    except (FhirError, httpx.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
        named = await failure_sentence(exc, connection)  # a certificate: which one, and why
        message = named if named != str(exc) else explain(exc, host)
        diagnosis.checks.append(Check("metadata", FAILED, message))
        return diagnosis
    diagnosis.checks.append(_version_check(capabilities))
    if config.auth_method.is_smart:
        try:
            smart = await connection.smart_configuration()
            diagnosis.checks.append(Check("discovery", OK, "SMART endpoints found."))
        except (FhirError, httpx.HTTPError) as exc:
            diagnosis.checks.append(Check("discovery", FAILED, explain(exc, host)))
            return diagnosis
        grants = grant_check(smart, config.auth_method)
        diagnosis.checks.append(grants)
        if grants.result == FAILED:
            return diagnosis
        if config.auth_method.is_interactive and connection.tokens.tokens is None:
            try:
                # A registered workstation key (fhir/registration.py) gets a token without a
                # browser; otherwise nobody is signed in.
                await connection.tokens.access_token()
            except ReauthenticationRequired:
                diagnosis.checks.append(Check("access", SKIPPED, "Sign in to test access to data."))
                return diagnosis
            except (FhirError, httpx.HTTPError) as exc:
                diagnosis.checks.append(Check("access", FAILED, explain(exc, host)))
                return diagnosis
    needed = needed_types(schedule=schedule)
    prefix = scope_prefix(config.auth_method)
    connection.client.scope_prefix = prefix
    try:
        if config.auth_method is AuthMethod.SMART_BACKEND_SERVICES:
            # Always a fresh token: that is what proves the key and client id are registered.
            await connection.login_backend_services()
        elif config.auth_method.is_smart:
            await connection.tokens.access_token()
        page = await connection.client.search_pages("Patient", {"_count": 1}).__anext__()
        diagnosis.checks.append(Check("access", OK, "Patient data can be read."))
    except (FhirError, httpx.HTTPError) as exc:
        diagnosis.checks.append(Check("access", FAILED, explain(exc, host)))
        return diagnosis
    if config.auth_method.is_smart:
        tokens = connection.tokens.tokens
        scopes = scope_check(tokens.scope if tokens else "", needed, prefix)
        diagnosis.checks.append(scopes)
        if scopes.result == FAILED:
            return diagnosis
    patient_id = next((str(r.get("id")) for r in page.resources if r.get("id")), None)
    diagnosis.checks.append(await sample_reads(connection, needed, patient_id, host))
    return diagnosis


def grant_check(smart: SmartConfiguration, method: AuthMethod) -> Check:
    """The server's grant types and client authentication methods against the connection's
    sign-in method (SMART discovery's grant_types_supported and
    token_endpoint_auth_methods_supported). A list the server leaves out is not held against
    it: many servers publish only part of their metadata."""
    grant, client_auth = _METHOD_NEEDS.get(method, ("", ""))
    if not grant:
        return Check("grant-types", SKIPPED, "This sign-in method uses no OAuth grant.")
    label = _METHOD_LABELS.get(method, method.value)
    if smart.grant_types and grant not in smart.grant_types:
        offered = plain_text(", ".join(smart.grant_types), 160)
        return Check(
            "grant-types",
            FAILED,
            f"The EHR's sign-in service does not offer the {grant} grant (it offers {offered}), "
            f"which {label} needs: choose the sign-in method the EHR registered the app for, "
            f"or ask the EHR administrator to enable {grant}.",
        )
    if client_auth and smart.token_auth_methods and client_auth not in smart.token_auth_methods:
        offered = plain_text(", ".join(smart.token_auth_methods), 160)
        return Check(
            "grant-types",
            FAILED,
            f"The EHR's sign-in service does not accept {client_auth} client authentication "
            f"(it accepts {offered}), which {label} needs: choose the sign-in method that "
            "matches how the app is registered at the EHR.",
        )
    if not smart.grant_types:
        return Check(
            "grant-types", OK, f"The server does not list its grant types; {grant} assumed."
        )
    return Check("grant-types", OK, f"The server offers the {grant} grant {label} needs.")


def scope_check(granted: str, needed: tuple[str, ...], prefix: str | None) -> Check:
    """The granted scopes against the types the screenings read, naming the missing ones."""
    if not granted.split():
        return Check(
            "scopes", OK, "The server did not list the granted scopes; the sample reads test them."
        )
    missing = missing_types(granted, needed)
    if missing:
        return Check(
            "scopes",
            FAILED,
            f"The EHR granted read access to {len(needed) - len(missing)} of the {len(needed)} "
            f"types the screenings need; missing: {', '.join(missing)}. Ask the EHR "
            f"administrator to grant {prefix or 'user'}/<type>.read for each, then sign in "
            "again.",
        )
    return Check("scopes", OK, f"Read access is granted to all {len(needed)} types needed.")


async def sample_reads(
    connection: FhirConnection, needed: tuple[str, ...], patient_id: str | None, host: str
) -> Check:
    """One ``_count=1`` search of each needed type, all at once, for one patient the way a
    batch searches (type-level searches without a patient are refused by many EHRs)."""
    types = [t for t in needed if t not in ("Patient", "Medication")]
    results = await asyncio.gather(
        *(_read_one(connection, t, patient_id) for t in types), return_exceptions=True
    )
    fatal: list[tuple[str, BaseException]] = []
    tolerated: list[tuple[str, BaseException]] = []
    for rtype, result in zip(types, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if not isinstance(result, BaseException):
            continue
        if not isinstance(result, FhirError | httpx.HTTPError | OSError):
            raise result
        status = getattr(result, "status", None)
        batch_tolerates = rtype not in _BATCH_NEEDS and status in (400, 403, 404)
        (tolerated if batch_tolerates else fatal).append((rtype, result))
    if fatal:
        rtype, first = fatal[0]
        also = [t for t, _ in fatal[1:]]
        more = f" (also failing: {', '.join(also)})" if also else ""
        return Check("sample-reads", FAILED, f"{explain(first, host)}{more}")
    if tolerated:
        names = ", ".join(t for t, _ in tolerated)
        return Check(
            "sample-reads",
            WARNING,
            f"{names} could not be searched ({explain(tolerated[0][1], host)}); prep sheets are "
            "made without them and say that data may be missing.",
        )
    return Check("sample-reads", OK, f"A sample search of each of the {len(types)} types works.")


async def _read_one(connection: FhirConnection, rtype: str, patient_id: str | None) -> None:
    params: dict[str, str] = {"_count": "1"}
    if patient_id is not None and rtype != "Appointment":
        # R4 AdverseEvent has no `patient` search parameter, only `subject` (as fhir/record.py).
        key, value = ("subject", f"Patient/{patient_id}") if rtype == "AdverseEvent" else (
            "patient", patient_id)  # fmt: skip
        params[key] = value
    pages = connection.client.search_pages(rtype, params, max_pages=1)
    try:
        async for _page in pages:
            break
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()


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
