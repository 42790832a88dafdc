"""Token sets, where they are kept, and the single-flight refresh manager.

The manager refreshes ahead of expiry (5-minute margin, less for short-lived tokens) and once
after a 401. All refreshes of one connection go through one lock, and a caller that waited on the
lock first checks whether the token it had was already replaced: 32 requests meeting one expired
token cause exactly one refresh.

Several processes may share one store (the window beside a command-line batch). A refresh also
holds the store's cross-process lock (`TokenStore.exclusive`) and re-reads the stored tokens
first: when another process already refreshed, its tokens are used, because refresh tokens
rotate and the one this process holds may be spent. A refused refresh forgets the stored tokens
only when they are still the ones this process used.

A token set records the token endpoint that issued it and the FHIR base it was granted for
(`issuer`, `fhir_base`); a manager bound to a base ignores tokens granted for any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, Protocol

import jwt

from healthprep_desktop.fhir.errors import FhirError, OAuthError, ReauthenticationRequired
from healthprep_desktop.fhir.status import AuditEvent, AuditSink, StatusTracker, no_audit

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def refresh_refused(error: str) -> str:
    """Why the sign-in ended when the token endpoint refused a refresh (e.g. invalid_grant:
    the refresh token was revoked or expired)."""
    return f"the server refused the token refresh ({error})"


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    issued_at: datetime = field(default_factory=_utcnow)
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""
    id_token: str | None = field(default=None, repr=False)
    patient: str | None = None  # launch context
    fhir_user: str | None = None  # "Practitioner/123" from the id_token
    issuer: str | None = None  # the token endpoint that issued these tokens
    fhir_base: str | None = None  # the FHIR base URL they were granted for

    @classmethod
    def from_response(cls, body: dict[str, Any], *, now: datetime | None = None) -> TokenSet:
        """Build from a token endpoint answer (RFC 6749 section 5.1 plus SMART fields)."""
        issued = now or _utcnow()
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthError("invalid_response", "the token response has no access_token")
        expires_in = body.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at = issued + timedelta(seconds=float(expires_in))
        id_token = body.get("id_token") if isinstance(body.get("id_token"), str) else None
        return cls(
            access_token=access,
            token_type=str(body.get("token_type") or "Bearer"),
            issued_at=issued,
            expires_at=expires_at,
            refresh_token=body.get("refresh_token") or None,
            scope=str(body.get("scope") or ""),
            id_token=id_token,
            patient=body.get("patient") if isinstance(body.get("patient"), str) else None,
            fhir_user=fhir_user_from_id_token(id_token) if id_token else None,
        )

    @property
    def user_reference(self) -> str | None:
        """fhirUser as a relative reference ("Practitioner/1"); servers often send it absolute."""
        if not self.fhir_user:
            return None
        parts = self.fhir_user.rstrip("/").split("/")
        return "/".join(parts[-2:]) if len(parts) >= 2 else None

    def refresh_due(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        """True when the token is within the margin of expiry. Short-lived tokens use half their
        lifetime as margin, so a 60-second token is not refreshed on every request."""
        if self.expires_at is None:
            return False
        lifetime = self.expires_at - self.issued_at
        effective = min(margin, lifetime / 2) if lifetime > timedelta(0) else timedelta(0)
        return now >= self.expires_at - effective

    def bound(self, *, issuer: str, fhir_base: str) -> TokenSet:
        """These tokens, marked with the token endpoint and FHIR base they belong to."""
        return replace(self, issuer=issuer.rstrip("/"), fhir_base=fhir_base.rstrip("/"))

    def granted_for(self, fhir_base: str) -> bool:
        return self.fhir_base is not None and self.fhir_base == fhir_base.rstrip("/")

    def same_grant(self, other: TokenSet | None) -> bool:
        """The same access and refresh token (other fields may be re-serialised)."""
        return (
            other is not None
            and other.access_token == self.access_token
            and other.refresh_token == self.refresh_token
        )

    def carry_refresh_token(self, previous: TokenSet | None) -> TokenSet:
        """Servers may omit refresh_token on refresh, meaning: keep using the old one."""
        if self.refresh_token or previous is None:
            return self
        return replace(
            self,
            refresh_token=previous.refresh_token,
            fhir_user=self.fhir_user or previous.fhir_user,
            patient=self.patient or previous.patient,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "id_token": self.id_token,
            "patient": self.patient,
            "fhir_user": self.fhir_user,
            "issuer": self.issuer,
            "fhir_base": self.fhir_base,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=data["access_token"],
            token_type=data.get("token_type") or "Bearer",
            issued_at=datetime.fromisoformat(data["issued_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"])
            if data.get("expires_at")
            else None,
            refresh_token=data.get("refresh_token"),
            scope=data.get("scope") or "",
            id_token=data.get("id_token"),
            patient=data.get("patient"),
            fhir_user=data.get("fhir_user"),
            issuer=data.get("issuer"),
            fhir_base=data.get("fhir_base"),
        )


def fhir_user_from_id_token(id_token: str) -> str | None:
    """The fhirUser claim (SMART) or `profile` (SMART 1) of an id_token.

    Read without signature check: it only labels whose tokens these are; nothing is authorised
    on it (the FHIR server checks the access token itself).
    """
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    user = claims.get("fhirUser") or claims.get("profile")
    return str(user) if user else None


class TokenStore(Protocol):
    """Where tokens are kept per (tenant, connection): the encrypted store in the app.

    `exclusive` holds a lock that every process sharing the store respects (a refresh runs
    under it); raises FhirError when it cannot be had in reasonable time."""

    def load(self, tenant: str, connection: str) -> TokenSet | None: ...
    def save(self, tenant: str, connection: str, tokens: TokenSet) -> None: ...
    def clear(self, tenant: str, connection: str) -> None: ...
    def exclusive(self, tenant: str, connection: str) -> AbstractAsyncContextManager[None]: ...


class MemoryTokenStore:
    def __init__(self) -> None:
        self.tokens: dict[tuple[str, str], TokenSet] = {}

    def load(self, tenant: str, connection: str) -> TokenSet | None:
        return self.tokens.get((tenant, connection))

    def save(self, tenant: str, connection: str, tokens: TokenSet) -> None:
        self.tokens[(tenant, connection)] = tokens

    def clear(self, tenant: str, connection: str) -> None:
        self.tokens.pop((tenant, connection), None)

    def exclusive(self, tenant: str, connection: str) -> AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()  # one process: the manager's own lock suffices


# Gets a new token set given the current one: a refresh_token grant for interactive logins, a
# new client-credentials assertion for backend services. Raises OAuthError when refused.
Refresher = Callable[[TokenSet | None], Awaitable[TokenSet]]


class TokenManager:
    def __init__(
        self,
        tenant: str,
        connection: str,
        *,
        store: TokenStore,
        refresher: Refresher | None,
        status: StatusTracker | None = None,
        audit: AuditSink = no_audit,
        needs_refresh_token: bool = False,
        margin: timedelta = REFRESH_MARGIN,
        clock: Callable[[], datetime] = _utcnow,
        fhir_base: str | None = None,
    ) -> None:
        """fhir_base: only tokens granted for this FHIR base are used (None: any, for tests
        of the refresh logic alone)."""
        self.tenant = tenant
        self.connection = connection
        self._store = store
        self._refresher = refresher
        self._needs_refresh_token = needs_refresh_token
        self.status = status or StatusTracker()
        self._audit = audit
        self._margin = margin
        self._clock = clock
        self._fhir_base = fhir_base
        self._lock = asyncio.Lock()
        self._tokens: TokenSet | None = None
        self._loaded = False
        self._failure: str | None = None  # set when refresh failed; cleared by a new login
        self.refresh_count = 0
        self.adopted_count = 0  # refreshes skipped because another process had refreshed

    # --- state -------------------------------------------------------------------------------

    @property
    def tokens(self) -> TokenSet | None:
        self._load_once()
        return self._tokens

    def _stored(self) -> TokenSet | None:
        """The stored tokens, if they were granted for this connection's FHIR base. Tokens for
        another base (the connection was re-pointed) are ignored, never sent anywhere."""
        tokens = self._store.load(self.tenant, self.connection)
        if tokens is None or self._fhir_base is None or tokens.granted_for(self._fhir_base):
            return tokens
        return None

    def _load_once(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._tokens = self._stored()
            if self._tokens is not None:
                self.status.update(
                    is_connected=True,
                    token_expiry=self._tokens.expires_at,
                    user=self._tokens.fhir_user,
                )

    def set_refresher(self, refresher: Refresher | None, *, needs_refresh_token: bool) -> None:
        """needs_refresh_token: the refresher is a refresh_token grant (interactive logins),
        as opposed to backend services, which can always ask for a new token."""
        self._refresher = refresher
        self._needs_refresh_token = needs_refresh_token

    def accept_login(self, tokens: TokenSet) -> None:
        """Adopt tokens from a completed login (code exchange or backend services)."""
        self._loaded = True
        self._tokens = tokens
        self._failure = None
        self._store.save(self.tenant, self.connection, tokens)
        self.status.update(
            is_connected=True,
            token_expiry=tokens.expires_at,
            last_error=None,
            user=tokens.fhir_user,
        )
        self._audit(
            AuditEvent(
                "connect",
                self.tenant,
                self.connection,
                user=tokens.fhir_user,
                detail={"scope": tokens.scope},
            )
        )

    def disconnect(self, reason: str = "signed out") -> None:
        self._loaded = True
        self._tokens = None
        self._store.clear(self.tenant, self.connection)
        self.status.update(is_connected=False, token_expiry=None, last_error=None)
        self._audit(
            AuditEvent("disconnect", self.tenant, self.connection, detail={"reason": reason})
        )

    # --- the two ways a request asks for a token ---------------------------------------------

    async def access_token(self) -> str:
        """A token good for the next request, refreshed first when it is within the margin."""
        self._load_once()
        current = self._tokens
        if self._failure is not None:
            raise ReauthenticationRequired(self.connection, self._failure)
        if current is None and (self._refresher is None or self._needs_refresh_token):
            # Another process may have signed in since this one looked.
            current = await self._adopt_stored_login()
        if current is not None and not current.refresh_due(self._clock(), self._margin):
            return current.access_token
        return await self._refresh(stale=current.access_token if current else None)

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        """The server answered 401 to `rejected`: refresh unless someone already did."""
        return await self._refresh(stale=rejected, forced=True)

    async def _adopt_stored_login(self) -> TokenSet:
        async with self._lock:
            if self._tokens is None:
                stored = self._stored()
                if stored is None:
                    raise ReauthenticationRequired(self.connection, "not signed in")
                self._adopt(stored)
            assert self._tokens is not None
            return self._tokens

    def _fresh_enough(self, tokens: TokenSet | None, stale: str | None, forced: bool) -> bool:
        return (
            tokens is not None
            and tokens.access_token != stale
            and (forced or not tokens.refresh_due(self._clock(), self._margin))
        )

    def _adopt(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        self.status.update(
            is_connected=True,
            token_expiry=tokens.expires_at,
            last_error=None,
            user=tokens.fhir_user,
        )

    async def _refresh(self, stale: str | None, forced: bool = False) -> str:
        async with self._lock:
            if self._failure is not None:
                raise ReauthenticationRequired(self.connection, self._failure)
            if self._fresh_enough(self._tokens, stale, forced):
                assert self._tokens is not None
                return self._tokens.access_token  # another request refreshed while we waited
            async with self._store.exclusive(self.tenant, self.connection):
                return await self._refresh_exclusively(stale, forced)

    async def _refresh_exclusively(self, stale: str | None, forced: bool) -> str:
        """Under both locks: no other request of this process and no other process is
        refreshing this connection."""
        current = self._tokens
        stored = self._stored()
        if stored is None and current is not None:
            # Signed out, or the connection re-pointed, by another process since this one
            # loaded its tokens: they must not be refreshed back into the store.
            self._fail("the sign-in was removed in another window; sign in again", used=None)
        if stored is not None and not stored.same_grant(current):
            # Another process refreshed (or signed in) since this one last looked: its refresh
            # token is the live one; ours may already be spent.
            self._adopt(stored)
            current = stored
            if self._fresh_enough(stored, stale, forced):
                self.adopted_count += 1
                log.info("%s: using the tokens another process refreshed", self.connection)
                return stored.access_token
        if self._refresher is None:
            self._fail("the token expired and cannot be refreshed", used=current)
        if self._needs_refresh_token and (current is None or current.refresh_token is None):
            # Login without offline_access: use the token until it expires or the server
            # says no, then the user must sign in again.
            if (
                current is not None
                and not forced
                and self._clock() < (current.expires_at or self._clock())
            ):
                return current.access_token
            self._fail("the session ended and there is no refresh token", used=current)
        started = time.monotonic()
        try:
            new = await self._refresher(current)
        except OAuthError as exc:
            newer = self._newer_than(current)
            if newer is not None:
                # Someone stored other tokens while ours were refused: theirs stand.
                self._adopt(newer)
                return newer.access_token
            self._fail(refresh_refused(exc.error), used=current)
        except ReauthenticationRequired as exc:
            self._fail(exc.reason, used=current)
        except FhirError as exc:
            # Network trouble is not a revoked grant: stay connected, report, let the
            # caller's retry logic decide.
            self.status.update(last_error=str(exc))
            raise
        new = new.carry_refresh_token(current)
        self.refresh_count += 1
        self._store.save(self.tenant, self.connection, new)
        self._adopt(new)
        log.info(
            "%s: token refreshed in %.0f ms",
            self.connection,
            (time.monotonic() - started) * 1000,
        )
        return new.access_token

    def _newer_than(self, used: TokenSet | None) -> TokenSet | None:
        stored = self._stored()
        return stored if stored is not None and not stored.same_grant(used) else None

    def _fail(self, reason: str, *, used: TokenSet | None) -> NoReturn:
        self._failure = reason
        self._tokens = None
        stored = self._store.load(self.tenant, self.connection)
        if stored is not None and used is not None and stored.same_grant(used):
            # Only the tokens that were refused: never tokens another process stored since.
            self._store.clear(self.tenant, self.connection)
        self.status.update(is_connected=False, token_expiry=None, last_error=reason)
        self._audit(
            AuditEvent(
                "refresh_failed",
                self.tenant,
                self.connection,
                outcome="failure",
                detail={"reason": reason},
            )
        )
        raise ReauthenticationRequired(self.connection, reason)
