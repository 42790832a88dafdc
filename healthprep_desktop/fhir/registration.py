"""Lasting access for a public desktop app: dynamic client registration + the JWT bearer grant.

A public app (no secret) signed in through the browser gets, at best, a refresh token that
dies with the session or after days. Epic's documented path to lasting access is:

1. sign in as usual (PKCE) and keep the access token as the *initial access token*;
2. generate a key pair on this workstation (the private half goes to the connection's secrets:
   the encrypted store or the OS keyring, never a plain file) and register the public JWK Set
   at the EHR's registration endpoint (RFC 7591) with ``software_id`` = the app's client id;
   the EHR answers with a new client id bound to this key, this user and these scopes;
3. from then on ask for access tokens with the JWT bearer grant (RFC 7523,
   ``urn:ietf:params:oauth:grant-type:jwt-bearer``): an assertion signed by the key, no
   browser and no refresh token;
4. when the EHR revokes the key it answers ``invalid_client``: the registration is marked
   revoked, the user is asked to sign in once more, and that sign-in registers a new key.

``LastingAccess(connection, secrets).install()`` makes a FhirConnection use the stored
registration for every new token (workers/connections.open_connection does this).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.credentials import SecretStore
from healthprep_desktop.fhir.discovery import SmartConfiguration
from healthprep_desktop.fhir.errors import (
    AuthError,
    OAuthError,
    ReauthenticationRequired,
    plain_text,
)
from healthprep_desktop.fhir.failures import transport_failure
from healthprep_desktop.fhir.oauth import (
    BackendKey,
    ClientAuth,
    client_assertion,
    generate_backend_key,
    token_request,
)
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import TokenSet

log = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REGISTRATION_KIND = "registration"  # the secret kind the registration is kept under
REVOKED_REASON = (
    "the EHR revoked this workstation's key (invalid_client); the next sign-in registers a new one"
)


class RegistrationError(AuthError):
    """The EHR refused (or could not take) the registration; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Registration:
    """This workstation's registration at one EHR: the client id the EHR gave the key."""

    client_id: str
    software_id: str  # the app's own client id, which the registration belongs to
    token_endpoint: str  # the only endpoint the key's assertions are sent to
    key: BackendKey = field(repr=False)
    revoked: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "client_id": self.client_id,
                "software_id": self.software_id,
                "token_endpoint": self.token_endpoint,
                "revoked": self.revoked,
                "alg": self.key.algorithm,
                "kid": self.key.kid,
                "pem": self.key.private_pem.decode(),
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Registration:
        data: dict[str, Any] = json.loads(raw)
        key = BackendKey(data["alg"], data["kid"], str(data["pem"]).encode())
        return cls(
            str(data["client_id"]),
            str(data["software_id"]),
            str(data["token_endpoint"]),
            key,
            bool(data.get("revoked", False)),
        )


def registration_endpoint(smart: SmartConfiguration) -> str:
    """Where to register: the endpoint discovery names, else Epic's convention, the token
    endpoint's sibling (``.../oauth2/token`` -> ``.../oauth2/register``)."""
    if smart.registration_endpoint:
        return smart.registration_endpoint
    base, slash, last = smart.token_endpoint.rstrip("/").rpartition("/")
    if slash and last == "token":
        return f"{base}/register"
    raise RegistrationError(
        "The EHR does not publish a client registration endpoint, so this app cannot register "
        "a key for lasting access: sign in through the browser, or ask the EHR administrator "
        "for a backend-services registration."
    )


async def register_client(
    http: httpx.AsyncClient,
    endpoint: str,
    *,
    software_id: str,
    access_token: str,
    key: BackendKey,
) -> str:
    """POST the public key (RFC 7591); the new client id. Never sends the private half."""
    host = httpx.URL(endpoint).host or endpoint
    body = {"software_id": software_id, "jwks": key.jwks()}
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        response = await http.post(endpoint, json=body, headers=headers)
    except httpx.TransportError as exc:
        raise transport_failure(exc, host) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code >= 400 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        said = answer.get("error_description") if isinstance(answer, dict) else None
        detail = plain_text(f"{error}: {said}" if said else str(error), 200) if error else ""
        because = f" ({detail})" if detail else f" (HTTP {response.status_code})"
        if response.status_code == 401:
            raise RegistrationError(
                f"{host} did not accept the sign-in for registering this workstation{because}: "
                "sign in again, then retry."
            )
        raise RegistrationError(
            f"{host} refused to register this workstation's key{because}: check that the app "
            "is enabled for dynamic client registration at the EHR."
        )
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError(f"{host} answered the registration without a client id.")
    return client_id


