"""The SMART App Launch flow over real HTTP, and one negative test per rule."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jwt
import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sandbox_smart import (
    BACKEND,
    PATIENT_SCOPE,
    PUBLIC,
    REDIRECT,
    KeyPair,
    SandboxFactory,
    authorize,
    backend_form,
    bearer,
    entries,
    key_pair,
    login,
    pkce,
    redirect_params,
    tiny_config,
)
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from healthprep_desktop.sandbox import (
    BackgroundServer,
    ClientAuth,
    ClientRegistration,
    SandboxServer,
)

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def redeem(
    http: httpx.Client, server: SandboxServer, code: str, verifier: str, **extra: Any
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": PUBLIC,
        "code_verifier": verifier,
        **extra,
    }
    return http.post(server.token_url(), data=data)


def test_discovery_documents(tiny: SandboxServer, http: httpx.Client) -> None:
    config = http.get(f"{tiny.base_url()}/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"] == tiny.authorize_url()
    assert config["token_endpoint"] == tiny.token_url()
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"private_key_jwt", "client_secret_basic", "client_secret_post"} <= set(
        config["token_endpoint_auth_methods_supported"]
    )
    assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(
        config["grant_types_supported"]
    )
    assert {"launch-standalone", "client-public", "permission-v2"} <= set(config["capabilities"])

    response = http.get(f"{tiny.base_url()}/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    uris = {
        e["url"]: e["valueUri"]
        for ext in rest["security"]["extension"]
        if ext["url"] == OAUTH_URIS
        for e in ext["extension"]
    }
    assert uris == {"authorize": tiny.authorize_url(), "token": tiny.token_url()}
    by_type = {r["type"]: r for r in rest["resource"]}
    assert by_type["Patient"]["operation"][0]["name"] == "everything"
    assert "Appointment:patient" in by_type["Appointment"]["searchInclude"]
    assert "Observation:patient" in by_type["Patient"]["searchRevInclude"]
    assert {"create", "update"} <= {i["code"] for i in by_type["DocumentReference"]["interaction"]}
    assert "date" in {p["name"] for p in by_type["Observation"]["searchParam"]}


def test_whole_smart_flow(
    tiny: SandboxServer, http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    # Discovery, then authorize with PKCE; auto-approve redirects straight back.
    smart = http.get(f"{tiny.base_url()}/.well-known/smart-configuration").json()
    verifier, challenge = pkce()
    response = authorize(http, tiny, challenge=challenge, state="opaque-state", nonce="n-1")
    location = httpx.URL(response.headers["location"])
    assert (location.host, location.port, location.path) == ("127.0.0.1", 53682, "/callback")
    params = redirect_params(response)
    assert params["state"] == "opaque-state"

    response = redeem(http, tiny, params["code"], verifier)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"].split()) == set(PATIENT_SCOPE.split())
    patient = token["patient"]
    assert patient == "clinic-p1"

    # The id_token is RS256, verifiable with the published JWKS, and names the user.
    jwks = http.get(smart["jwks_uri"]).json()
    signing = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token["id_token"], signing, algorithms=["RS256"], audience=PUBLIC)
    assert claims["fhirUser"] == f"{tiny.base_url()}/Practitioner/clinic-dr"
    assert claims["nonce"] == "n-1"
    assert claims["iss"] == tiny.base_url()

    # FHIR calls with the token.
    read = http.get(f"{tiny.base_url()}/Patient/{patient}", headers=bearer(token))
    assert read.status_code == 200 and read.json()["id"] == patient
    search = http.get(f"{tiny.base_url()}/Observation", headers=bearer(token))
    assert {r["subject"]["reference"] for r in entries(search.json())} == {f"Patient/{patient}"}

    # Refresh rotates: the new pair works, the old refresh token no longer does.
    refreshed = http.post(
        tiny.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
        },
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != token["refresh_token"]
    assert new["access_token"] != token["access_token"]
    assert new["patient"] == patient
    again = http.post(
        tiny.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert http.get(f"{tiny.base_url()}/Patient/{patient}", headers=bearer(new)).status_code == 200

    # Backend services: client_credentials with private_key_jwt, RS384 and ES384.
    for alg in ("RS384", "ES384"):
        form = backend_form(BACKEND, tiny.token_url(), keys[alg], "system/*.rs")
        response = http.post(tiny.token_url(), data=form)
        assert response.status_code == 200, response.text
        system = response.json()
        assert "refresh_token" not in system and "patient" not in system
        assert system["scope"] == "system/*.rs"
        everyone = http.get(f"{tiny.base_url()}/Patient", headers=bearer(system)).json()
        assert everyone["total"] == 3


def test_wrong_pkce_verifier(tiny: SandboxServer, http: httpx.Client) -> None:
    _verifier, challenge = pkce()
    code = redirect_params(authorize(http, tiny, challenge=challenge))["code"]
    other, _ = pkce()
    response = redeem(http, tiny, code, other)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_verifier_and_missing_challenge(tiny: SandboxServer, http: httpx.Client) -> None:
    # A public client must use PKCE: no challenge -> error back at the redirect URI.
    params = redirect_params(authorize(http, tiny))
    assert params["error"] == "invalid_request" and params["state"] == "state-123"
    # plain is not S256.
    response = authorize(http, tiny, code_challenge="x" * 43, code_challenge_method="plain")
    assert redirect_params(response)["error"] == "invalid_request"
    _verifier, challenge = pkce()
    code = redirect_params(authorize(http, tiny, challenge=challenge))["code"]
    response = http.post(
        tiny.token_url(),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": PUBLIC,
        },
    )
    assert response.json()["error"] == "invalid_grant"


def test_reused_code_is_rejected_and_revokes_its_tokens(
    tiny: SandboxServer, http: httpx.Client
) -> None:
    verifier, challenge = pkce()
    code = redirect_params(authorize(http, tiny, challenge=challenge))["code"]
    first = redeem(http, tiny, code, verifier)
    assert first.status_code == 200
    token = first.json()
    assert (
        http.get(f"{tiny.base_url()}/Patient/clinic-p1", headers=bearer(token)).status_code == 200
    )
    second = redeem(http, tiny, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    # RFC 6749 4.1.2: what the code produced is revoked.
    assert (
        http.get(f"{tiny.base_url()}/Patient/clinic-p1", headers=bearer(token)).status_code == 401
    )
    refresh = http.post(
        tiny.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
        },
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_redirect_uri_rules(tiny: SandboxServer, http: httpx.Client) -> None:
    _verifier, challenge = pkce()
    # Unregistered: shown to the user, never redirected (RFC 6749 4.1.2.1).
    for bad in (
        "http://evil.example/callback",
        "http://127.0.0.1:5000/other",
        "http://localhost:5000/callback",
    ):
        response = authorize(http, tiny, challenge=challenge, redirect_uri=bad)
        assert response.status_code == 400, bad
        assert "location" not in response.headers
    # Loopback IP: any port (RFC 8252 7.3), IPv4 and IPv6.
    for good in (
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:65000/callback",
        "http://[::1]:8123/callback",
    ):
        response = authorize(http, tiny, challenge=challenge, redirect_uri=good)
        assert response.status_code == 302, good
        assert response.headers["location"].startswith(good + "?")
    # The token request must repeat the redirect URI of the authorization.
    verifier, challenge = pkce()
    code = redirect_params(
        authorize(http, tiny, challenge=challenge, redirect_uri="http://127.0.0.1:9999/callback")
    )["code"]
    response = redeem(http, tiny, code, verifier)  # sends REDIRECT (port 53682)
    assert response.json()["error"] == "invalid_grant"


def test_expired_and_missing_tokens(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    server = make_sandbox()
    url = f"{server.base_url()}/Patient/clinic-p1"
    missing = http.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["resourceType"] == "OperationOutcome"
    assert http.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401

    token = login(http, server)
    assert http.get(url, headers=bearer(token)).status_code == 200
    server.clock.advance(3601)
    expired = http.get(url, headers=bearer(token))
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert "expired" in expired.json()["issue"][0]["diagnostics"]


def test_expired_code(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    server = make_sandbox()
    verifier, challenge = pkce()
    code = redirect_params(authorize(http, server, challenge=challenge))["code"]
    server.clock.advance(61)
    assert redeem(http, server, code, verifier).json()["error"] == "invalid_grant"


def test_scope_not_granted(tiny: SandboxServer, http: httpx.Client) -> None:
    token = login(http, tiny, scope="launch/patient patient/Observation.rs")
    assert token["scope"] == "launch/patient patient/Observation.rs"
    base = tiny.base_url()
    assert http.get(f"{base}/Observation", headers=bearer(token)).status_code == 200
    denied = http.get(f"{base}/Condition", headers=bearer(token))
    assert denied.status_code == 403
    assert denied.json()["issue"][0]["code"] == "forbidden"
    # Read-only scopes cannot create.
    created = http.post(
        f"{base}/DocumentReference",
        headers={**bearer(token), "Content-Type": "application/fhir+json"},
        json={"resourceType": "DocumentReference"},
    )
    assert created.status_code == 403
    # A patient-scoped token sees only its patient's compartment.
    other = http.get(f"{base}/Observation/clinic-a1c-4", headers=bearer(token))
    assert other.status_code == 403
    named = http.get(f"{base}/Observation", params={"patient": "clinic-p2"}, headers=bearer(token))
    assert named.status_code == 403
    # Nothing clinical requested at all: invalid_scope back at the redirect URI.
    _verifier, challenge = pkce()
    params = redirect_params(
        authorize(http, tiny, scope="launch/patient openid", challenge=challenge)
    )
    assert params["error"] == "invalid_scope"


def test_v1_and_v2_scopes_both_work(tiny: SandboxServer, http: httpx.Client) -> None:
    v1 = login(http, tiny, scope="user/Observation.read")
    v2 = login(http, tiny, scope="user/Observation.rs")
    for token in (v1, v2):
        bundle = http.get(f"{tiny.base_url()}/Observation", headers=bearer(token)).json()
        assert bundle["total"] == 6
        assert "patient" not in token
    # .read covers search but not write; .rs likewise.
    assert http.get(f"{tiny.base_url()}/Patient", headers=bearer(v1)).status_code == 403


def test_confidential_clients(tiny: SandboxServer, http: httpx.Client) -> None:
    def code_for(client_id: str) -> str:
        response = authorize(http, tiny, client_id=client_id, scope="user/*.rs")
        return redirect_params(response)["code"]

    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}
    basic = http.post(
        tiny.token_url(),
        data={**form, "code": code_for("healthprep-confidential")},
        auth=("healthprep-confidential", "sandbox-secret-basic"),
    )
    assert basic.status_code == 200, basic.text
    wrong = http.post(
        tiny.token_url(),
        data={**form, "code": code_for("healthprep-confidential")},
        auth=("healthprep-confidential", "wrong-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")

    post = http.post(
        tiny.token_url(),
        data={
            **form,
            "code": code_for("healthprep-confidential-post"),
            "client_id": "healthprep-confidential-post",
            "client_secret": "sandbox-secret-post",
        },
    )
    assert post.status_code == 200, post.text
    wrong_post = http.post(
        tiny.token_url(),
        data={
            **form,
            "code": code_for("healthprep-confidential-post"),
            "client_id": "healthprep-confidential-post",
            "client_secret": "nope",
        },
    )
    assert wrong_post.status_code == 401 and wrong_post.json()["error"] == "invalid_client"
    # A confidential client cannot skip authentication, nor use another method than registered.
    no_auth = http.post(
        tiny.token_url(),
        data={
            **form,
            "code": code_for("healthprep-confidential"),
            "client_id": "healthprep-confidential",
        },
    )
    assert no_auth.status_code == 401
    method = http.post(
        tiny.token_url(),
        data={
            **form,
            "code": code_for("healthprep-confidential"),
            "client_id": "healthprep-confidential",
            "client_secret": "sandbox-secret-basic",
        },
    )
    assert method.status_code == 401


def test_bad_client_assertions(
    tiny: SandboxServer, http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    url = tiny.token_url()
    impostor = key_pair("ES384")
    impostor.kid = keys["ES384"].kid  # same kid, different key: the signature must fail
    cases = {
        "bad signature": backend_form(BACKEND, url, impostor, "system/*.rs"),
        "wrong audience": backend_form(
            BACKEND, url, keys["RS384"], "system/*.rs", aud="https://x/token"
        ),
        "expired": backend_form(BACKEND, url, keys["RS384"], "system/*.rs", exp=1_000_000),
        "too long": backend_form(BACKEND, url, keys["RS384"], "system/*.rs", exp=4_000_000_000),
        "sub differs": backend_form(BACKEND, url, keys["RS384"], "system/*.rs", sub="someone"),
    }
    for name, form in cases.items():
        response = http.post(url, data=form)
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name
    # A jti can be used once.
    form = backend_form(BACKEND, url, keys["ES384"], "system/*.rs")
    assert http.post(url, data=form).status_code == 200
    replay = http.post(url, data=form)
    assert replay.status_code == 401 and "jti" in replay.json()["error_description"]
    # HS256 (a shared-secret JWT) is not accepted.
    hs = jwt.encode(
        {"iss": BACKEND, "sub": BACKEND, "aud": url, "exp": 4_000_000_000, "jti": "x"}, "k" * 32
    )
    response = http.post(url, data={**form, "client_assertion": hs})
    assert response.json()["error"] == "invalid_client"
    # client_credentials needs system scopes.
    wrong_scope = http.post(url, data=backend_form(BACKEND, url, keys["RS384"], "patient/*.read"))
    assert wrong_scope.status_code == 400 and wrong_scope.json()["error"] == "invalid_scope"


def test_other_token_errors(tiny: SandboxServer, http: httpx.Client) -> None:
    url = tiny.token_url()
    unsupported = http.post(url, data={"grant_type": "password", "client_id": PUBLIC})
    assert (
        unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    )
    no_grant = http.post(url, data={"client_id": PUBLIC})
    assert no_grant.json()["error"] == "invalid_request"
    unknown = http.post(url, data={"grant_type": "authorization_code", "client_id": "who"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    not_form = http.post(url, json={"grant_type": "authorization_code"})
    assert not_form.json()["error"] == "invalid_request"
    public_cc = http.post(
        url, data={"grant_type": "client_credentials", "client_id": PUBLIC, "scope": "system/*.rs"}
    )
    assert public_cc.json()["error"] == "unauthorized_client"


def test_refresh_revocation(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    server = make_sandbox()
    token = login(http, server)
    assert server.revoke_refresh_tokens(client_id="someone-else") == 0
    assert server.revoke_refresh_tokens(client_id=PUBLIC) == 1
    response = http.post(
        server.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
        },
    )
    assert response.json()["error"] == "invalid_grant"
    # A refresh may narrow the scopes but never widen them.
    token = login(http, server)
    wider = http.post(
        server.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
            "scope": "user/*.rs",
        },
    )
    assert wider.json()["error"] == "invalid_scope"


def test_consent_page(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    server = make_sandbox(auto_approve=False)
    verifier, challenge = pkce()
    page = authorize(http, server, challenge=challenge)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "patient/*.read" in page.text
    txn = re.search(r'name=txn value="([^"]+)"', page.text)
    assert txn is not None
    form = {"txn": txn.group(1), "username": "demo", "password": "wrong", "decision": "approve"}
    retry = http.post(server.authorize_url(), data=form)
    assert retry.status_code == 401 and "Wrong user name or password" in retry.text
    txn2 = re.search(r'name=txn value="([^"]+)"', retry.text)
    assert txn2 is not None
    form = {**form, "txn": txn2.group(1), "password": "demo", "patient": "clinic-p3"}
    approved = http.post(server.authorize_url(), data=form)
    code = redirect_params(approved)["code"]
    token = redeem(http, server, code, verifier).json()
    assert token["patient"] == "clinic-p3"
    # Deny goes back with access_denied and the state.
    _verifier, challenge = pkce()
    page = authorize(http, server, challenge=challenge, state="s-deny")
    txn3 = re.search(r'name=txn value="([^"]+)"', page.text)
    assert txn3 is not None
    denied = http.post(server.authorize_url(), data={"txn": txn3.group(1), "decision": "deny"})
    assert redirect_params(denied) == {
        "error": "access_denied",
        "error_description": "the user declined",
        "state": "s-deny",
    }


def test_backend_client_with_jwks_url(keys: dict[str, KeyPair], http: httpx.Client) -> None:
    async def jwks(_request: Any) -> JSONResponse:
        return JSONResponse({"keys": [keys["RS384"].public_jwk]})

    with BackgroundServer(Starlette(routes=[Route("/jwks.json", jwks)])) as host:
        config = tiny_config(keys)
        config.orgs[0].clients.append(
            ClientRegistration(
                "url-backend", ClientAuth.PRIVATE_KEY_JWT, jwks_url=f"{host.url}/jwks.json"
            )
        )
        with SandboxServer(config) as server:
            form = backend_form(
                "url-backend", server.token_url(), keys["RS384"], "system/Patient.rs"
            )
            response = http.post(server.token_url(), data=form)
            assert response.status_code == 200, response.text
            token = response.json()
            assert (
                http.get(f"{server.base_url()}/Patient", headers=bearer(token)).status_code == 200
            )
            assert (
                http.get(f"{server.base_url()}/Observation", headers=bearer(token)).status_code
                == 403
            )
            # A key the URL does not publish is refused.
            other = backend_form("url-backend", server.token_url(), keys["ES384"], "system/*.rs")
            assert http.post(server.token_url(), data=other).status_code == 401


@pytest.mark.parametrize("aud", [None, "http://127.0.0.1:1/org/clinic/fhir"])
def test_authorize_needs_the_right_aud(
    tiny: SandboxServer, http: httpx.Client, aud: str | None
) -> None:
    _verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": PUBLIC,
        "redirect_uri": REDIRECT,
        "scope": PATIENT_SCOPE,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if aud is not None:
        params["aud"] = aud
    response = http.get(tiny.authorize_url(), params=params)
    assert redirect_params(response)["error"] == "invalid_request"


async def test_usable_from_asyncio_code(keys: dict[str, KeyPair]) -> None:
    async with SandboxServer(tiny_config(keys)) as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.base_url()}/metadata")
        assert response.status_code == 200
        assert response.json()["resourceType"] == "CapabilityStatement"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{server.base_url()}/metadata")  # stopped on exit
