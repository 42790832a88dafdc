"""Over real HTTP: the sandbox serves the hospital's copies; search and match find the patient."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from healthprep_desktop.sandbox import (
    ClientAuth,
    ClientRegistration,
    OrgConfig,
    SandboxConfig,
    SandboxServer,
)
from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.shared_patients import (
    HOSPITAL_ID,
    SharedOrganizationSource,
    shared_patients,
)
from healthprep_desktop.sources.matching import match_patient, search_parameters
from healthprep_desktop.sources.model import Demographics, Outcome
from healthprep_desktop.sources.normalise import demographics
from tests.sandbox.sandbox_smart import KeyPair, backend_form, key_pair

BACKEND = "matching-backend"


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return key_pair("ES384")


@pytest.fixture(scope="module")
def hospital_server(key: KeyPair) -> Iterator[tuple[SandboxServer, SyntheticClinic]]:
    clinic = SyntheticClinic(seed=1, patients=120)
    shared = shared_patients(clinic)
    hospital = next(o for o in shared.organizations if o.source_id == HOSPITAL_ID)
    client = ClientRegistration(
        BACKEND, ClientAuth.PRIVATE_KEY_JWT, jwks={"keys": [key.public_jwk]}
    )
    config = SandboxConfig(
        orgs=[
            OrgConfig(
                HOSPITAL_ID,
                name=hospital.name,
                clients=[client],
                source=SharedOrganizationSource(hospital),
            )
        ]
    )
    with SandboxServer(config) as server:
        yield server, clinic


def _search(
    http: httpx.Client, server: SandboxServer, token: str, local: Demographics
) -> list[Demographics]:
    found: dict[str, Demographics] = {}
    for params in search_parameters(local):
        response = http.get(
            f"{server.base_url()}/Patient",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        )
        response.raise_for_status()
        for entry in response.json().get("entry", []):
            resource = entry["resource"]
            found[resource["id"]] = demographics(resource)
    return list(found.values())


def test_hospital_copies_found_over_http_and_auto_linked(
    hospital_server: tuple[SandboxServer, SyntheticClinic], key: KeyPair
) -> None:
    server, clinic = hospital_server
    shared = shared_patients(clinic)
    truth = {p.clinic_id: p.remote_id for p in shared.truth if p.source_id == HOSPITAL_ID}
    with httpx.Client(timeout=10.0) as http:
        form = backend_form(BACKEND, server.token_url(), key, "system/Patient.rs")
        token = http.post(server.token_url(), data=form).raise_for_status().json()["access_token"]
        linked = wrong = 0
        for patient in shared.clinic_patients[:40]:
            local = demographics(patient)
            found = match_patient(local, _search(http, server, token, local), HOSPITAL_ID)
            for candidate in found:
                if candidate.outcome == Outcome.AUTO_LINK:
                    if truth.get(local.patient_id) == candidate.remote_id:
                        linked += 1
                    else:
                        wrong += 1
    expected = sum(1 for p in shared.clinic_patients[:40] if p["id"] in truth)
    assert wrong == 0
    assert linked >= 0.85 * expected > 0


def test_phone_search_finds_the_number_however_it_is_written(
    hospital_server: tuple[SandboxServer, SyntheticClinic], key: KeyPair
) -> None:
    server, clinic = hospital_server
    hospital = next(o for o in shared_patients(clinic).organizations if o.source_id == HOSPITAL_ID)
    written = next(
        (p, t["value"])
        for p in hospital.patients
        for t in p.get("telecom", [])
        if t.get("system") == "phone" and not t["value"].isdigit()
    )
    digits = "".join(c for c in written[1] if c.isdigit())[-10:]
    with httpx.Client(timeout=10.0) as http:
        form = backend_form(BACKEND, server.token_url(), key, "system/Patient.rs")
        token = http.post(server.token_url(), data=form).raise_for_status().json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        found = http.get(f"{server.base_url()}/Patient", params={"phone": digits}, headers=headers)
        none = http.get(
            f"{server.base_url()}/Patient", params={"phone": "0000000000"}, headers=headers
        )
    ids = {e["resource"]["id"] for e in found.raise_for_status().json().get("entry", [])}
    assert written[0]["id"] in ids
    assert none.json().get("entry", []) == []
