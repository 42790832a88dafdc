"""The check before a batch: can this batch run at all? One sentence when it cannot.

In order, each failing fast: the CapabilityStatement answers (the URL is a FHIR R4 base), the
sign-in gives a usable token, the granted scopes cover every resource type the screening
library reads (screening/needs.py via fhir/record.RECORD_TYPES), and the search that lists the
patients (the day's Appointments, or Patient) is allowed. A batch that would only produce
empty sections or a traceback 30 patients in stops here instead, before any job is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.errors import AuthError, FhirError, PreflightFailed
from healthprep_desktop.fhir.record import RECORD_TYPES
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tls import NetworkSettings, explain_certificate_failure

log = logging.getLogger(__name__)

# v1 permissions that include reading, and the v2 letters (SMART App Launch 2: c r u d s).
_V1_READ = frozenset({"read", "*"})


def scope_prefix(method: AuthMethod) -> str | None:
    if method is AuthMethod.SMART_BACKEND_SERVICES:
        return "system"
    return "user" if method.is_smart else None


def scope_reads(scope: str, resource_type: str) -> bool:
    """Does one granted SMART scope allow reading (and searching) ``resource_type``?"""
    context, slash, rest = scope.partition("/")
    if not slash or context not in ("user", "patient", "system"):
        return False
    rtype, dot, permission = rest.partition(".")
    if not dot or rtype not in (resource_type, "*"):
        return False
    permission = permission.split("?", 1)[0]
    if permission in _V1_READ:
        return True
    letters = set(permission)
    return bool(letters) and letters <= set("cruds") and "r" in letters and "s" in letters


def missing_types(granted: str, types: Iterable[str]) -> list[str]:
    """The types no granted scope lets the app read ([] when the server named no scopes: an
    omitted ``scope`` means the requested ones were granted, RFC 6749 section 5.1)."""
    scopes = granted.split()
    if not scopes:
        return []
    return [t for t in types if not any(scope_reads(s, t) for s in scopes)]


def needed_types(*, schedule: bool) -> tuple[str, ...]:
    return ("Patient", *RECORD_TYPES, *(("Appointment",) if schedule else ()))


# The sentences, as functions: docs/admin-guide.md's table is generated from them.


def version_failure(host: str, version: str) -> str:
    return (
        f"{host} speaks FHIR {version}; HealthPrep Desktop needs FHIR R4 (4.0.x): check that "
        "the URL points at the R4 endpoint."
    )


def sign_in_unusable(host: str, reason: str) -> str:
    return f"The sign-in to {host} cannot be used ({reason}): sign in again."


def missing_scopes_failure(missing: list[str], prefix: str | None) -> str:
    names = ", ".join(f"{prefix or 'user'}/{t}.read" for t in missing)
    return (
        f"The EHR did not grant read access to {len(missing)} of the types the screenings "
        f"need ({names}): ask the EHR administrator to grant these scopes, then sign in again."
    )


async def preflight(
    connection: FhirConnection,
    *,
    clinic_day: date | None,
    all_patients: bool = False,
) -> None:
    """Raise PreflightFailed (one sentence: cause and fix) when the batch could not run."""
    client = connection.client
    config = connection.config
    host = client.host
    prefix = scope_prefix(config.auth_method)
    client.scope_prefix = prefix
    try:
        capabilities = await connection.capabilities()
    except FhirError as exc:
        raise PreflightFailed(await failure_sentence(exc, connection)) from exc
    if capabilities.fhir_version and not capabilities.is_r4:
        raise PreflightFailed(version_failure(host, capabilities.fhir_version))
    if config.auth_method.is_smart:
        try:
            await connection.tokens.access_token()
        except AuthError as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            raise PreflightFailed(sign_in_unusable(host, reason)) from exc
        tokens = connection.tokens.tokens
        missing = missing_types(tokens.scope if tokens else "", needed_types(schedule=bool(
            clinic_day)))  # fmt: skip
        if missing:
            raise PreflightFailed(missing_scopes_failure(missing, prefix))
    try:
        if clinic_day is not None:
            await _first_page(connection, "Appointment", [("date", clinic_day.isoformat())])
        elif all_patients:
            await _first_page(connection, "Patient", [("_elements", "id")])
    except AuthError as exc:
        raise PreflightFailed(f"The sign-in to {host} was refused ({exc}): sign in again.") from exc
    except FhirError as exc:
        raise PreflightFailed(str(exc)) from exc
    log.info("pre-flight check passed for %s", host)


async def failure_sentence(exc: BaseException, connection: FhirConnection) -> str:
    """The sentence for a failed request; for a certificate that does not verify, the one that
    names the certificate and why (fhir/tls.py looks at the server's certificate)."""
    try:
        named = await explain_certificate_failure(
            exc, connection.config.base_url, NetworkSettings.of(connection.config)
        )
    except (OSError, ValueError):  # the look at the certificate failed: keep the first sentence
        named = None
    return named or str(exc)


async def _first_page(
    connection: FhirConnection, rtype: str, params: list[tuple[str, str]]
) -> None:
    """One small page of the search the batch lists its patients with (a Bundle, not a web
    page, and allowed)."""
    pages = connection.client.search_pages(rtype, [*params, ("_count", "1")], max_pages=1)
    async for _page in pages:
        break
    close = getattr(pages, "aclose", None)
    if close is not None:
        await close()
