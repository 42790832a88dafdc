"""The SMART App Launch 2.x authorization server of one organization (no HTTP here).

It checks authorization requests, issues single-use codes bound to a PKCE challenge and a
redirect URI, authenticates clients (none, client_secret_basic, client_secret_post,
private_key_jwt per SMART Backend Services), and issues opaque access tokens, rotating refresh
tokens and RS256 id_tokens. Errors are RFC 6749 error codes; descriptions never contain a
token or secret.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from healthprep_desktop.sandbox.auth_model import (  # re-exported: callers import them from here
    _JWKS_CACHE_SECONDS,
    _VERIFIER,
    ASSERTION_ALGORITHMS,
    JWT_BEARER,
    AccessToken,
    AuthorizeError,
    AuthorizeRequest,
    BearerError,
    IssuedCode,
    OAuthError,
    RefreshToken,
    _same_url,
    redirect_allowed,
    s256,
)
from healthprep_desktop.sandbox.config import (
    JSON,
    ClientAuth,
    ClientRegistration,
    SandboxClock,
    TokenSettings,
)
from healthprep_desktop.sandbox.launch import LaunchContext, LaunchRegistry
from healthprep_desktop.sandbox.scopes import ScopeGrant

# (form, token_url, issuer) -> the token response; raises OAuthError.
GrantHandler = Callable[[Mapping[str, str], str, str], Awaitable[JSON]]


@dataclass
class AuthServer:
    org_id: str
    clients: dict[str, ClientRegistration]
    tokens: TokenSettings
    clock: SandboxClock
    _codes: dict[str, IssuedCode] = field(default_factory=dict)
    _access: dict[str, AccessToken] = field(default_factory=dict)
    _refresh: dict[str, RefreshToken] = field(default_factory=dict)
    _jti_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _jwks_cache: dict[str, tuple[float, JSON]] = field(default_factory=dict)
    _issued: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # tokens issued per grant type
    launches: LaunchRegistry = field(init=False)  # EHR launches this organization issued
    # Grant types served by other modules (sandbox/registration.py: the JWT bearer grant of
    # dynamically registered clients), called before client authentication: they carry their
    # own proof (a signed assertion) instead of a client secret.
    grant_handlers: dict[str, GrantHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.launches = LaunchRegistry(self.clock)
        self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"{self.org_id}-id-token"

    def jwks(self) -> JSON:
        """The public key that verifies id_tokens."""
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._signing_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # --- /authorize ------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str], fhir_base: str) -> AuthorizeRequest:
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise AuthorizeError("invalid_request", "unknown client_id", None, None)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            if len(client.redirect_uris) != 1:
                raise AuthorizeError("invalid_request", "redirect_uri is required", None, None)
            redirect_uri = client.redirect_uris[0]
        if not redirect_allowed(client.redirect_uris, redirect_uri):
            raise AuthorizeError(
                "invalid_request", "redirect_uri is not registered for this client", None, None
            )
        state = params.get("state")

        def fail(error: str, description: str) -> AuthorizeError:
            return AuthorizeError(error, description, redirect_uri, state)

        if params.get("response_type") != "code":
            raise fail("unsupported_response_type", "only response_type=code is supported")
        if not state:
            raise fail("invalid_request", "state is required")
        aud = params.get("aud")
        if not aud or not _same_url(aud, fhir_base):
            raise fail("invalid_request", "aud must be this server's FHIR base URL")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None and method != "S256":
            raise fail("invalid_request", "code_challenge_method must be S256")
        if challenge is None and client.is_public:
            raise fail("invalid_request", "PKCE (code_challenge, S256) is required")
        if challenge is not None and not re.fullmatch(r"[A-Za-z0-9\-_]{43}", challenge):
            raise fail("invalid_request", "code_challenge is not a base64url SHA-256 digest")
        grant = ScopeGrant.from_request(
            params.get("scope", ""),
            levels=("patient", "user"),
            client_allowed=client.allowed_scopes,
        )
        if not grant.clinical:
            raise fail("invalid_scope", "no grantable clinical scope was requested")
        launch: LaunchContext | None = None
        if params.get("launch"):
            # SMART EHR launch: the handle is redeemed once, and only with the launch scope.
            if not grant.has("launch"):
                raise fail("invalid_scope", "an EHR launch needs the launch scope")
            launch = self.launches.redeem(params["launch"])
            if launch is None:
                raise fail("invalid_request", "launch is unknown, expired or already used")
        return AuthorizeRequest(
            client, redirect_uri, grant, state, challenge, params.get("nonce"), launch
        )

    def issue_code(
        self,
        request: AuthorizeRequest,
        *,
        patient: str | None,
        fhir_user: str | None,
        username: str | None,
    ) -> str:
        code = secrets.token_urlsafe(32)
        needs_patient = request.grant.has("launch/patient") or request.grant.has_patient_level
        if request.launch is not None:  # the EHR chose the patient, not the consent page
            patient, needs_patient = request.launch.patient, True
        self._codes[code] = IssuedCode(
            client_id=request.client.client_id,
            redirect_uri=request.redirect_uri,
            grant=request.grant,
            patient=patient if needs_patient else None,
            encounter=request.launch.encounter if request.launch else None,
            fhir_user=fhir_user,
            username=username,
            code_challenge=request.code_challenge,
            nonce=request.nonce,
            expires_at=self.clock.now() + self.tokens.code_lifetime,
        )
        return code

    # --- /token ----------------------------------------------------------------------------

    async def token(
        self,
        form: Mapping[str, str],
        authorization: str | None,
        *,
        token_url: str,
        issuer: str,
    ) -> JSON:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        handler = self.grant_handlers.get(grant_type)
        if handler is not None:
            answer = await handler(form, token_url, issuer)
            self.counts[grant_type] = self.counts.get(grant_type, 0) + 1
            return answer
        client = await self.authenticate_client(form, authorization, token_url)
        if grant_type == "authorization_code":
            response = self._redeem_code(client, form, issuer)
        elif grant_type == "refresh_token":
            response = self._refresh_grant(client, form, issuer)
        elif grant_type == "client_credentials":
            response = self._client_credentials(client, form)
        else:
            raise OAuthError("unsupported_grant_type", "grant_type is not supported")
        self.counts[grant_type] = self.counts.get(grant_type, 0) + 1
        return response

    async def authenticate_client(
        self, form: Mapping[str, str], authorization: str | None, token_url: str
    ) -> ClientRegistration:
        if authorization and authorization.lower().startswith("basic "):
            return self._basic(authorization)
        if form.get("client_assertion_type") or form.get("client_assertion"):
            asserted = await self._assertion(form, token_url)
            if form.get("client_id") and form["client_id"] != asserted.client_id:
                raise _invalid_client("client_id does not match the assertion")
            return asserted
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise _invalid_client("unknown client")
        if "client_secret" in form:
            if client.auth_method is not ClientAuth.SECRET_POST or not _secret_ok(
                client, form["client_secret"]
            ):
                raise _invalid_client("client authentication failed")
            return client
        if not client.is_public:
            raise _invalid_client("this client must authenticate")
        return client

    def _basic(self, authorization: str) -> ClientRegistration:
        challenge = {"WWW-Authenticate": f'Basic realm="{self.org_id}"'}
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
            raw_id, raw_secret = decoded.split(":", 1)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid_client("malformed Basic credentials", challenge) from exc
        client = self.clients.get(unquote(raw_id))
        if (
            client is None
            or client.auth_method is not ClientAuth.SECRET_BASIC
            or not _secret_ok(client, unquote(raw_secret))
        ):
            raise _invalid_client("client authentication failed", challenge)
        return client

    async def _assertion(self, form: Mapping[str, str], token_url: str) -> ClientRegistration:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise _invalid_client("client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _invalid_client("client_assertion is not a JWT") from exc
        client = self.clients.get(str(unverified.get("iss", "")))
        if client is None or client.auth_method is not ClientAuth.PRIVATE_KEY_JWT:
            raise _invalid_client("unknown client or not registered for private_key_jwt")
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise _invalid_client("client_assertion must be signed with RS384 or ES384")
        kty = "RSA" if str(alg).startswith("RS") else "EC"
        kid = header.get("kid")
        keys = [
            k
            for k in (await self._client_keys(client)).get("keys", [])
            if isinstance(k, dict) and k.get("kty") == kty and (kid is None or k.get("kid") == kid)
        ]
        if not keys:
            raise _invalid_client("no registered key matches the assertion's kid and alg")
        claims: dict[str, Any] | None = None
        for jwk in keys:
            try:
                key = jwt.PyJWK(jwk, algorithm=str(alg)).key
                claims = jwt.decode(
                    assertion,
                    key,
                    algorithms=[str(alg)],
                    audience=[token_url, token_url.rstrip("/") + "/"],
                    # exp is checked below against the sandbox clock (tests move it).
                    options={
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "require": ["iss", "sub", "aud", "exp", "jti"],
                    },
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise _invalid_client(f"client_assertion rejected: {type(exc).__name__}") from exc
        if claims is None:
            raise _invalid_client("client_assertion signature does not verify")
        if claims["sub"] != client.client_id:
            raise _invalid_client("client_assertion iss and sub must be the client_id")
        now = self.clock.now()
        exp = float(claims["exp"])
        if exp <= now:
            raise _invalid_client("client_assertion has expired")
        if exp > now + self.tokens.max_assertion_lifetime + 5:
            raise _invalid_client("client_assertion exp is more than five minutes ahead")
        replay_key = (client.client_id, str(claims["jti"]))
        if self._jti_seen.get(replay_key, 0.0) > now:
            raise _invalid_client("client_assertion jti was already used")
        self._jti_seen[replay_key] = exp
        return client

    async def _client_keys(self, client: ClientRegistration) -> JSON:
        if client.jwks is not None:
            return client.jwks
        if client.jwks_url is None:
            raise _invalid_client("client has no registered keys")
        cached = self._jwks_cache.get(client.jwks_url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            async with httpx.AsyncClient(timeout=5.0) as http:
                response = await http.get(client.jwks_url)
                response.raise_for_status()
                keys: JSON = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _invalid_client("could not fetch the client's jwks_url") from exc
        self._jwks_cache[client.jwks_url] = (time.monotonic() + _JWKS_CACHE_SECONDS, keys)
        return keys

    def _redeem_code(
        self, client: ClientRegistration, form: Mapping[str, str], issuer: str
    ) -> JSON:
        code = form.get("code", "")
        issued = self._codes.get(code)
        if issued is None or issued.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if issued.used:
            # RFC 6749 4.1.2: a replayed code may mean it was stolen; revoke what it produced.
            self._revoke_family(code)
            raise OAuthError("invalid_grant", "authorization code was already used")
        issued.used = True  # consumed by any attempt, so a wrong verifier cannot be retried
        if issued.expires_at <= self.clock.now():
            raise OAuthError("invalid_grant", "authorization code has expired")
        if form.get("redirect_uri") != issued.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization")
        if issued.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not _VERIFIER.match(verifier) or not hmac.compare_digest(
                s256(verifier), issued.code_challenge
            ):
                raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        return self._issue(
            client,
            issued.grant,
            patient=issued.patient,
            fhir_user=issued.fhir_user,
            username=issued.username,
            family=code,
            issuer=issuer,
            nonce=issued.nonce,
            encounter=issued.encounter,
        )

    def _refresh_grant(
        self, client: ClientRegistration, form: Mapping[str, str], issuer: str
    ) -> JSON:
        presented = form.get("refresh_token", "")
        current = self._refresh.get(presented)
        if current is None or current.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown refresh token")
        if current.revoked:
            raise OAuthError("invalid_grant", "refresh token was revoked or already used")
        if current.expires_at <= self.clock.now():
            raise OAuthError("invalid_grant", "refresh token has expired")
        grant = current.grant
        if form.get("scope"):
            narrowed = grant.narrowed(form["scope"])
            if narrowed is None:
                raise OAuthError("invalid_scope", "a refresh cannot widen the granted scopes")
            grant = narrowed
        current.revoked = True  # rotation: each refresh token works once
        return self._issue(
            client,
            grant,
            patient=current.patient,
            fhir_user=current.fhir_user,
            username=current.username,
            family=current.family,
            issuer=issuer,
            nonce=None,
            refresh_lifetime=current.expires_at - self.clock.now(),
            encounter=current.encounter,
        )

    def _client_credentials(self, client: ClientRegistration, form: Mapping[str, str]) -> JSON:
        if client.is_public:
            raise OAuthError("unauthorized_client", "public clients cannot use client_credentials")
        grant = ScopeGrant.from_request(
            form.get("scope", ""), levels=("system",), client_allowed=client.allowed_scopes
        )
        if not grant.clinical:
            raise OAuthError("invalid_scope", "client_credentials needs system/ scopes")
        return self._issue(
            client,
            ScopeGrant(tuple(s for s in grant.scopes if "/" in s), grant.clinical),
            patient=None,
            fhir_user=None,
            username=None,
            family=secrets.token_hex(8),
            issuer="",
            nonce=None,
            allow_refresh=False,
        )

    def _issue(
        self,
        client: ClientRegistration,
        grant: ScopeGrant,
        *,
        patient: str | None,
        fhir_user: str | None,
        username: str | None,
        family: str,
        issuer: str,
        nonce: str | None,
        allow_refresh: bool = True,
        refresh_lifetime: float | None = None,
        encounter: str | None = None,
    ) -> JSON:
        self._prune()
        now = self.clock.now()
        lifetime = float(self.tokens.access_token_lifetime)
        access = secrets.token_urlsafe(32)
        self._access[access] = AccessToken(
            client.client_id, grant, patient, fhir_user, now + lifetime, family
        )
        response: JSON = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": max(1, round(lifetime)),
            "scope": grant.text,
        }
        if patient is not None:
            response["patient"] = patient
        if encounter is not None:
            response["encounter"] = encounter
        # Some EHRs (Epic) give public clients no refresh token; such apps register a key
        # (dynamic client registration) for lasting access instead.
        public_refresh = self.tokens.refresh_for_public_clients or not client.is_public
        wants_refresh = grant.has("offline_access") or grant.has("online_access")
        if allow_refresh and public_refresh and wants_refresh:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = RefreshToken(
                client.client_id,
                grant,
                patient,
                fhir_user,
                username,
                now + (refresh_lifetime or self.tokens.refresh_token_lifetime),
                family,
                encounter=encounter,
            )
            response["refresh_token"] = refresh
        if grant.has("openid") and grant.has("fhirUser") and fhir_user and issuer:
            claims: JSON = {
                "iss": issuer,
                "sub": username or fhir_user,
                "aud": client.client_id,
                "iat": int(now),
                "exp": int(now + self.tokens.id_token_lifetime),
                "fhirUser": f"{issuer.rstrip('/')}/{fhir_user}",
            }
            if nonce:
                claims["nonce"] = nonce
            response["id_token"] = jwt.encode(
                claims, self._signing_key, algorithm="RS256", headers={"kid": self.kid}
            )
        return response

    # --- resource server side --------------------------------------------------------------

    def bearer(self, authorization: str | None) -> AccessToken:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise BearerError(None, "an access token is required")
        token = self._access.get(authorization[7:].strip())
        if token is None:
            raise BearerError("invalid_token", "the access token is not recognised")
        if token.revoked:
            raise BearerError("invalid_token", "the access token was revoked")
        if token.expires_at <= self.clock.now():
            raise BearerError("invalid_token", "the access token has expired")
        return token

    # --- revocation ------------------------------------------------------------------------

    def revoke_refresh_tokens(self, client_id: str | None = None) -> int:
        count = 0
        for token in list(self._refresh.values()):
            if not token.revoked and client_id in (None, token.client_id):
                token.revoked = True
                count += 1
        return count

    def revoke_access_tokens(self, client_id: str | None = None) -> int:
        count = 0
        for token in list(self._access.values()):
            if not token.revoked and client_id in (None, token.client_id):
                token.revoked = True
                count += 1
        return count

    def _revoke_family(self, family: str) -> None:
        for access in list(self._access.values()):
            if access.family == family:
                access.revoked = True
        for refresh in list(self._refresh.values()):
            if refresh.family == family:
                refresh.revoked = True

    def _prune(self) -> None:
        """Forget long-dead codes, tokens and assertion ids now and then."""
        self._issued += 1
        if self._issued % 500:
            return
        horizon = self.clock.now() - 3600
        for table in (self._codes, self._access, self._refresh):
            for key in [k for k, v in table.items() if v.expires_at < horizon]:
                del table[key]
        for jti in [k for k, exp in self._jti_seen.items() if exp < horizon]:
            del self._jti_seen[jti]


def _secret_ok(client: ClientRegistration, presented: str) -> bool:
    return client.secret is not None and hmac.compare_digest(
        client.secret.encode(), presented.encode()
    )


def _invalid_client(description: str, headers: Mapping[str, str] | None = None) -> OAuthError:
    return OAuthError("invalid_client", description, 401, headers)


__all__ = [
    "ASSERTION_ALGORITHMS",
    "JWT_BEARER",
    "AccessToken",
    "AuthServer",
    "AuthorizeError",
    "AuthorizeRequest",
    "BearerError",
    "GrantHandler",
    "IssuedCode",
    "OAuthError",
    "RefreshToken",
    "redirect_allowed",
    "s256",
]
