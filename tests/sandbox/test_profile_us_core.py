"""The us-core profile over real HTTP: only US Core's SHALL searches, capped pages, no
$everything, no batch, no _revinclude, and a CapabilityStatement that says exactly that."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from profiles_support import many_vitals, medication_order, profile_config
from sandbox_smart import USER_SCOPE, KeyPair, bearer, login, tiny_config

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.capability import COMBINATION, EXPECTATION, SEARCH_BEHAVIOUR

P1, P3 = "clinic-p1", "clinic-p3"


@pytest.fixture(scope="module")
def us_core(keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    config = tiny_config(keys)
    config.orgs[0].resources = many_vitals(P3, 130) + medication_order(P1)
    with SandboxServer(profile_config("us-core", config)) as server:
        yield server


@pytest.fixture(scope="module")
def auth(us_core: SandboxServer) -> dict[str, str]:
    with httpx.Client(timeout=10.0) as http:
        return bearer(login(http, us_core, scope=USER_SCOPE))


def get(
    http: httpx.Client, server: SandboxServer, auth: dict[str, str], path: str, **params: Any
) -> httpx.Response:
    return http.get(f"{server.base_url()}/{path}", params=params, headers=auth)


def diagnostics(response: httpx.Response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return str(body["issue"][0]["diagnostics"])


def test_observation_needs_a_category_or_code(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    refused = get(http, us_core, auth, "Observation", patient=P1)
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["code"] == "required"
    assert "patient+category" in diagnostics(refused)
    assert "patient+code" in diagnostics(refused)
    by_category = get(http, us_core, auth, "Observation", patient=P1, category="laboratory")
    assert by_category.status_code == 200
    assert by_category.json()["total"] == 4
    by_code = get(http, us_core, auth, "Observation", patient=P1, code="http://loinc.org|4548-4")
    assert by_code.json()["total"] == 3
    dated = get(
        http, us_core, auth, "Observation", patient=P1, category="laboratory", date="ge2021-06-01"
    )
    assert dated.json()["total"] == 3


def test_unsupported_parameter_is_refused_with_its_name(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    response = get(
        http, us_core, auth, "Observation", patient=P1, category="laboratory", status="final"
    )
    assert response.status_code == 400
    assert "does not support status" in diagnostics(response)
    assert get(http, us_core, auth, "Condition", patient=P1, _sort="date").status_code == 400


def test_medication_request_needs_intent_and_may_include_the_medication(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    assert get(http, us_core, auth, "MedicationRequest", patient=P1).status_code == 400
    found = get(
        http,
        us_core,
        auth,
        "MedicationRequest",
        patient=P1,
        intent="order",
        _include="MedicationRequest:medication",
    )
    assert found.status_code == 200
    kinds = sorted(e["resource"]["resourceType"] for e in found.json()["entry"])
    assert kinds == ["Medication", "MedicationRequest"]


def test_no_revinclude_no_everything_no_batch(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    revinclude = get(http, us_core, auth, "Patient", _id=P1, _revinclude="Observation:patient")
    assert revinclude.status_code == 400
    assert "_revinclude=Observation:patient" in diagnostics(revinclude)
    everything = get(http, us_core, auth, f"Patient/{P1}/$everything")
    assert everything.status_code == 404
    assert "$everything" in diagnostics(everything)
    batch = http.post(
        us_core.base_url(),
        json={
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": f"Patient/{P1}"}}],
        },
        headers=auth,
    )
    assert batch.status_code == 405
    assert "batch" in diagnostics(batch)


def test_types_outside_us_core_and_search_of_read_only_types(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    missing = get(http, us_core, auth, "MedicationStatement", patient=P1)
    assert missing.status_code == 404
    assert "does not offer MedicationStatement" in diagnostics(missing)
    assert get(http, us_core, auth, "Medication", code="860975").status_code == 405
    assert get(http, us_core, auth, "Medication/mr-1-med").status_code == 200
    assert get(http, us_core, auth, f"Patient/{P1}").status_code == 200


def test_count_is_capped_with_next_links(
    us_core: SandboxServer, auth: dict[str, str], http: httpx.Client
) -> None:
    first = get(http, us_core, auth, "Observation", patient=P3, category="vital-signs", _count=500)
    assert first.status_code == 200
    page = first.json()
    assert page["total"] == 130
    assert len(page["entry"]) == 100
    (next_url,) = [link["url"] for link in page["link"] if link["relation"] == "next"]
    second = http.get(next_url, headers=auth).json()
    assert len(second["entry"]) == 30
    assert not [link for link in second["link"] if link["relation"] == "next"]
    default = get(http, us_core, auth, "Observation", patient=P3, category="vital-signs")
    assert len(default.json()["entry"]) == 50


def test_capability_statement_states_the_rules(us_core: SandboxServer, http: httpx.Client) -> None:
    statement = http.get(f"{us_core.base_url()}/metadata").json()
    rest = statement["rest"][0]
    assert "interaction" not in rest  # no batch
    resources = {r["type"]: r for r in rest["resource"]}
    assert "MedicationStatement" not in resources
    assert "operation" not in resources["Patient"]
    observation = resources["Observation"]
    assert {p["name"] for p in observation["searchParam"]} == {
        "patient",
        "category",
        "code",
        "date",
        "_lastUpdated",
    }
    combos = [
        sorted(e["valueString"] for e in ext["extension"] if e["url"] == "required")
        for ext in observation["extension"]
        if ext["url"] == COMBINATION
    ]
    assert sorted(combos) == [
        ["category", "date", "patient"],
        ["category", "patient"],
        ["code", "patient"],
    ]
    for ext in observation["extension"]:
        assert {"url": EXPECTATION, "valueCode": "SHALL"} in ext["extension"]
    assert resources["MedicationRequest"]["searchInclude"] == ["MedicationRequest:medication"]
    assert all(r["searchRevInclude"] == [] for r in resources.values())
    assert resources["Medication"]["interaction"] == [{"code": "read"}, {"code": "vread"}]
    behaviour = {e["url"]: e for e in rest["extension"]}[SEARCH_BEHAVIOUR]["extension"]
    values = {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in behaviour}
    assert values == {
        "profile": "us-core",
        "defaultCount": 50,
        "maxCount": 100,
        "overMaxCount": "cap",
        "unsupportedParameter": "refuse",
    }
