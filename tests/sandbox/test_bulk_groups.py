"""Group resources in the sandbox: the whole panel and each clinician's panel, read, searched
and exported."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from bulk_support import auth, export, keys_of, resources, system_token
from sandbox_smart import BACKEND, KeyPair, SandboxFactory

from healthprep_desktop.sandbox import (
    ClientAuth,
    ClientRegistration,
    OrgConfig,
    SandboxConfig,
    SandboxServer,
    demo_clients,
)
from healthprep_desktop.sandbox.bulk import GROUP_SYSTEM
from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic


@pytest.fixture(scope="module")
def clinic(keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    """80 synthetic patients: two clinicians' panels."""
    jwks = {"keys": [k.public_jwk for k in keys.values()]}
    clients = [*demo_clients(), ClientRegistration(BACKEND, ClientAuth.PRIVATE_KEY_JWT, jwks=jwks)]
    source = SyntheticClinic(seed=5, patients=80)
    config = SandboxConfig(orgs=[OrgConfig("syn", clients=clients, source=source)])
    with SandboxServer(config) as server:
        server.config.bulk.retry_after = 0
        yield server


@pytest.fixture(scope="module")
def token(clinic: SandboxServer, keys: dict[str, KeyPair]) -> str:
    with httpx.Client(timeout=10.0) as http:
        return system_token(http, clinic, keys)


def _members(group: dict[str, object]) -> set[str]:
    members = group["member"]
    assert isinstance(members, list)
    return {m["entity"]["reference"] for m in members}


def test_the_whole_panel_holds_every_patient(
    http: httpx.Client, clinic: SandboxServer, token: str
) -> None:
    group = http.get(f"{clinic.base_url()}/Group/panel", headers=auth(token)).json()
    assert group["resourceType"] == "Group" and group["actual"] is True
    assert group["quantity"] == 80
    assert _members(group) == {f"Patient/{p}" for p in clinic.org().store.patient_ids()}


def test_each_clinician_panel_holds_the_patients_naming_them(
    http: httpx.Client, clinic: SandboxServer, token: str
) -> None:
    bundle = http.get(
        f"{clinic.base_url()}/Group", params={"name": "Panel of"}, headers=auth(token)
    ).json()
    groups = [e["resource"] for e in bundle["entry"]]
    assert len(groups) == 2
    seen: set[str] = set()
    for group in groups:
        practitioner = group["managingEntity"]["reference"]
        assert group["id"] == "panel-" + practitioner.split("/")[1]
        searched = http.get(
            f"{clinic.base_url()}/Patient",
            params={"general-practitioner": practitioner, "_count": "500"},
            headers=auth(token),
        ).json()
        assert _members(group) == {f"Patient/{e['resource']['id']}" for e in searched["entry"]}
        seen |= _members(group)
    assert len(seen) == 80  # every patient is in exactly one clinician's panel


def test_groups_are_searched_by_identifier_and_name(
    http: httpx.Client, clinic: SandboxServer, token: str
) -> None:
    base = clinic.base_url()

    def ids(**params: str) -> list[str]:
        bundle = http.get(f"{base}/Group", params=params, headers=auth(token)).json()
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    assert ids(identifier=f"{GROUP_SYSTEM}|panel") == ["panel"]
    assert ids(identifier="panel") == ["panel"]
    assert ids(identifier="https://elsewhere.invalid|panel") == []
    assert ids(name="whole") == ["panel"]
    assert len(ids()) == 3
    refused = http.get(f"{base}/Group", params={"member": "Patient/x"}, headers=auth(token))
    assert refused.status_code == 400


def test_an_unknown_group_is_404(http: httpx.Client, clinic: SandboxServer, token: str) -> None:
    response = http.get(f"{clinic.base_url()}/Group/panel-nobody", headers=auth(token))
    assert response.status_code == 404


def test_a_clinician_group_export_has_only_their_patients(
    http: httpx.Client, clinic: SandboxServer, token: str
) -> None:
    group = http.get(f"{clinic.base_url()}/Group/panel", headers=auth(token)).json()
    bundle = http.get(
        f"{clinic.base_url()}/Group", params={"name": "Panel of"}, headers=auth(token)
    ).json()
    first = bundle["entry"][0]["resource"]
    manifest = export(
        http, clinic, token, f"Group/{first['id']}/$export", {"_type": "Patient,Condition"}
    )
    found = resources(http, manifest, token)
    assert {k for k in keys_of(found) if k.startswith("Patient/")} == _members(first)
    assert all(
        c["subject"]["reference"] in _members(first)
        for c in found
        if c["resourceType"] == "Condition"
    )
    assert len(_members(first)) < len(_members(group))


def test_imported_data_without_clinicians_has_just_the_whole_panel(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair]
) -> None:
    tiny = make_sandbox()
    token = system_token(http, tiny, keys)
    bundle = http.get(f"{tiny.base_url()}/Group", headers=auth(token)).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["panel"]
