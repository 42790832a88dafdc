"""epic-like, oracle-like and athena-like over real HTTP: required parameters, page sizes and
_count behaviour, unsupported parameters (ignored or refused), write-back rules."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from profiles_support import many_vitals, profile_config
from sandbox_smart import USER_SCOPE, KeyPair, bearer, login, tiny_config

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.capability import SEARCH_BEHAVIOUR
from healthprep_desktop.sandbox.profiles.athena_like import PRACTICE_PARAM, PRACTICE_VALUE

P1, P3 = "clinic-p1", "clinic-p3"
ENCOUNTER = "Encounter/clinic-enc-1"


@pytest.fixture(scope="module")
def servers(keys: dict[str, KeyPair]) -> Iterator[dict[str, tuple[SandboxServer, dict[str, str]]]]:
    started: dict[str, tuple[SandboxServer, dict[str, str]]] = {}
    with httpx.Client(timeout=10.0) as http:
        for name in ("epic-like", "oracle-like", "athena-like"):
            config = tiny_config(keys)
            config.orgs[0].resources = many_vitals(P3, 130)
            server = SandboxServer(profile_config(name, config)).start()
            started[name] = (server, bearer(login(http, server, scope=USER_SCOPE)))
    yield started
    for server, _ in started.values():
        server.stop()


class Api:
    def __init__(self, http: httpx.Client, server: SandboxServer, auth: dict[str, str]) -> None:
        self.http, self.server, self.auth = http, server, auth

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.server.base_url()}/{path}", params=params, headers=self.auth)

    def create(self, resource: dict[str, Any]) -> httpx.Response:
        url = f"{self.server.base_url()}/{resource['resourceType']}"
        return self.http.post(url, json=resource, headers=self.auth)


@pytest.fixture
def epic(servers: dict[str, Any], http: httpx.Client) -> Api:
    return Api(http, *servers["epic-like"])


@pytest.fixture
def oracle(servers: dict[str, Any], http: httpx.Client) -> Api:
    return Api(http, *servers["oracle-like"])


@pytest.fixture
def athena(servers: dict[str, Any], http: httpx.Client) -> Api:
    return Api(http, *servers["athena-like"])


def diagnostics(response: httpx.Response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return str(body["issue"][0]["diagnostics"])


def note(content_type: str = "text/plain", *, encounter: str | None = ENCOUNTER, n: int = 1) -> Any:
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{P1}"},
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "data": base64.b64encode(b"Prep sheet").decode(),
                }
            }
        ]
        * n,
    }
    if encounter is not None:
        document["context"] = {"encounter": [{"reference": encounter}]}
    return document


def links(bundle: dict[str, Any], relation: str) -> list[str]:
    return [link["url"] for link in bundle["link"] if link["relation"] == relation]


# --- epic-like -----------------------------------------------------------------------------


def test_epic_observation_needs_category_or_code(epic: Api) -> None:
    refused = epic.get("Observation", patient=P1)
    assert refused.status_code == 400
    assert "patient+category, patient+code" in diagnostics(refused)
    assert epic.get("Observation", patient=P1, category="laboratory").json()["total"] == 4
    assert epic.get("Observation", patient=P1, code="4548-4").json()["total"] == 3
    assert epic.get("Condition", patient=P1).json()["total"] == 1  # no category needed
    assert epic.get("Condition").status_code == 400  # the patient is


def test_epic_ignores_unsupported_parameters_and_says_so_in_the_self_link(epic: Api) -> None:
    response = epic.get("Observation", patient=P1, category="laboratory", foo="bar", _sort="date")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["total"] == 4
    (self_link,) = links(bundle, "self")
    assert "category=laboratory" in self_link
    assert "foo" not in self_link and "_sort" not in self_link
    outcomes = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    issue = outcomes[0]["resource"]["issue"][0]
    assert issue["severity"] == "warning" and "foo, _sort" in issue["diagnostics"]
    assert sum(e["search"]["mode"] == "match" for e in bundle["entry"]) == 4


def test_epic_default_page_and_cap(epic: Api) -> None:
    default = epic.get("Observation", patient=P3, category="vital-signs").json()
    assert (default["total"], len(default["entry"])) == (130, 100)
    assert links(default, "next")
    everything_at_once = epic.get("Observation", patient=P3, category="vital-signs", _count=5000)
    assert len(everything_at_once.json()["entry"]) == 130  # capped at 1000, silently


def test_epic_has_no_everything_batch_or_includes(epic: Api) -> None:
    assert epic.get(f"Patient/{P1}/$everything").status_code == 404
    included = epic.get("Observation", patient=P1, code="4548-4", _include="Observation:patient")
    assert included.status_code == 200
    kinds = {e["resource"]["resourceType"]: e["search"]["mode"] for e in included.json()["entry"]}
    # the _include was ignored, not honoured, and the warning says so
    assert kinds == {"Observation": "match", "OperationOutcome": "outcome"}


def test_epic_write_back_is_text_plain_with_an_encounter(epic: Api) -> None:
    created = epic.create(note())
    assert created.status_code == 201, created.text
    assert "/DocumentReference/" in created.headers["location"]
    pdf = epic.create(note("application/pdf"))
    assert pdf.status_code == 422
    assert "text/plain" in diagnostics(pdf)
    no_visit = epic.create(note(encounter=None))
    assert no_visit.status_code == 422
    assert "context.encounter" in diagnostics(no_visit)
    unknown_visit = epic.create(note(encounter="Encounter/nope"))
    assert unknown_visit.status_code == 422
    two = epic.create(note(n=2))
    assert two.status_code == 422
    assert "one attachment" in diagnostics(two)


# --- oracle-like ---------------------------------------------------------------------------


def test_oracle_requires_the_patient_and_refuses_unknown_parameters(oracle: Api) -> None:
    assert oracle.get("Observation", patient=P1).json()["total"] == 4  # no category needed
    missing = oracle.get("Observation", category="laboratory")
    assert missing.status_code == 400
    assert "patient" in diagnostics(missing)
    unknown = oracle.get("Observation", patient=P1, foo="bar")
    assert unknown.status_code == 400
    assert "does not support foo" in diagnostics(unknown)


def test_oracle_refuses_a_count_over_its_maximum(oracle: Api) -> None:
    too_many = oracle.get("Observation", patient=P3, _count=500)
    assert too_many.status_code == 400
    assert "at most 200" in diagnostics(too_many)
    at_cap = oracle.get("Observation", patient=P3, _count=200).json()
    assert len(at_cap["entry"]) == 130
    default = oracle.get("Observation", patient=P3).json()
    assert len(default["entry"]) == 50 and links(default, "next")


def test_oracle_creates_xhtml_documents_but_does_not_update_them(oracle: Api) -> None:
    xhtml = "application/xhtml+xml"
    created = oracle.create(note(xhtml))
    assert created.status_code == 201, created.text
    document_id = created.headers["location"].split("/DocumentReference/")[1].split("/")[0]
    update = {**note(xhtml), "id": document_id}
    url = f"{oracle.server.base_url()}/DocumentReference/{document_id}"
    refused = oracle.http.put(url, json=update, headers=oracle.auth)
    assert refused.status_code == 405
    assert "does not update" in diagnostics(refused)
    assert oracle.create(note(xhtml, encounter=None)).status_code == 422
    pdf = oracle.create(note("application/pdf"))
    assert pdf.status_code in (400, 422) and xhtml in diagnostics(pdf)


# --- athena-like ---------------------------------------------------------------------------


def test_athena_needs_the_practice_when_no_patient_is_named(athena: Api) -> None:
    missing = athena.get("Patient", name="Alvarez")
    assert missing.status_code == 400
    assert PRACTICE_PARAM in diagnostics(missing) and PRACTICE_VALUE in diagnostics(missing)
    wrong = athena.get("Patient", name="Alvarez", **{PRACTICE_PARAM: "Organization/a-1.Practice-1"})
    assert wrong.status_code == 400
    found = athena.get("Patient", name="Alvarez", **{PRACTICE_PARAM: PRACTICE_VALUE})
    assert found.json()["total"] == 1
    assert athena.get("Condition", patient=P1).json()["total"] == 1  # the patient suffices


def test_athena_pages_small_and_ignores_unknown_parameters(athena: Api) -> None:
    page = athena.get("Observation", patient=P3, category="vital-signs", foo="bar").json()
    matches = [e for e in page["entry"] if e["search"]["mode"] == "match"]
    assert (page["total"], len(matches)) == (130, 20)
    assert page["entry"][-1]["resource"]["resourceType"] == "OperationOutcome"
    capped = athena.get("Observation", patient=P3, category="vital-signs", _count=1000).json()
    assert len(capped["entry"]) == 100
    (next_url,) = links(capped, "next")
    rest = athena.http.get(next_url, headers=athena.auth).json()
    assert len(rest["entry"]) == 30


def test_athena_write_back_takes_a_pdf_without_an_encounter(athena: Api) -> None:
    assert athena.create(note("application/pdf", encounter=None)).status_code == 201
    assert athena.create(note("application/pdf", n=2)).status_code == 422


def test_athena_statement_says_what_a_search_without_a_patient_needs(athena: Api) -> None:
    statement = athena.http.get(f"{athena.server.base_url()}/metadata").json()
    rest = statement["rest"][0]
    behaviour = {e["url"]: e for e in rest["extension"]}[SEARCH_BEHAVIOUR]["extension"]
    needs = {e["url"]: e.get("valueString") for e in behaviour}["searchWithoutPatientNeeds"]
    assert needs == f"{PRACTICE_PARAM}={PRACTICE_VALUE}"
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert PRACTICE_PARAM in {p["name"] for p in patient["searchParam"]}
    assert PRACTICE_PARAM in rest["documentation"]


def test_epic_gives_a_public_client_no_refresh_token_where_oracle_does(
    servers: dict[str, Any], http: httpx.Client
) -> None:
    server, _ = servers["epic-like"]
    assert "refresh_token" not in login(http, server, scope=USER_SCOPE)  # offline_access asked
    oracle, _ = servers["oracle-like"]
    assert "refresh_token" in login(http, oracle, scope=USER_SCOPE)
