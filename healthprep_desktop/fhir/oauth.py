"""OAuth 2 for SMART: the authorize URL, code exchange, refresh, and SMART Backend Services
(client_credentials with a private_key_jwt assertion signed by a key pair the app generated)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.errors import AuthError, FhirTransportError, OAuthError, plain_text
from healthprep_desktop.fhir.pkce import Pkce
from healthprep_desktop.fhir.tokens import TokenSet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUPPORTED_KEY_ALGORITHMS = ("RS384", "ES384")


@dataclass(frozen=True, slots=True)
class BackendKey:
    """A signing key for SMART Backend Services; the private half stays on this device."""

    algorithm: str  # RS384 | ES384
    kid: str
    private_pem: bytes = field(repr=False)

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        public = private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            raise ValueError("unsupported key type")
        jwk.update({"alg": self.algorithm, "kid": self.kid, "use": "sig", "key_ops": ["verify"]})
        return jwk

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set to register with the EHR (or serve at a jwks_url)."""
        return {"keys": [self.public_jwk()]}


def generate_backend_key(algorithm: str = "RS384") -> BackendKey:
    if algorithm == "RS384":
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
    elif algorithm == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(
            f"unsupported algorithm {algorithm}; use one of {SUPPORTED_KEY_ALGORITHMS}"
        )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = private.public_key()
    jwk = (
        RSAAlgorithm.to_jwk(public, as_dict=True)
        if isinstance(public, rsa.RSAPublicKey)
        else ECAlgorithm.to_jwk(public, as_dict=True)
    )
    return BackendKey(algorithm=algorithm, kid=jwk_thumbprint(jwk), private_pem=pem)


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: a stable kid derived from the public key."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def client_assertion(
    key: BackendKey, client_id: str, token_endpoint: str, *, lifetime: int = 300
) -> str:
    """A signed JWT proving possession of the key (SMART Backend Services, at most 5 minutes)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": now,
        "exp": now + min(lifetime, 300),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, key.private_pem, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"}
    )


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """How this app authenticates to the token endpoint."""

    client_id: str
    method: AuthMethod
    client_secret: str | None = field(default=None, repr=False)
    key: BackendKey | None = field(default=None, repr=False)

    def apply(self, token_endpoint: str, data: dict[str, str], headers: dict[str, str]) -> None:
        if self.method is AuthMethod.SMART_CONFIDENTIAL_BASIC:
            if not self.client_secret:
                raise OAuthError("invalid_client", "no client secret is configured")
            # RFC 6749 2.3.1: form-encode id and secret before base64.
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif self.method is AuthMethod.SMART_CONFIDENTIAL_POST:
            if not self.client_secret:
                raise OAuthError("invalid_client", "no client secret is configured")
            data["client_id"] = self.client_id
            data["client_secret"] = self.client_secret
        elif self.method is AuthMethod.SMART_BACKEND_SERVICES:
            if self.key is None:
                raise OAuthError("invalid_client", "no backend services key is configured")
            data["client_assertion_type"] = ASSERTION_TYPE
            data["client_assertion"] = client_assertion(self.key, self.client_id, token_endpoint)
        else:
            data["client_id"] = self.client_id


def pkce_for(code_challenge_methods: tuple[str, ...], method: AuthMethod) -> Pkce | None:
    """PKCE for an interactive sign-in, from the methods the server's discovery lists.

    S256 is always used when the server lists it or lists nothing (a server that does not know
    PKCE ignores the extra parameters, RFC 7636 section 5). A public client has nothing else
    protecting its code, so it refuses a server that lists methods without S256 (`plain` only);
    a confidential client, which authenticates with its secret or key, goes on without PKCE."""
    if not code_challenge_methods or "S256" in code_challenge_methods:
        return Pkce.new()
    if method is AuthMethod.SMART_PUBLIC_PKCE:
        listed = plain_text(", ".join(code_challenge_methods), 80)
        raise AuthError(
            f"this EHR does not offer PKCE with S256 (it lists only {listed}), which a public "
            "app needs to sign in safely; ask the EHR's administrator to enable S256"
        )
    return None


def authorize_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...] | list[str],
    state: str,
    aud: str,
    pkce: Pkce | None,
    launch: str | None = None,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "aud": aud,
    }
    if pkce is not None:
        params["code_challenge"] = pkce.challenge
        params["code_challenge_method"] = pkce.method
    if launch:
        params["launch"] = launch
    separator = "&" if "?" in authorization_endpoint else "?"
    return authorization_endpoint + separator + urlencode(params)


async def token_request(
    http: httpx.AsyncClient, token_endpoint: str, data: dict[str, str], client: ClientAuth
) -> TokenSet:
    return TokenSet.from_response(await token_response(http, token_endpoint, data, client))


async def token_response(
    http: httpx.AsyncClient, token_endpoint: str, data: dict[str, str], client: ClientAuth
) -> dict[str, Any]:
    """The token endpoint's JSON answer (for callers that need more than the TokenSet, such as
    an EHR launch's encounter); OAuthError or FhirTransportError when there is none."""
    headers = {"Accept": "application/json"}
    client.apply(token_endpoint, data, headers)
    try:
        response = await http.post(token_endpoint, data=data, headers=headers)
    except httpx.TimeoutException as exc:
        raise FhirTransportError("the token endpoint did not answer in time") from exc
    except httpx.TransportError as exc:
        raise FhirTransportError(f"cannot reach the token endpoint: {type(exc).__name__}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        if response.status_code >= 500 and not (isinstance(body, dict) and "error" in body):
            raise FhirTransportError(f"the token endpoint answered HTTP {response.status_code}")
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        raise OAuthError(
            str(error or "invalid_response"),
            str(description) if description else f"HTTP {response.status_code}",
            response.status_code,
        )
    return body


async def exchange_code(
    http: httpx.AsyncClient,
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    client: ClientAuth,
    pkce: Pkce | None,
) -> TokenSet:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        data["code_verifier"] = pkce.verifier
    return await token_request(http, token_endpoint, data, client)


async def refresh_tokens(
    http: httpx.AsyncClient, token_endpoint: str, *, refresh_token: str, client: ClientAuth
) -> TokenSet:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await token_request(http, token_endpoint, data, client)


async def backend_services_token(
    http: httpx.AsyncClient, token_endpoint: str, *, scopes: tuple[str, ...], client: ClientAuth
) -> TokenSet:
    data = {"grant_type": "client_credentials", "scope": " ".join(scopes)}
    return await token_request(http, token_endpoint, data, client)
