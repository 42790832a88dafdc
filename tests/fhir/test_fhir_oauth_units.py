"""OAuth pieces: backend-services keys and assertions, client authentication, authorize URL."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.oauth import (
    ASSERTION_TYPE,
    ClientAuth,
    authorize_url,
    client_assertion,
    generate_backend_key,
    jwk_thumbprint,
)
from healthprep_desktop.fhir.pkce import Pkce

TOKEN_URL = "https://ehr.example.org/oauth2/token"


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_assertion_verifies_with_the_exported_jwks(algorithm: str) -> None:
    key = generate_backend_key(algorithm)
    jwks = key.jwks()
    public = jwt.PyJWKSet.from_dict(jwks).keys[0]
    assert public.key_id == key.kid == jwk_thumbprint(jwks["keys"][0])
    assert "d" not in jwks["keys"][0]  # no private part in the export
    token = client_assertion(key, "my-client", TOKEN_URL)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm and header["kid"] == key.kid
    claims = jwt.decode(token, public.key, algorithms=[algorithm], audience=TOKEN_URL)
    assert claims["iss"] == claims["sub"] == "my-client"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert client_assertion(key, "my-client", TOKEN_URL) != token  # fresh jti each time
    other = generate_backend_key(algorithm)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            jwt.PyJWKSet.from_dict(other.jwks()).keys[0].key,
            algorithms=[algorithm],
            audience=TOKEN_URL,
        )


def test_unsupported_algorithm() -> None:
    with pytest.raises(ValueError):
        generate_backend_key("HS256")


def test_client_authentication_methods() -> None:
    data: dict[str, str] = {}
    headers: dict[str, str] = {}
    ClientAuth("id:1", AuthMethod.SMART_CONFIDENTIAL_BASIC, client_secret="s&cret").apply(
        TOKEN_URL, data, headers
    )
    decoded = base64.b64decode(headers["Authorization"].split()[1]).decode()
    assert decoded == "id%3A1:s%26cret" and "client_secret" not in data
    data, headers = {}, {}
    ClientAuth("c", AuthMethod.SMART_CONFIDENTIAL_POST, client_secret="s").apply(
        TOKEN_URL, data, headers
    )
    assert data == {"client_id": "c", "client_secret": "s"} and not headers
    data = {}
    ClientAuth("c", AuthMethod.SMART_PUBLIC_PKCE).apply(TOKEN_URL, data, {})
    assert data == {"client_id": "c"}
    data = {}
    key = generate_backend_key("ES384")
    ClientAuth("c", AuthMethod.SMART_BACKEND_SERVICES, key=key).apply(TOKEN_URL, data, {})
    assert (
        data["client_assertion_type"] == ASSERTION_TYPE and data["client_assertion"].count(".") == 2
    )
    auth = ClientAuth("c", AuthMethod.SMART_CONFIDENTIAL_POST, client_secret="hidden")
    assert "hidden" not in repr(auth)


def test_authorize_url_carries_pkce_state_and_aud() -> None:
    pkce = Pkce.new()
    url = authorize_url(
        "https://ehr.example.org/oauth2/authorize?tenant=1",
        client_id="c",
        redirect_uri="http://127.0.0.1:5000/callback",
        scopes=("openid", "fhirUser", "user/Patient.read"),
        state="st",
        aud="https://ehr.example.org/R4",
        pkce=pkce,
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["tenant"] == "1" and query["response_type"] == "code"
    assert query["scope"] == "openid fhirUser user/Patient.read"
    assert query["code_challenge"] == pkce.challenge and query["code_challenge_method"] == "S256"
    assert query["aud"] == "https://ehr.example.org/R4" and query["state"] == "st"
    assert pkce.verifier not in url
