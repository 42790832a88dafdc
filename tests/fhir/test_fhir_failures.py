"""Every failure of discovery, capability, schedule or patient listing is a typed FhirError with
one sentence naming the cause and the fix (issue 13), over real loopback HTTP: a web page
instead of FHIR, a 403 per type, a 500, a refused port, a server that never answers, DNS."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RateLimitConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.diagnose import check_connection
from healthprep_desktop.fhir.discovery import discover, fetch_capabilities
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.preflight import missing_types, preflight, scope_reads
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore, TokenSet

OPEN = RateLimitConfig(requests_per_second=0, max_concurrency=8)
WEB_PAGE = (
    200,
    {"Content-Type": "text/html; charset=utf-8"},
    b"<!DOCTYPE html><html><body>Sign in to MyClinic</body></html>",
)
WEB_PAGE_SENTENCE = (
    "answers with a web page, not a FHIR API: check that the URL is the FHIR base, often "
    "ending in /fhir or /R4"
)


def metadata() -> dict[str, object]:
    return {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}


def bundle(*resources: dict[str, object]) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def forbidden(seen: Seen) -> tuple[int, dict[str, str], object]:
    return 403, {}, {"resourceType": "OperationOutcome", "issue": [{"code": "forbidden"}]}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never answers (a hung EHR or a stuck proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


async def test_a_web_page_instead_of_metadata_says_so(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: WEB_PAGE)
    async with httpx.AsyncClient() as http:
        with pytest.raises(FhirError) as raised:
            await fetch_capabilities(http, server.url)
        assert WEB_PAGE_SENTENCE in str(raised.value)
        # Discovery (no .well-known, /metadata a login page) says the same, not "JSONDecodeError".
        with pytest.raises(FhirError) as raised:
            await discover(http, server.url)
        assert WEB_PAGE_SENTENCE in str(raised.value)


async def test_a_web_page_instead_of_a_search_says_so(server: LoopbackServer) -> None:
    server.route("/fhir/Patient")(lambda seen: WEB_PAGE)
    async with FhirClient(server.url, rate_limit=OPEN) as client:
        with pytest.raises(FhirError) as raised:
            await client.search_all("Patient", {"_count": 1})
    assert WEB_PAGE_SENTENCE in str(raised.value)


async def test_a_base_without_fhir_answers_404_on_metadata(server: LoopbackServer) -> None:
    base = server.url.removesuffix("/fhir")
    async with httpx.AsyncClient() as http:
        with pytest.raises(FhirError) as raised:
            await fetch_capabilities(http, base)
    message = str(raised.value)
    assert "HTTP 404" in message and "often ending in /fhir or /R4" in message


async def test_403_on_appointment_names_the_missing_scope(server: LoopbackServer) -> None:
    server.route("/fhir/Appointment")(forbidden)
    async with FhirClient(server.url, rate_limit=OPEN) as client:
        with pytest.raises(FhirError) as raised:
            await client.search_all("Appointment", {"date": "2021-07-01"})
        assert "user/Appointment.read" in str(raised.value)
        client.scope_prefix = "system"
        with pytest.raises(FhirError) as raised:
            await client.search_all("Appointment", {"date": "2021-07-01"})
        assert "the scope system/Appointment.read" in str(raised.value)
    assert "2021-07-01" not in str(raised.value)  # no query string in a message


async def test_500_on_patient_search_names_the_server(server: LoopbackServer) -> None:
    server.route("/fhir/Patient")(
        lambda seen: (500, {}, {"resourceType": "OperationOutcome", "issue": []})
    )
    async with FhirClient(server.url, rate_limit=OPEN) as client:
        with pytest.raises(FhirError) as raised:
            await client.search_all("Patient")
    message = str(raised.value)
    assert "The FHIR server 127.0.0.1 failed with HTTP 500 on GET Patient" in message


async def test_a_refused_port_fails_fast_with_two_requests_at_most() -> None:
    port = closed_port()
    async with FhirClient(f"http://127.0.0.1:{port}/fhir", rate_limit=OPEN) as client:
        started = time.monotonic()
        with pytest.raises(FhirError) as raised:
            await client.read("Patient", "1")
        took = time.monotonic() - started
    assert "127.0.0.1 refused the connection: check the port" in str(raised.value)
    assert client.stats.requests <= 2 and took < 3.0, (client.stats.requests, took)


async def test_a_server_that_never_answers_fails_within_the_request_budget(
    silent_port: int,
) -> None:
    client = FhirClient(f"http://127.0.0.1:{silent_port}/fhir", rate_limit=OPEN)
    client.request_budget = 1.5
    async with client:
        started = time.monotonic()
        with pytest.raises(FhirError) as raised:
            await client.read("Patient", "1")
        took = time.monotonic() - started
    assert "127.0.0.1 did not answer within 2 s" in str(raised.value)
    assert took < 3.0, took


async def test_an_unknown_host_is_a_dns_failure() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(FhirError) as raised:
            await fetch_capabilities(http, "http://ehr.healthprep-test.invalid/fhir")
    assert "cannot be found (DNS)" in str(raised.value)


async def test_test_connection_and_the_client_say_the_same(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: WEB_PAGE)
    config = ConnectionConfig("Test", server.url, auth_method=AuthMethod.NONE)
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets()
    ) as connection:
        result = await check_connection(connection)
    assert WEB_PAGE_SENTENCE in result.summary()


# --- pre-flight ---------------------------------------------------------------------------------


def test_scope_grammar_v1_and_v2() -> None:
    assert scope_reads("user/Observation.read", "Observation")
    assert scope_reads("system/*.read", "Condition")
    assert scope_reads("patient/Observation.rs", "Observation")
    assert scope_reads("user/Observation.cruds", "Observation")
    assert not scope_reads("user/Observation.write", "Observation")
    assert not scope_reads("user/Observation.c", "Observation")
    assert not scope_reads("openid", "Observation")
    assert missing_types("", ["Observation"]) == []  # no scope in the answer: all granted
    assert missing_types("user/Patient.read", ["Patient", "Condition"]) == ["Condition"]


def _smart_connection(url: str, scope: str) -> FhirConnection:
    config = ConnectionConfig(
        "Test", url, auth_method=AuthMethod.SMART_BACKEND_SERVICES, client_id="app"
    )
    tokens = MemoryTokenStore()
    tokens.save(
        "t",
        "Test",
        TokenSet.from_response({"access_token": "at", "expires_in": 3600, "scope": scope}).bound(
            issuer="http://127.0.0.1/token", fhir_base=url
        ),
    )
    return FhirConnection(config, tenant="t", tokens=tokens, secrets=MemorySecrets())


async def test_preflight_names_the_types_the_token_was_not_granted(
    server: LoopbackServer,
) -> None:
    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata()))
    granted = "system/Patient.read system/Appointment.read"
    async with _smart_connection(server.url, granted) as connection:
        with pytest.raises(FhirError) as raised:
            await preflight(connection, clinic_day=None, all_patients=True)
    message = str(raised.value)
    assert "did not grant read access" in message and "system/Condition.read" in message
    assert not server.hits("/fhir/Patient")  # it failed before listing anything


async def test_preflight_tries_the_schedule_search(server: LoopbackServer) -> None:
    from datetime import date

    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata()))
    server.route("/fhir/Appointment")(forbidden)
    async with _smart_connection(server.url, "system/*.read") as connection:
        with pytest.raises(FhirError) as raised:
            await preflight(connection, clinic_day=date(2021, 7, 1))
    assert "refused to search Appointment" in str(raised.value)
    assert "system/Appointment.read" in str(raised.value)


async def test_preflight_passes_a_working_server(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata()))
    server.route("/fhir/Patient")(lambda seen: (200, {}, bundle({"resourceType": "Patient"})))
    async with _smart_connection(server.url, "system/*.read") as connection:
        await asyncio.wait_for(preflight(connection, clinic_day=None, all_patients=True), 10)
