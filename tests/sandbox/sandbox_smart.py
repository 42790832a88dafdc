"""Helpers for the sandbox tests: a tiny hand-made clinic, SMART logins and key pairs.

The tiny clinic has exactly known content, so search tests can assert exact results; the
Synthea import covers data this team did not write.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhir.resources.R4B import get_fhir_model_class

from healthprep_desktop.sandbox import (
    ClientAuth,
    ClientRegistration,
    OrgConfig,
    SandboxConfig,
    SandboxServer,
    demo_clients,
)

JSON = dict[str, Any]
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
PUBLIC = "healthprep-desktop"
BACKEND = "healthprep-backend"
REDIRECT = "http://127.0.0.1:53682/callback"
PATIENT_SCOPE = "launch/patient openid fhirUser offline_access patient/*.read"
USER_SCOPE = "openid fhirUser offline_access user/*.rs user/DocumentReference.cruds"
NOTE_TEXT = b"Colonoscopy 2021-03-04: normal. Repeat in 10 years."


def _obs(
    oid: str, patient: str, code: str, when: str, value: float, cat: str = "laboratory"
) -> JSON:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CAT, "code": cat}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "%"},
    }


class TinyClinic:
    """Three patients, one clinician, one location; a schedule on weekdays."""

    def __init__(self, tag: str = "t") -> None:
        self.tag = tag
        self.schedule_calls: list[date] = []

    def resources(self) -> list[JSON]:
        t = self.tag
        patients = [
            {
                "resourceType": "Patient",
                "id": f"{t}-p{n}",
                "identifier": [{"system": "urn:mrn", "value": f"{t.upper()}MRN{n}"}],
                "name": [{"family": family, "given": [given]}],
                "gender": gender,
                "birthDate": born,
            }
            for n, (family, given, gender, born) in enumerate(
                [
                    ("Alvarez", "Rosa", "female", "1960-04-02"),
                    ("Brown", "Sam", "male", "1975-09-30"),
                    ("Chen", "Lee", "female", "1990-01-15"),
                ],
                start=1,
            )
        ]
        binary_data = base64.b64encode(NOTE_TEXT).decode()
        return [
            *patients,
            {"resourceType": "Practitioner", "id": f"{t}-dr", "name": [{"family": "Osler"}]},
            {"resourceType": "Location", "id": f"{t}-loc", "name": "Suite 1", "status": "active"},
            _obs(f"{t}-a1c-1", f"{t}-p1", "4548-4", "2020-05-01T09:30:00-05:00", 6.1),
            _obs(f"{t}-a1c-2", f"{t}-p1", "4548-4", "2021-06-15", 6.8),
            _obs(f"{t}-a1c-3", f"{t}-p1", "4548-4", "2022-01-10T08:00:00Z", 7.2),
            _obs(f"{t}-ldl-1", f"{t}-p1", "18262-6", "2021-06-15", 130),
            _obs(f"{t}-a1c-4", f"{t}-p2", "4548-4", "2021-02-01", 5.4),
            _obs(f"{t}-bmi-1", f"{t}-p2", "39156-5", "2021-02-01", 31, cat="vital-signs"),
            {
                "resourceType": "Condition",
                "id": f"{t}-dm",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {
                    "coding": [
                        {"system": ICD10, "code": "E11.9"},
                        {"system": SNOMED, "code": "44054006"},
                    ]
                },
                "subject": {"reference": f"Patient/{t}-p1"},
                "onsetDateTime": "2019-03-01",
            },
            {
                "resourceType": "Encounter",
                "id": f"{t}-enc-1",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": f"Patient/{t}-p1"},
                "participant": [{"individual": {"reference": f"Practitioner/{t}-dr"}}],
                "period": {
                    "start": "2021-06-15T09:00:00-05:00",
                    "end": "2021-06-15T09:30:00-05:00",
                },
            },
            {
                "resourceType": "Binary",
                "id": f"{t}-bin-1",
                "contentType": "text/plain",
                "data": binary_data,
            },
            {
                "resourceType": "DocumentReference",
                "id": f"{t}-doc-1",
                "status": "current",
                "type": {"coding": [{"system": LOINC, "code": "11506-3"}]},
                "subject": {"reference": f"Patient/{t}-p1"},
                "date": "2021-03-04T12:00:00Z",
                "content": [
                    {"attachment": {"contentType": "text/plain", "url": f"Binary/{t}-bin-1"}}
                ],
            },
        ]

    def schedule(self, day: date) -> list[JSON]:
        self.schedule_calls.append(day)
        if day.weekday() >= 5:
            return []
        t = self.tag
        return [
            {
                "resourceType": "Appointment",
                "id": f"{t}-appt-{day:%Y%m%d}-{n}",
                "status": "booked",
                "start": f"{day.isoformat()}T{8 + n:02d}:00:00-05:00",
                "end": f"{day.isoformat()}T{8 + n:02d}:20:00-05:00",
                "participant": [
                    {"actor": {"reference": f"Patient/{t}-p{n}"}, "status": "accepted"},
                    {"actor": {"reference": f"Practitioner/{t}-dr"}, "status": "accepted"},
                    {"actor": {"reference": f"Location/{t}-loc"}, "status": "accepted"},
                ],
            }
            for n in (1, 2)
        ]


def tiny_config(keys: dict[str, KeyPair], *orgs: str, **options: Any) -> SandboxConfig:
    """Tiny-clinic organizations with the demo clients plus a backend client (both keys)."""
    jwks = {"keys": [k.public_jwk for k in keys.values()]}
    org_configs = []
    for org_id in orgs or ("clinic",):
        clients = demo_clients()
        clients.append(ClientRegistration(BACKEND, ClientAuth.PRIVATE_KEY_JWT, jwks=jwks))
        org_configs.append(
            OrgConfig(org_id, name=f"{org_id} clinic", clients=clients, source=TinyClinic(org_id))
        )
    return SandboxConfig(orgs=org_configs, **options)


SandboxFactory = Callable[..., SandboxServer]


# --- SMART -----------------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(
    http: httpx.Client,
    server: SandboxServer,
    *,
    org: str | None = None,
    client_id: str = PUBLIC,
    scope: str = PATIENT_SCOPE,
    redirect_uri: str = REDIRECT,
    challenge: str | None = None,
    state: str = "state-123",
    **extra: str,
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": server.base_url(org),
        **extra,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = "S256"
    return http.get(server.authorize_url(org), params=params, follow_redirects=False)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return dict(httpx.URL(response.headers["location"]).params)


def login(
    http: httpx.Client,
    server: SandboxServer,
    *,
    org: str | None = None,
    scope: str = PATIENT_SCOPE,
) -> JSON:
    """The public client's authorization code flow with PKCE; returns the token response."""
    verifier, challenge = pkce()
    code = redirect_params(authorize(http, server, org=org, scope=scope, challenge=challenge))[
        "code"
    ]
    response = http.post(
        server.token_url(org),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": PUBLIC,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    token: JSON = response.json()
    return token


def bearer(token: JSON) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


@dataclass
class KeyPair:
    alg: str
    kid: str
    private: Any
    public_jwk: JSON


def key_pair(alg: str) -> KeyPair:
    kid = f"test-{alg}-{uuid.uuid4().hex[:6]}"
    if alg == "RS384":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = ec.generate_private_key(ec.SECP384R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return KeyPair(alg, kid, private, {**jwk, "kid": kid, "alg": alg, "use": "sig"})


def assertion(client_id: str, token_url: str, key: KeyPair, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


def backend_form(client_id: str, token_url: str, key: KeyPair, scope: str, **claims: Any) -> JSON:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(client_id, token_url, key, **claims),
    }


# --- FHIR ------------------------------------------------------------------------------------


def validate(resource: JSON) -> None:
    """Parse with the fhir.resources R4B model of its type (raises when invalid)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def entries(bundle: JSON, mode: str | None = "match") -> list[JSON]:
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if mode is None or e.get("search", {}).get("mode") == mode
    ]


def ids(bundle: JSON, mode: str | None = "match") -> list[str]:
    return [r["id"] for r in entries(bundle, mode)]


def next_link(bundle: JSON) -> str | None:
    for link in bundle.get("link", []):
        if link["relation"] == "next":
            url: str = link["url"]
            return url
    return None
