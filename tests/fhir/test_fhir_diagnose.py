"""Test connection: actionable messages for each kind of failure (real loopback HTTP)."""

from __future__ import annotations

import socket
import ssl

import httpx
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RetryConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.diagnose import check_connection, explain
from healthprep_desktop.fhir.errors import FhirTransportError, Forbidden, OAuthError
from healthprep_desktop.fhir.preflight import needed_types
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore


def connection_to(url: str, method: AuthMethod = AuthMethod.NONE) -> FhirConnection:
    config = ConnectionConfig("Test", url, auth_method=method, retry=RetryConfig(max_attempts=1))
    return FhirConnection(config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets())


def metadata(version: str) -> dict[str, object]:
    return {"resourceType": "CapabilityStatement", "fhirVersion": version, "rest": []}


def serve_every_type(server: LoopbackServer) -> None:
    """An empty searchset for every type Test connection reads."""
    for rtype in needed_types(schedule=True):
        server.route(f"/fhir/{rtype}")(
            lambda seen: (200, {}, {"resourceType": "Bundle", "type": "searchset"})
        )


async def test_working_open_server(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata("4.0.1")))
    serve_every_type(server)
    async with connection_to(server.url) as connection:
        result = await check_connection(connection)
    assert result.ok and result.summary() == "The connection works.", result.checks
    # One sample read of each type the screenings read (Medication is read by reference).
    searched = {s.path.rsplit("/", 1)[1] for s in server.seen if s.path != "/fhir/metadata"}
    assert searched == set(needed_types(schedule=True)) - {"Medication"}


async def test_fhir_version_mismatch(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata("3.0.2")))
    server.route("/fhir/Patient")(
        lambda seen: (200, {}, {"resourceType": "Bundle", "type": "searchset"})
    )
    async with connection_to(server.url) as connection:
        result = await check_connection(connection)
    assert not result.ok and "FHIR 3.0.2" in result.summary() and "R4" in result.summary()


async def test_scope_denied(server: LoopbackServer) -> None:
    def forbidden(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 403, {}, {"resourceType": "OperationOutcome", "issue": [{"code": "forbidden"}]}

    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata("4.0.1")))
    server.route("/fhir/Patient")(forbidden)
    async with connection_to(server.url) as connection:
        result = await check_connection(connection)
    assert "scope denied" in result.summary()


async def test_no_smart_endpoints(server: LoopbackServer) -> None:
    server.route("/fhir/metadata")(lambda seen: (200, {}, metadata("4.0.1")))
    async with connection_to(server.url, AuthMethod.SMART_PUBLIC_PKCE) as connection:
        result = await check_connection(connection)
    assert not result.ok and "does not say where to log in" in result.summary()


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with connection_to(f"http://127.0.0.1:{port}/fhir") as connection:
        result = await check_connection(connection)
    assert "refused the connection" in result.summary()


def test_explanations_for_dns_tls_timeout_and_oauth() -> None:
    def wrapped(cause: BaseException) -> FhirTransportError:
        try:
            raise FhirTransportError("GET failed") from cause
        except FhirTransportError as exc:
            return exc

    dns = httpx.ConnectError("[Errno -2] Name or service not known")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert "cannot be found (DNS)" in explain(wrapped(dns), "ehr.invalid")
    tls = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
    assert "not trusted" in explain(wrapped(tls), "ehr.example")
    assert "did not answer in time" in explain(wrapped(httpx.ReadTimeout("x")), "ehr.example")
    assert "invalid_client" in explain(OAuthError("invalid_client", "bad"), "h")
    assert "invalid_scope" in explain(OAuthError("invalid_scope", "no"), "h")
    assert "scope denied" in explain(Forbidden(403, "GET", "/Patient"), "h")
