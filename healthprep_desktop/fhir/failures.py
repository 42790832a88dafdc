"""One plain sentence per failure of a FHIR request: what went wrong and what to do.

The client (fhir/client.py), discovery (fhir/discovery.py), Test connection (fhir/diagnose.py)
and the batch's pre-flight check all build their errors here, so the window and the command
line say the same thing. Sentences name the host, the resource type and the HTTP status; never a
query string (it can hold identifiers), a token or a body the server was sent.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx

from healthprep_desktop.fhir.errors import (
    ConnectionRefused,
    FhirHttpError,
    FhirTransportError,
    InvalidResponse,
    NameNotFound,
    NotFhirServer,
    OutcomeIssue,
    ServerTimeout,
    TlsFailure,
    http_error_for,
    outcome_summary,
    plain_text,
)

FHIR_BASE_HINT = "check that the URL is the FHIR base, often ending in /fhir or /R4"
_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "[errno -2]",
    "[errno -3]",
    "[errno -5]",
    "[errno 11001]",
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_reason(chain: list[BaseException]) -> str:
    for err in chain:
        if isinstance(err, ssl.SSLCertVerificationError):
            why = getattr(err, "verify_message", None) or getattr(err, "reason", None)
            return plain_text(why or "verification failed", 120)
    for err in chain:
        if isinstance(err, ssl.SSLError):
            return plain_text(getattr(err, "reason", None) or type(err).__name__, 120)
    return "verification failed"


def is_refused(exc: BaseException) -> bool:
    chain = list(causes(exc))
    if any(isinstance(e, ConnectionRefused | ConnectionRefusedError) for e in chain):
        return True
    text = " ".join(str(e) for e in chain).lower()
    return "connection refused" in text or "[errno 111]" in text or "errno 10061" in text


def transport_failure(
    exc: BaseException, host: str, *, budget: float | None = None
) -> FhirTransportError:
    """A typed error with its sentence for a request that got no HTTP answer."""
    if isinstance(exc, FhirTransportError) and type(exc) is not FhirTransportError:
        return exc
    chain = list(causes(exc))
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
        "certificate" in text and "verif" in text
    ):
        return TlsFailure(
            f"The certificate of {host} is not trusted ({_tls_reason(chain)}): check the URL; "
            "if the clinic uses its own certificate authority, give the connection that "
            "authority's CA file."
        )
    if any(isinstance(e, ssl.SSLError) for e in chain) or "[ssl" in text:
        return TlsFailure(
            f"A secure (TLS) connection to {host} could not be set up ({_tls_reason(chain)}): "
            "check the URL's scheme (https) and port."
        )
    if any(isinstance(e, ServerTimeout | httpx.TimeoutException | TimeoutError) for e in chain):
        within = f" within {budget:.0f} s" if budget else " in time"
        return ServerTimeout(
            f"{host} did not answer{within}: the server may be overloaded, or a firewall, VPN "
            "or proxy is holding the connection; try again later."
        )
    if any(marker in text for marker in _DNS_MARKERS) or any(
        isinstance(e, NameNotFound) for e in chain
    ):
        return NameNotFound(
            f"The name {host} cannot be found (DNS): check the FHIR base URL for typos, and "
            "the network or VPN the clinic needs."
        )
    if is_refused(exc):
        return ConnectionRefused(
            f"{host} refused the connection: check the port in the URL and that the FHIR "
            "server is running."
        )
    kind = type(chain[-1]).__name__ if chain else type(exc).__name__
    return FhirTransportError(
        f"The connection to {host} failed ({kind}): check the network, a VPN the clinic needs, "
        "or a proxy; then try again."
    )


def resource_type_of(path: str, base_path: str) -> str:
    """ "Appointment" for ".../fhir/Appointment" or ".../fhir/Appointment/12"; "" for the base."""
    rest = path[len(base_path) :] if path.startswith(base_path) else path
    first = rest.strip("/").split("/", 1)[0]
    return first


def http_failure(
    status: int,
    method: str,
    path: str,
    *,
    base_path: str,
    host: str,
    issues: list[OutcomeIssue] | None = None,
    scope_prefix: str | None = None,
) -> FhirHttpError:
    """The typed error for an HTTP error answer, with a sentence naming cause and fix."""
    issues = issues or []
    detail = outcome_summary(issues)
    said = f" (the server says: {detail})" if detail else ""
    rtype = resource_type_of(path, base_path)
    parts = [p for p in path[len(base_path) :].strip("/").split("/") if p]
    what = rtype or "the FHIR base"
    is_search = len(parts) == 1 and method == "GET"
    if status == 403 and rtype and rtype[:1].isupper():
        scope = _scope(rtype, scope_prefix)
        verb = "search" if is_search else "read"
        message = (
            f"The EHR refused to {verb} {rtype} (HTTP 403, scope denied): the app was not "
            f"granted {scope}; "
            f"ask the EHR administrator to grant it{said}."
        )
    elif status == 403:
        message = f"The EHR refused {method} {path} (HTTP 403): ask the EHR administrator{said}."
    elif status == 401:
        message = (
            f"The EHR did not accept the app's sign-in for {what} (HTTP 401): sign in again{said}."
        )
    elif status == 404 and (not rtype or is_search or rtype == "metadata"):
        message = f"{host} has no {what} at {path} (HTTP 404): {FHIR_BASE_HINT}{said}."
    elif status == 429:
        message = (
            f"{host} kept answering 'too many requests' (HTTP 429) to {what}: lower the "
            f"connection's request rate or try later{said}."
        )
    elif status >= 500:
        message = (
            f"The FHIR server {host} failed with HTTP {status} on {method} {what}{said}: try "
            "again later, and tell the EHR's administrator if it persists."
        )
    else:
        message = None  # 400/404 of a read/409/410...: the generic "METHOD path failed" text
    return http_error_for(status, method, path, issues, message=message)


def _scope(rtype: str, prefix: str | None) -> str:
    if prefix:
        return f"the scope {prefix}/{rtype}.read"
    return f"the scope user/{rtype}.read (system/{rtype}.read for backend services)"


def looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type:
        return True
    start = response.content[:200].lstrip().lower()
    return start.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body"))


def not_fhir(response: httpx.Response, base_url: str, what: str) -> InvalidResponse:
    """The error for a 2xx answer that is not FHIR JSON (a login page, a portal, XML)."""
    base = base_url.rstrip("/")
    if 300 <= response.status_code < 400 and response.headers.get("Location"):
        target = httpx.URL(response.headers["Location"])
        where = f"{target.scheme}://{target.host}{target.path}" if target.host else target.path
        return InvalidResponse(
            f"{base} redirects to {where} instead of answering (HTTP {response.status_code}): "
            f"if that is the FHIR server, use it as the URL; otherwise {FHIR_BASE_HINT}."
        )
    if looks_like_html(response):
        return NotFhirServer(f"{base} answers with a web page, not a FHIR API: {FHIR_BASE_HINT}.")
    content_type = plain_text(response.headers.get("Content-Type", "") or "no type", 60)
    return InvalidResponse(
        f"{base} did not answer {what} with FHIR JSON (it sent {content_type}): {FHIR_BASE_HINT}."
    )
