"""Every profile: its CapabilityStatement is a promise the server keeps (each stated
combination searches fine, anything less is refused), its token lifetime is what it says, and
under load it answers 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from profiles_support import PROFILES, profile_config
from sandbox_smart import USER_SCOPE, KeyPair, bearer, login, tiny_config

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.capability import COMBINATION
from healthprep_desktop.sandbox.profiles import UnknownProfile, profile_named
from healthprep_desktop.sandbox.search_params import params_for

# A plausible value for every parameter a profile can require.
VALUES = {
    "_id": "clinic-p1",
    "_lastUpdated": "ge2000-01-01",
    "patient": "clinic-p1",
    "subject": "Patient/clinic-p1",
    "category": "laboratory",
    "code": "http://loinc.org|4548-4",
    "date": "ge2000-01-01",
    "intent": "order",
    "status": "final",
    "name": "Alvarez",
    "family": "Alvarez",
    "given": "Rosa",
    "birthdate": "1960-04-02",
    "gender": "female",
    "identifier": "urn:mrn|CLINICMRN1",
    "type": "http://loinc.org|11506-3",
    "encounter": "Encounter/clinic-enc-1",
    "practitioner": "Practitioner/clinic-dr",
    "location": "Location/clinic-loc",
    "authored": "ge2000-01-01",
}


@pytest.fixture(scope="module", params=PROFILES)
def server(request: pytest.FixtureRequest, keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    with SandboxServer(profile_config(request.param, tiny_config(keys))) as running:
        yield running


def _combinations(resource: dict[str, object]) -> list[list[str]]:
    found = []
    for ext in resource.get("extension", []):  # type: ignore[attr-defined]
        if ext["url"] == COMBINATION:
            found.append([e["valueString"] for e in ext["extension"] if e["url"] == "required"])
    return found


def test_every_stated_combination_is_served(server: SandboxServer, http: httpx.Client) -> None:
    profile = profile_named(server.config.profile)
    auth = bearer(login(http, server, scope=USER_SCOPE))
    statement = http.get(f"{server.base_url()}/metadata").json()
    checked = 0
    for resource in statement["rest"][0]["resource"]:
        if {"code": "search-type"} not in resource["interaction"]:
            continue
        rtype = resource["type"]
        combos = _combinations(resource)
        if profile.is_generic:
            assert combos == []
            continue
        assert combos, f"{rtype}: a restricted profile states its combinations"
        stated = {p["name"] for p in resource["searchParam"]}
        for combo in combos:
            assert set(combo) <= stated
            params = {name: VALUES[name] for name in combo}
            if profile.practice_param and not {"patient", "subject"} & set(combo):
                params[profile.practice_param] = str(profile.practice_value)
            response = http.get(f"{server.base_url()}/{rtype}", params=params, headers=auth)
            assert response.status_code == 200, (rtype, combo, response.text)
            checked += 1
        # A search with none of the required parameters is refused with a reason.
        refused = http.get(f"{server.base_url()}/{rtype}", headers=auth)
        assert refused.status_code == 400, (rtype, refused.text)
        assert "combinations" in refused.json()["issue"][0]["diagnostics"]
    assert profile.is_generic or checked >= 20


def test_generic_keeps_everything_and_batch(http: httpx.Client, keys: dict[str, KeyPair]) -> None:
    with SandboxServer(profile_config("generic", tiny_config(keys))) as server:
        rest = http.get(f"{server.base_url()}/metadata").json()["rest"][0]
        assert rest["interaction"] == [{"code": "batch"}]
        patient = next(r for r in rest["resource"] if r["type"] == "Patient")
        assert patient["operation"][0]["name"] == "everything"
        auth = bearer(login(http, server, scope=USER_SCOPE))
        observations = http.get(
            f"{server.base_url()}/Observation", params={"patient": "clinic-p1"}, headers=auth
        )
        assert observations.json()["total"] == 4  # no category needed


@pytest.mark.parametrize(
    ("name", "lifetime"),
    [("generic", 3600), ("epic-like", 3600), ("oracle-like", 600), ("athena-like", 3600)],
)
def test_token_lifetime_follows_the_profile(
    name: str, lifetime: int, http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    with SandboxServer(profile_config(name, tiny_config(keys))) as server:
        assert login(http, server, scope=USER_SCOPE)["expires_in"] == lifetime


@pytest.mark.parametrize("name", [p for p in PROFILES if profile_named(p).rate_limit])
def test_rate_limit_answers_429_with_retry_after(
    name: str, http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    profile = profile_named(name)
    assert profile.rate_limit is not None
    config = profile_config(name, tiny_config(keys), rate_limit=True)
    assert config.faults.rate_limit == profile.rate_limit.requests_per_second
    with SandboxServer(config) as server:
        auth = bearer(login(http, server, scope=USER_SCOPE))
        url = f"{server.base_url()}/Patient/clinic-p1"
        statuses = []
        throttled: httpx.Response | None = None
        for _ in range(int(profile.rate_limit.burst or 1) + 15):
            response = http.get(url, headers=auth)
            statuses.append(response.status_code)
            if response.status_code == 429 and throttled is None:
                throttled = response
        assert statuses[0] == 200
        assert throttled is not None, statuses
        assert int(throttled.headers["retry-after"]) >= 1
        assert throttled.json()["issue"][0]["code"] == "throttled"


def test_429_without_retry_after_when_configured(
    http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    config = profile_config("generic", tiny_config(keys))
    config.faults.rate_limit, config.faults.rate_burst = 1.0, 1
    config.faults.retry_after_header = False
    with SandboxServer(config) as server:
        auth = bearer(login(http, server, scope=USER_SCOPE))
        url = f"{server.base_url()}/Patient/clinic-p1"
        responses = [http.get(url, headers=auth) for _ in range(3)]
        limited = [r for r in responses if r.status_code == 429]
        assert limited
        assert all("retry-after" not in r.headers for r in limited)


def test_every_parameter_a_profile_names_is_one_the_sandbox_can_search() -> None:
    """A profile must not state a parameter the store would silently ignore."""
    for name in PROFILES:
        profile = profile_named(name)
        for rtype, rules in (profile.types or {}).items():
            for param in rules.params or ():
                known = param in params_for(rtype) or param in ("_id", "_lastUpdated")
                assert known or param == profile.practice_param, (name, rtype, param)


def test_an_unknown_profile_fails_when_the_server_is_built(keys: dict[str, KeyPair]) -> None:
    config = tiny_config(keys)
    config.profile = "meditech-like"
    with pytest.raises(UnknownProfile, match="choose one of: generic, us-core"):
        SandboxServer(config)
