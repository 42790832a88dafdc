"""Typed errors for the FHIR layer.

Messages are meant for a coordinator or an admin: they name what went wrong and what to do, and
never carry a token, a secret or patient content. Server-provided OperationOutcome text is kept
(it is the server's own words about the request), but request bodies never are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SERVER_TEXT_MAX = 300
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_BREAKS = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")


def plain_text(value: object, limit: int = SERVER_TEXT_MAX) -> str:
    """Text a server supplied (error_description, OperationOutcome text), made safe to print
    or show: terminal escape sequences, control and format characters (bidi overrides,
    zero-width) removed, line breaks turned into spaces, runs of spaces collapsed, cut to
    ``limit`` characters. Whoever shows it still shows it as plain text, never as markup."""
    text = _ANSI.sub("", str(value))
    kept = []
    for char in text:
        if char in _BREAKS:
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(char)
    cleaned = " ".join("".join(kept).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class OutcomeIssue:
    severity: str
    code: str
    text: str  # details.text, else diagnostics, else the code


def parse_operation_outcome(body: Any) -> list[OutcomeIssue]:
    """Issues of an OperationOutcome body; [] when the body is something else."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return []
    issues: list[OutcomeIssue] = []
    for issue in body.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
        text = (
            (details or {}).get("text")
            or _first_coding_display(details or {})
            or issue.get("diagnostics")
            or issue.get("code")
            or "unknown problem"
        )
        issues.append(
            OutcomeIssue(
                severity=plain_text(issue.get("severity", "error"), 20),
                code=plain_text(issue.get("code", "unknown"), 60),
                text=plain_text(text),
            )
        )
    return issues


def _first_coding_display(details: dict[str, Any]) -> str | None:
    for coding in details.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    return None


def outcome_summary(issues: list[OutcomeIssue]) -> str:
    """One readable line: the errors first, then warnings."""
    ranked = sorted(issues, key=lambda i: 0 if i.severity in ("fatal", "error") else 1)
    return "; ".join(f"{i.text} ({i.code})" for i in ranked[:3])


class FhirError(Exception):
    """Base class of everything this package raises on purpose."""


# --- HTTP answers from the FHIR server -------------------------------------------------------


class FhirHttpError(FhirError):
    """The server answered with an error status."""

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        issues: list[OutcomeIssue] | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path  # resource path without query string (queries can hold identifiers)
        self.issues = issues or []
        detail = outcome_summary(self.issues)
        if message is None:
            message = f"{method} {path} failed: HTTP {status}"
            message = f"{message}: {detail}" if detail else message
        # `message` is one sentence for the user (fhir/failures.py writes them).
        super().__init__(message)


class BadRequest(FhirHttpError):
    """400/422: the server rejected the request's content."""


class Unauthorized(FhirHttpError):
    """401 that a token refresh did not cure."""


class Forbidden(FhirHttpError):
    """403: usually a scope the app was not granted."""


class NotFound(FhirHttpError):
    """404."""


class Gone(FhirHttpError):
    """410: the resource was deleted."""


class Conflict(FhirHttpError):
    """409/412: version conflict or failed precondition."""


class RateLimited(FhirHttpError):
    """429 still answered after every retry."""


class ServerError(FhirHttpError):
    """5xx still answered after every retry."""


class FhirTransportError(FhirError):
    """The request never got an HTTP answer: DNS, TLS, connection refused, timeout."""


class ConnectionRefused(FhirTransportError):
    """Nothing listens at the URL's host and port."""


class NameNotFound(FhirTransportError):
    """The host name does not resolve (DNS)."""


class TlsFailure(FhirTransportError):
    """The TLS handshake failed (untrusted certificate, wrong scheme or port)."""


class ServerTimeout(FhirTransportError):
    """No answer within the request's time budget (retries included)."""


class InvalidResponse(FhirError):
    """The server answered 2xx with something that is not the FHIR JSON asked for."""


class NotFhirServer(InvalidResponse):
    """The address answers with a web page (or other non-FHIR content), not a FHIR API."""


class PreflightFailed(FhirError):
    """The check before a batch found that the batch could not run (one sentence why)."""


class AttachmentTooLarge(FhirError):
    """An attachment is above the configured size cap."""


def http_error_for(
    status: int,
    method: str,
    path: str,
    issues: list[OutcomeIssue] | None = None,
    *,
    message: str | None = None,
) -> FhirHttpError:
    cls: type[FhirHttpError]
    if status in (400, 422):
        cls = BadRequest
    elif status == 401:
        cls = Unauthorized
    elif status == 403:
        cls = Forbidden
    elif status == 404:
        cls = NotFound
    elif status == 410:
        cls = Gone
    elif status in (409, 412):
        cls = Conflict
    elif status == 429:
        cls = RateLimited
    elif status >= 500:
        cls = ServerError
    else:
        cls = FhirHttpError
    return cls(status, method, path, issues, message=message)


# --- Authentication --------------------------------------------------------------------------


class AuthError(FhirError):
    """Base of login, token and discovery failures."""


class DiscoveryError(AuthError):
    """Neither .well-known/smart-configuration nor the CapabilityStatement named OAuth endpoints."""


class OAuthError(AuthError):
    """The authorization server answered with an OAuth error (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str | None = None, status: int | None = None):
        # Both come from the server (or the redirect URL): plain, printable text only.
        self.error = plain_text(error, 80) or "invalid_response"
        self.description = plain_text(description) if description else None
        self.status = status
        text = f"authorization server error: {self.error}"
        super().__init__(f"{text}: {self.description}" if self.description else text)


class LoginCancelled(AuthError):
    """The user (or the app) cancelled a login that was waiting for the browser."""


class LoginTimeout(AuthError):
    """The browser never came back to the loopback redirect in time."""


class StateMismatch(AuthError):
    """The redirect carried a state this login did not issue (possible CSRF); it was rejected."""


class ReauthenticationRequired(AuthError):
    """The connection has no usable token and refreshing failed: the user must log in again."""

    def __init__(self, connection: str, reason: str) -> None:
        self.connection = connection
        self.reason = reason
        super().__init__(f"{connection}: sign in again to reconnect ({reason})")


# --- Bulk Data export (fhir/bulk) -------------------------------------------------------------


class BulkError(FhirError):
    """A Bulk Data export (fhir/bulk) could not be completed; the message says what to do."""


class BulkNotSupported(BulkError):
    """The server offers no Bulk Data export: the per-patient fetch is used instead."""


class BulkKickoffRefused(BulkError):
    """The server refused to start the export (400, 401, 403, 404 ...)."""

    def __init__(self, message: str, status: int, issues: list[OutcomeIssue] | None = None):
        self.status = status
        self.issues = issues or []
        super().__init__(message)


class BulkExportFailed(BulkError):
    """The server reported that the export job failed (or deleted it)."""


class BulkManifestInvalid(BulkError):
    """The completed export's manifest is not a valid Bulk Data manifest."""


class BulkFileExpired(BulkError):
    """An output file is no longer on the server (404/410 after completion)."""


class BulkFileInvalid(BulkError):
    """A line of a downloaded NDJSON file is not a FHIR resource (file and line named)."""

    def __init__(self, message: str, file: str, line: int) -> None:
        self.file = file
        self.line = line
        super().__init__(message)


class BulkTimedOut(BulkError):
    """The export was still running after the longest wait allowed."""