async def jwt_bearer_token(
    http: httpx.AsyncClient, registration: Registration, *, scopes: tuple[str, ...] = ()
) -> TokenSet:
    """A new access token for the registered key (RFC 7523), no browser involved."""
    endpoint = registration.token_endpoint
    data = {
        "grant_type": JWT_BEARER_GRANT,
        "assertion": client_assertion(registration.key, registration.client_id, endpoint),
    }
    if scopes:
        data["scope"] = " ".join(scopes)
    # The client authenticates by the assertion; the form names its client id (as Epic asks).
    client = ClientAuth(registration.client_id, AuthMethod.SMART_PUBLIC_PKCE)
    return await token_request(http, endpoint, data, client)


def load_registration(
    secrets: SecretStore, config: ConnectionConfig, tenant: str
) -> Registration | None:
    """The connection's stored registration (None when there is none or it is unreadable)."""
    raw = secrets.get(config.secret_key(tenant, REGISTRATION_KIND))
    if not raw:
        return None
    try:
        return Registration.from_json(raw)
    except (ValueError, KeyError, TypeError):
        log.warning("%s: the stored registration is unreadable", config.name)
        return None


class LastingAccess:
    """One connection's registration: register, use, forget."""

    def __init__(self, connection: FhirConnection, secrets: SecretStore) -> None:
        self.connection = connection
        self._secrets = secrets
        config = connection.config
        self._secret_name = config.secret_key(connection.tenant, REGISTRATION_KIND)

    def load(self) -> Registration | None:
        return load_registration(self._secrets, self.connection.config, self.connection.tenant)

    def _save(self, registration: Registration) -> None:
        self._secrets.set(self._secret_name, registration.to_json())

    def forget(self) -> bool:
        """Drop the registration (sign-out); True when there was one."""
        had = self.load() is not None
        self._secrets.delete(self._secret_name)
        return had

    def install(self) -> bool:
        """Use the stored registration for every new token; False when there is none (or it
        was revoked: the connection then refreshes as before until the user signs in)."""
        registration = self.load()
        if registration is None or registration.revoked:
            return False
        self.connection.tokens.set_refresher(self._refresh, needs_refresh_token=False)
        return True

    async def register(self) -> Registration:
        """Register a new key with the access token of the current sign-in, keep it, and
        install it. The connection must be a public browser sign-in that is signed in."""
        connection = self.connection
        config = connection.config
        if config.auth_method is not AuthMethod.SMART_PUBLIC_PKCE:
            raise RegistrationError(
                "Lasting access by key registration is for public browser sign-ins; "
                f"this connection uses {config.auth_method.value}."
            )
        tokens = connection.tokens.tokens
        if tokens is None:
            raise RegistrationError("Sign in first: registration needs a current sign-in.")
        access = await connection.tokens.access_token()
        smart = await connection.smart_configuration()
        endpoint = registration_endpoint(smart)
        key = generate_backend_key(config.backend_key_algorithm)
        client_id = await register_client(
            connection.client.http,
            endpoint,
            software_id=config.client_id,
            access_token=access,
            key=key,
        )
        registration = Registration(client_id, config.client_id, smart.token_endpoint, key)
        self._save(registration)
        self.install()
        log.info("%s: this workstation's key is registered", config.name)
        return registration

    async def _refresh(self, current: TokenSet | None) -> TokenSet:
        registration = self.load()
        if registration is None or registration.revoked:
            raise ReauthenticationRequired(self.connection.config.name, REVOKED_REASON)
        try:
            tokens = await jwt_bearer_token(self.connection.client.http, registration)
        except OAuthError as exc:
            if exc.error == "invalid_client":
                # Revoked at the EHR: keep the record (so the next sign-in re-registers) but
                # never send this key again.
                self._save(replace(registration, revoked=True))
                log.warning("%s: the EHR revoked this workstation's key", registration.software_id)
                raise ReauthenticationRequired(self.connection.config.name, REVOKED_REASON) from exc
            raise
        if current is not None and not tokens.fhir_user:
            tokens = replace(tokens, fhir_user=current.fhir_user)
        return tokens.bound(
            issuer=registration.token_endpoint, fhir_base=self.connection.config.base_url
        )

    async def after_sign_in(self) -> Registration | None:
        """After a browser sign-in: register a new key when the old one was revoked."""
        registration = self.load()
        if registration is not None and registration.revoked:
            return await self.register()
        return registration


def install_lasting_access(connection: FhirConnection, secrets: SecretStore) -> bool:
    """For workers/connections.open_connection: use a stored registration, if any."""
    if connection.config.auth_method is not AuthMethod.SMART_PUBLIC_PKCE:
        return False
    return LastingAccess(connection, secrets).install()
