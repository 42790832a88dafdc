"""PKCE (RFC 7636, S256 only) and the OAuth `state` value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_verifier(nbytes: int = 48) -> str:
    """A code_verifier: 43..128 unreserved characters (48 random bytes -> 64 characters)."""
    verifier = _b64url(secrets.token_bytes(nbytes))
    if not 43 <= len(verifier) <= 128:
        raise ValueError("PKCE verifier must be 43..128 characters; use 32..96 bytes")
    return verifier


def challenge_s256(verifier: str) -> str:
    if not 43 <= len(verifier) <= 128 or not set(verifier) <= _UNRESERVED:
        raise ValueError("not a valid PKCE code_verifier")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def make_state() -> str:
    return secrets.token_urlsafe(32)


def state_matches(expected: str, received: str | None) -> bool:
    # Constant-time: the state is the CSRF defence of the redirect.
    return received is not None and hmac.compare_digest(expected.encode(), received.encode())


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> Pkce:
        verifier = make_verifier()
        return cls(verifier=verifier, challenge=challenge_s256(verifier))

    def __repr__(self) -> str:  # the verifier is a one-time secret
        return f"Pkce(method={self.method!r})"
