"""Dynamic client registration and the JWT bearer grant, the way Epic offers lasting access
to a public desktop app.

1. The app signs a user in as usual (public client, PKCE) and gets an access token.
2. It generates a key pair on the workstation and POSTs the public key to
   ``/org/{id}/auth/register`` (RFC 7591) with that access token as the initial access token
   and its own client id as ``software_id``. The answer is a new client id, bound to the key
   and to the user and scopes of that sign-in.
3. From then on it gets access tokens with ``grant_type=urn:ietf:params:oauth:grant-type:
   jwt-bearer`` (RFC 7523): an assertion signed by the private key, ``iss`` and ``sub`` the new
   client id, ``aud`` the token endpoint. No browser, no refresh token.
4. An administrator can revoke the registration (``revoke``): the next JWT bearer request is
   refused with ``invalid_client`` and the app must sign in and register again.

Errors are RFC 6749/7591 codes; descriptions never hold a token or a key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from healthprep_desktop.sandbox.auth import JWT_BEARER, AuthServer, BearerError, OAuthError
from healthprep_desktop.sandbox.config import JSON, ClientAuth, ClientRegistration
from healthprep_desktop.sandbox.datastore import dumps
from healthprep_desktop.sandbox.org import Organization
from healthprep_desktop.sandbox.scopes import ScopeGrant

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_KEY_TYPES = {"RSA": "RS384", "EC": "ES384"}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class DynamicClient:
    """A registration: the key's client id, the app it belongs to, and the user and scopes of
    the sign-in that registered it (each JWT bearer token carries them)."""

    client_id: str
    software_id: str
    fhir_user: str | None
    grant: ScopeGrant
    registered_at: float


@dataclass
class DynamicRegistry:
    """One organization's dynamically registered clients; its JWT bearer grant handler is
    installed in the organization's AuthServer."""

    auth: AuthServer
    clients: dict[str, DynamicClient] = field(default_factory=dict)

    def register(self, initial_token: str | None, body: JSON) -> DynamicClient:
        try:
            token = self.auth.bearer(initial_token)
        except BearerError as exc:
            raise OAuthError("invalid_token", exc.description, 401) from exc
        software_id = body.get("software_id")
        if not isinstance(software_id, str) or not software_id:
            raise OAuthError("invalid_client_metadata", "software_id is required", 400)
        app = self.auth.clients.get(software_id)
        if app is None or not app.is_public or token.client_id != software_id:
            raise OAuthError(
                "invalid_client_metadata",
                "software_id must be the public app the access token was issued to",
                400,
            )
        if token.fhir_user is None:
            raise OAuthError(
                "invalid_token", "registration needs a token from a user's sign-in", 401
            )
        jwks = body.get("jwks")
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if (
            not isinstance(keys, list)
            or len(keys) != 1
            or not isinstance(keys[0], dict)
            or keys[0].get("kty") not in _KEY_TYPES
            or "d" in keys[0]
        ):
            raise OAuthError(
                "invalid_client_metadata",
                "jwks must hold exactly one public RSA or EC key",
                400,
            )
        client_id = f"dyn-{secrets.token_hex(12)}"
        self.auth.clients[client_id] = ClientRegistration(
            client_id,
            ClientAuth.PRIVATE_KEY_JWT,
            jwks={"keys": [keys[0]]},
            name=f"{app.name or software_id} (registered workstation)",
        )
        registered = DynamicClient(
            client_id, software_id, token.fhir_user, token.grant, self.auth.clock.now()
        )
        self.clients[client_id] = registered
        return registered

    def revoke(self, client_id: str | None = None) -> int:
        """Revoke one registration (or all): its key is no longer accepted, its tokens die."""
        gone = [c for c in self.clients if client_id in (None, c)]
        for cid in gone:
            del self.clients[cid]
            self.auth.clients.pop(cid, None)
            self.auth.revoke_access_tokens(cid)
        return len(gone)

    async def jwt_bearer_grant(self, form: Mapping[str, str], token_url: str, issuer: str) -> JSON:
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "assertion is required")
        # The same checks as a client assertion: signature by the registered key, iss == sub,
        # aud the token endpoint, exp at most five minutes ahead, jti not replayed. An unknown
        # (revoked) client id is invalid_client, as Epic answers.
        client = await self.auth._assertion(
            {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}, token_url
        )
        if form.get("client_id") and form["client_id"] != client.client_id:
            raise OAuthError("invalid_client", "client_id does not match the assertion", 401)
        registered = self.clients.get(client.client_id)
        if registered is None:
            raise OAuthError(
                "unauthorized_client", "only dynamically registered clients use this grant"
            )
        grant = registered.grant
        if form.get("scope"):
            narrowed = grant.narrowed(form["scope"])
            if narrowed is None:
                raise OAuthError("invalid_scope", "the scope exceeds the registration's scopes")
            grant = narrowed
        return self.auth._issue(
            client,
            grant,
            patient=None,
            fhir_user=registered.fhir_user,
            username=None,
            family=secrets.token_hex(8),
            issuer=issuer,
            nonce=None,
            allow_refresh=False,
        )


def registry_for(auth: AuthServer) -> DynamicRegistry:
    """The organization's registry, installing its grant handler on first use."""
    handler = auth.grant_handlers.get(JWT_BEARER_GRANT)
    owner = getattr(handler, "__self__", None)
    if isinstance(owner, DynamicRegistry):
        return owner
    registry = DynamicRegistry(auth)
    auth.grant_handlers[JWT_BEARER_GRANT] = registry.jwt_bearer_grant
    return registry


class RegistrationHttp:
    """POST /org/{org_id}/auth/register (RFC 7591, JSON in and out), and
    DELETE /org/{org_id}/auth/register/{client_id}: the EHR administrator revokes a
    workstation's key (the sandbox is a test tool on loopback: no administrator sign-in)."""

    def __init__(self, orgs: Mapping[str, Organization]) -> None:
        self.orgs = orgs
        for org in orgs.values():
            registry_for(org.auth)

    async def register(self, request: Request) -> Response:
        info: dict[str, str] = request.scope.get("sandbox") or {}
        info["interaction"] = "register"
        org = self.orgs.get(request.path_params["org_id"])
        if org is None:
            return _json({"error": "invalid_request", "error_description": "unknown org"}, 404)
        try:
            raw = await request.body()
        except ClientDisconnect:
            raw = b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        try:
            if not isinstance(body, dict):
                raise OAuthError("invalid_client_metadata", "the body must be a JSON object", 400)
            registered = registry_for(org.auth).register(request.headers.get("authorization"), body)
        except OAuthError as exc:
            return _json(exc.body(), exc.status, exc.headers)
        client = org.auth.clients[registered.client_id]
        return _json(
            {
                "client_id": registered.client_id,
                "client_id_issued_at": int(registered.registered_at),
                "software_id": registered.software_id,
                "grant_types": [JWT_BEARER_GRANT],
                "token_endpoint_auth_method": "none",
                "jwks": client.jwks,
            },
            201,
        )

    async def revoke(self, request: Request) -> Response:
        info: dict[str, str] = request.scope.get("sandbox") or {}
        info["interaction"] = "register"
        org = self.orgs.get(request.path_params["org_id"])
        if org is None:
            return _json({"error": "invalid_request", "error_description": "unknown org"}, 404)
        client_id = request.path_params["client_id"]
        if not registry_for(org.auth).revoke(client_id):
            return _json({"error": "invalid_request", "error_description": "no such client"}, 404)
        return Response(status_code=204, headers=_NO_STORE)


def _json(body: JSON, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status, {**_NO_STORE, **(headers or {})}, "application/json")
