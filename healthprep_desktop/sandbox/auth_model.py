"""Value objects and errors of the sandbox's authorization server (sandbox/auth.py), and the
small pure checks it makes on redirect URIs and PKCE verifiers."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from healthprep_desktop.sandbox.config import JSON, ClientRegistration
from healthprep_desktop.sandbox.launch import LaunchContext
from healthprep_desktop.sandbox.scopes import ScopeGrant

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_JWKS_CACHE_SECONDS = 300.0


class OAuthError(Exception):
    """An RFC 6749 error response from the token endpoint."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> JSON:
        return {"error": self.error, "error_description": self.description}


class AuthorizeError(Exception):
    """An error at /authorize. With a redirect URI it goes back to the client (RFC 6749
    4.1.2.1); without one (unknown client, unregistered redirect) it is shown to the user."""

    def __init__(
        self, error: str, description: str, redirect_uri: str | None, state: str | None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


class BearerError(Exception):
    """A missing, unknown, expired or revoked access token (401, RFC 6750)."""

    def __init__(self, error: str | None, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(slots=True)
class AuthorizeRequest:
    client: ClientRegistration
    redirect_uri: str
    grant: ScopeGrant
    state: str
    code_challenge: str | None
    nonce: str | None
    launch: LaunchContext | None = None  # an EHR launch's patient and encounter


@dataclass(slots=True)
class IssuedCode:
    client_id: str
    redirect_uri: str
    grant: ScopeGrant
    patient: str | None
    fhir_user: str | None
    username: str | None
    code_challenge: str | None
    nonce: str | None
    expires_at: float
    used: bool = False
    encounter: str | None = None  # EHR launch context


@dataclass(slots=True)
class AccessToken:
    client_id: str
    grant: ScopeGrant
    patient: str | None
    fhir_user: str | None
    expires_at: float
    family: str  # the code (or client-credentials call) the token descends from
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    client_id: str
    grant: ScopeGrant
    patient: str | None
    fhir_user: str | None
    username: str | None
    expires_at: float
    family: str
    revoked: bool = False
    encounter: str | None = None  # EHR launch context, repeated on refresh


def redirect_allowed(registered: tuple[str, ...], requested: str) -> bool:
    """Exact match, or a loopback IP redirect on any port (RFC 8252 section 7.3)."""
    if "#" in requested:
        return False
    try:
        req = urlsplit(requested)
        req_port = req.port  # raises on a malformed port
    except ValueError:
        return False
    del req_port
    for uri in registered:
        if uri == requested:
            return True
        reg = urlsplit(uri)
        if (
            reg.scheme == "http"
            and reg.hostname in ("127.0.0.1", "::1")
            and req.scheme == "http"
            and req.hostname == reg.hostname
            and req.path == reg.path
            and req.query == reg.query
        ):
            return True
    return False


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")
