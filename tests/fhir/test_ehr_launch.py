"""SMART EHR launch (fhir/ehr_launch.py) against the embedded sandbox over real HTTP.

The sandbox plays the EHR: ``POST /org/{org}/launch`` issues ``healthprep://launch?iss&launch``
for a patient. This test is the browser: it follows the loopback start page to the sandbox's
authorize endpoint and on to the app's loopback redirect.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
from fhir_support import LoopbackServer
from token_support import add_connection, open_stored, small_sandbox

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.ehr_launch import (
    LaunchError,
    LaunchRequest,
    UnknownIssuer,
    complete_ehr_launch,
    find_launch_connection,
    launch_scopes,
    parse_launch_url,
    same_fhir_base,
)
from healthprep_desktop.fhir.errors import OAuthError
from healthprep_desktop.fhir.status import MemoryAudit
from healthprep_desktop.fhir.store_adapters import StoreTokenStore
from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.store import Store


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with small_sandbox() as sb:
        yield sb


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


def issue_launch(sandbox: SandboxServer, patient: str, encounter: str | None = None) -> str:
    root = sandbox.base_url().rsplit("/org/", 1)[0]
    form = {"patient": patient, **({"encounter": encounter} if encounter else {})}
    response = httpx.post(f"{root}/org/clinic/launch", data=form, timeout=10)
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


async def browser(url: str) -> None:
    """Follows the start page -> authorize -> loopback callback, as a browser would. urllib,
    not httpx: this browser's own debug logging must not be mistaken for the app's."""

    def follow() -> None:
        try:
            with urllib.request.urlopen(url, timeout=10):
                pass
        except urllib.error.HTTPError as refused:  # the app's page for a refused sign-in
            refused.close()

    assert url.startswith("http://127.0.0.1:")
    await asyncio.to_thread(follow)


# --- the launch address and the issuer check ---------------------------------------------------


def test_parse_launch_url_reads_iss_and_launch_and_hides_the_handle() -> None:
    request = parse_launch_url(
        "healthprep://launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir%2FR4&launch=abc123"
    )
    assert request.iss == "https://ehr.example.org/fhir/R4"
    assert request.launch == "abc123"
    assert "abc123" not in repr(request)


@pytest.mark.parametrize(
    "url",
    [
        "https://launch?iss=https://ehr.example.org/fhir&launch=x",  # not our scheme
        "healthprep://other?iss=https://ehr.example.org/fhir&launch=x",
        "healthprep://launch?iss=https://ehr.example.org/fhir",  # no launch
        "healthprep://launch?launch=x",  # no iss
        "healthprep://launch?iss=https://a.org/fhir&iss=https://b.org/fhir&launch=x",
        "healthprep://launch?iss=http://ehr.example.org/fhir&launch=x",  # remote plain http
    ],
)
def test_bad_launch_addresses_get_one_sentence(url: str) -> None:
    with pytest.raises(LaunchError) as caught:
        parse_launch_url(url)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message
    assert "launch=x" not in message


@pytest.mark.parametrize(
    ("iss", "base", "same"),
    [
        ("https://EHR.example.org:443/fhir/R4/", "https://ehr.example.org/fhir/R4", True),
        ("https://ehr.example.org/fhir/R4", "https://ehr.example.org/fhir/R4", True),
        ("https://ehr.example.org/fhir/R4-evil", "https://ehr.example.org/fhir/R4", False),
        ("https://ehr.example.org/fhir/R4/admin", "https://ehr.example.org/fhir/R4", False),
        ("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/R4", False),
        ("https://ehr.example.org.evil.com/fhir/R4", "https://ehr.example.org/fhir/R4", False),
        ("https://ehr.example.org:8443/fhir/R4", "https://ehr.example.org/fhir/R4", False),
        ("http://ehr.example.org/fhir/R4", "https://ehr.example.org/fhir/R4", False),
    ],
)
def test_same_fhir_base_compares_whole_normalised_bases(iss: str, base: str, same: bool) -> None:
    assert same_fhir_base(iss, base) is same


def test_unknown_issuer_is_refused_with_one_sentence() -> None:
    configs = [
        (1, ConnectionConfig(name="Epic", base_url="https://epic.example.org/api/FHIR/R4")),
        (2, ConnectionConfig(name="Off", base_url="https://ehr.example.org/fhir", enabled=False)),
    ]
    with pytest.raises(UnknownIssuer) as caught:
        find_launch_connection("https://ehr.example.org/fhir", configs)
    assert "not the FHIR address of any connection" in str(caught.value)
    assert "nothing was sent" in str(caught.value)
    found = find_launch_connection("https://EPIC.example.org/api/FHIR/R4/", configs)
    assert found.key == 1


def test_a_backend_services_connection_cannot_take_a_launch() -> None:
    config = ConnectionConfig(
        name="Backend",
        base_url="https://ehr.example.org/fhir",
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
    )
    with pytest.raises(LaunchError, match="cannot take an EHR launch"):
        find_launch_connection("https://ehr.example.org/fhir", [("k", config)])


def test_launch_scopes_ask_for_launch_not_standalone_context() -> None:
    scopes = launch_scopes(("launch/patient", "openid", "fhirUser", "user/*.read"))
    assert scopes == ("launch", "openid", "fhirUser", "user/*.read")
    assert "launch" in launch_scopes(())
    assert any(s.startswith("user/") for s in launch_scopes(()))


# --- the flow over HTTP --------------------------------------------------------------------------


async def test_ehr_launch_signs_in_for_the_launched_patient_and_binds_tokens(
    sandbox: SandboxServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    patient = sandbox.org().store.patient_ids()[1]  # not the sandbox's default patient
    url = issue_launch(sandbox, patient)
    request = parse_launch_url(url)
    tenant, connection_id = add_connection(store, sandbox.base_url())
    audit = MemoryAudit()
    conn = open_stored(store, tenant, connection_id)
    try:
        context = await complete_ehr_launch(
            conn, request, open_url=browser, time_limit=10, audit=audit
        )
        assert context.patient == patient
        assert context.encounter is None
        # The connection is signed in with the launch's tokens, bound to its FHIR base.
        assert conn.status.is_connected
        read = await conn.client.read("Patient", patient)
        assert read["id"] == patient
    finally:
        await conn.aclose()
    saved = StoreTokenStore(store).load(tenant, "Sandbox")
    assert saved is not None and saved.patient == patient
    assert saved.granted_for(sandbox.base_url())
    assert "launch" in saved.scope.split()
    launch_events = [e for e in audit.events if e.action == "ehr_launch"]
    assert [e.patient_id for e in launch_events] == [patient]
    # Neither the launch handle nor a token reaches the log.
    assert request.launch not in caplog.text
    assert context.tokens.access_token not in caplog.text


async def test_launch_context_carries_the_encounter(sandbox: SandboxServer, store: Store) -> None:
    org = sandbox.org()
    encounter = org.store.all_of("Encounter")[0].json()
    patient = encounter["subject"]["reference"].split("/")[-1]
    request = parse_launch_url(issue_launch(sandbox, patient, encounter["id"]))
    tenant, connection_id = add_connection(store, sandbox.base_url())
    conn = open_stored(store, tenant, connection_id)
    try:
        context = await complete_ehr_launch(conn, request, open_url=browser, time_limit=10)
    finally:
        await conn.aclose()
    assert (context.patient, context.encounter) == (patient, encounter["id"])


async def test_a_launch_handle_works_once(sandbox: SandboxServer, store: Store) -> None:
    request = parse_launch_url(issue_launch(sandbox, sandbox.org().store.patient_ids()[0]))
    tenant, connection_id = add_connection(store, sandbox.base_url())
    conn = open_stored(store, tenant, connection_id)
    try:
        await complete_ehr_launch(conn, request, open_url=browser, time_limit=10)
        with pytest.raises(OAuthError, match="launch is unknown, expired or already used"):
            await complete_ehr_launch(conn, request, open_url=browser, time_limit=10)
    finally:
        await conn.aclose()


async def test_a_launch_for_another_server_sends_nothing(
    sandbox: SandboxServer, store: Store, server: LoopbackServer
) -> None:
    # The connection points at the sandbox; the launch names the capture server.
    tenant, connection_id = add_connection(store, sandbox.base_url())
    conn = open_stored(store, tenant, connection_id)
    request = LaunchRequest(iss=server.url, launch="handle")
    try:
        with pytest.raises(UnknownIssuer):
            await complete_ehr_launch(conn, request, open_url=browser, time_limit=5)
    finally:
        await conn.aclose()
    assert server.seen == []


# --- the sandbox's side ----------------------------------------------------------------------


def _authorize(sandbox: SandboxServer, launch: str, scope: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "healthprep-desktop",
        "redirect_uri": "http://127.0.0.1:53682/callback",
        "scope": scope,
        "state": "s-1",
        "aud": sandbox.base_url(),
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
        "launch": launch,
    }
    response = httpx.get(sandbox.authorize_url(), params=params, timeout=10)
    assert response.status_code == 302, response.text
    return dict(httpx.URL(response.headers["location"]).params)


def test_sandbox_needs_the_launch_scope_with_a_launch(sandbox: SandboxServer) -> None:
    handle = parse_launch_url(issue_launch(sandbox, sandbox.org().store.patient_ids()[0])).launch
    refused = _authorize(sandbox, handle, "openid user/*.read")
    assert refused["error"] == "invalid_scope"
    assert _authorize(sandbox, "made-up", "launch user/*.read")["error"] == "invalid_request"
    # The handle was not spent by the refused request.
    assert "code" in _authorize(sandbox, handle, "launch user/*.read")


def test_sandbox_issues_launches_only_for_its_patients(sandbox: SandboxServer) -> None:
    root = sandbox.base_url().rsplit("/org/", 1)[0]
    for form in (
        {"patient": "nobody"},
        {},
        {"patient": sandbox.org().store.patient_ids()[0], "encounter": "no-such-encounter"},
    ):
        response = httpx.post(f"{root}/org/clinic/launch", data=form, timeout=10)
        assert response.status_code == 400
    assert httpx.post(f"{root}/org/elsewhere/launch", data={"patient": "x"}).status_code == 404
