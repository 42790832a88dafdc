"""TLS trust (OS store + a per-connection CA file) and proxies (system settings or one per
connection), over real sockets on loopback: an HTTPS server whose certificate a throwaway CA
(trustme) issued, and a recording forward proxy."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from tls_support import PATIENT, forward_proxy, plain_server, tls_server

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RetryConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store, config_from_store
from healthprep_desktop.fhir.tls import (
    NetworkSettings,
    TlsSettingsError,
    ca_file_problem,
    explain_certificate_failure,
    proxy_problem,
    ssl_context,
)
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.store import Store

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_system_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def connect(url: str, **fields: object) -> FhirConnection:
    config = ConnectionConfig(
        "Clinic EHR",
        url,
        auth_method=AuthMethod.NONE,
        retry=RetryConfig(max_attempts=1),
        **fields,  # type: ignore[arg-type]
    )
    return FhirConnection(config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets())


async def read_failure(conn: FhirConnection) -> BaseException:
    async with conn:
        with pytest.raises(FhirError) as caught:
            await conn.client.read("Patient", "1")
    return caught.value


# --- trust ------------------------------------------------------------------------------------


async def test_a_private_ca_file_on_the_connection_makes_it_work(tmp_path: Path) -> None:
    with tls_server(tmp_path) as server:
        async with connect(server.url, ca_file=str(server.ca_file)) as conn:
            assert await conn.client.read("Patient", "1") == PATIENT


async def test_without_the_ca_file_the_sentence_names_the_certificate(tmp_path: Path) -> None:
    with tls_server(tmp_path, "localhost", common_name="ehr.clinic.local") as server:
        failure = await read_failure(connect(server.url))
        sentence = await explain_certificate_failure(failure, server.url)
    assert sentence == (
        "The certificate of localhost (CN=ehr.clinic.local, issued by Clinic Root CA) is not "
        "trusted: add the clinic's CA file to this connection."
    )


async def test_a_certificate_for_another_name_says_so(tmp_path: Path) -> None:
    with tls_server(tmp_path, "ehr.clinic.local", common_name="ehr.clinic.local") as server:
        url = f"https://127.0.0.1:{server.port}/fhir"
        failure = await read_failure(connect(url, ca_file=str(server.ca_file)))
        sentence = await explain_certificate_failure(failure, url)
    assert sentence == (
        "The certificate of 127.0.0.1 (CN=ehr.clinic.local, issued by Clinic Root CA) is not "
        "issued for 127.0.0.1: check the host name in the FHIR base URL."
    )


async def test_an_expired_certificate_says_when(tmp_path: Path) -> None:
    expired = dt.datetime(2024, 3, 1, 12, 0)
    with tls_server(tmp_path, "localhost", common_name="ehr", not_after=expired) as server:
        failure = await read_failure(connect(server.url, ca_file=str(server.ca_file)))
        sentence = await explain_certificate_failure(failure, server.url)
    assert sentence == (
        "The certificate of localhost (CN=ehr, issued by Clinic Root CA) expired on "
        "2024-03-01: the server's administrator must renew it."
    )


async def test_other_failures_are_not_certificate_failures(tmp_path: Path) -> None:
    with plain_server() as url:  # a plain-HTTP port spoken to with TLS
        https = url.replace("http://", "https://")
        failure = await read_failure(connect(https))
        assert await explain_certificate_failure(failure, https) is None


def test_a_bad_ca_file_is_one_sentence(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("this is not a certificate")
    assert ca_file_problem(str(junk)) == (
        f"The CA file {junk} holds no certificate this app can read: export the clinic's CA "
        "certificate as PEM (Base-64) or DER and choose that file."
    )
    missing = tmp_path / "gone.pem"
    assert ca_file_problem(str(missing)) == (
        f"The CA file {missing} cannot be found: choose the clinic's CA certificate file again."
    )
    with pytest.raises(TlsSettingsError, match="cannot be found"):
        ssl_context(str(missing))


async def test_a_ca_file_gone_since_it_was_chosen_is_named(tmp_path: Path) -> None:
    with tls_server(tmp_path) as server:
        gone = str(tmp_path / "moved.pem")
        conn = connect(server.url, ca_file=gone)  # opening the connection does not raise
        failure = await read_failure(conn)
        sentence = await explain_certificate_failure(
            failure, server.url, NetworkSettings.of(conn.config)
        )
    assert sentence == (
        f"The CA file {gone} cannot be found: choose the clinic's CA certificate file again."
    )


def test_ssl_contexts_are_shared_per_ca_file_and_renewed_when_it_changes(tmp_path: Path) -> None:
    with tls_server(tmp_path) as server:
        path = str(server.ca_file)
        first = ssl_context(path)
        started = time.perf_counter()
        for _ in range(100):
            assert ssl_context(path) is first
        cached = (time.perf_counter() - started) / 100
        assert cached < 0.002  # a fresh context loads the whole system store (~10-30 ms)
        server.ca.cert_pem.write_to_path(path)  # rewritten: new mtime
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
        assert ssl_context(path) is not first
        assert ssl_context("") is ssl_context("")


def test_the_fields_are_kept_in_the_store(tmp_path: Path) -> None:
    store = Store.open()
    try:
        clinic = store.create_tenant("Clinic")
        config = ConnectionConfig(
            "EHR",
            "https://ehr.clinic.local/fhir",
            ca_file=str(tmp_path / "clinic-ca.pem"),
            proxy="http://proxy.clinic.local:3128",
        )
        row = store.tenant(clinic.id).connections.add(
            config.name, "generic", config.base_url, config=config_for_store(config)
        )
        back = config_from_store(store.tenant(clinic.id).connections.get(row.id) or row)
        assert (back.ca_file, back.proxy) == (config.ca_file, config.proxy)
        assert NetworkSettings.of(back) == NetworkSettings(config.ca_file, config.proxy)
    finally:
        store.close()


# --- proxies ----------------------------------------------------------------------------------


async def test_requests_go_through_the_connections_proxy(tmp_path: Path) -> None:
    with tls_server(tmp_path) as server, forward_proxy() as proxy:
        conn = connect(server.url, ca_file=str(server.ca_file), proxy=proxy.url)
        async with conn:
            assert await conn.client.read("Patient", "1") == PATIENT
        assert proxy.seen == [f"CONNECT localhost:{server.port}"]


async def test_plain_http_goes_through_the_connections_proxy_too() -> None:
    with plain_server() as url, forward_proxy() as proxy:
        async with connect(url, proxy=proxy.url) as conn:
            assert await conn.client.read("Patient", "1") == PATIENT
        assert proxy.seen == [f"GET {url}/Patient/1"]


async def test_the_system_proxy_is_used_when_the_connection_names_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tls_server(tmp_path) as server, forward_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        async with connect(server.url, ca_file=str(server.ca_file)) as conn:
            assert await conn.client.read("Patient", "1") == PATIENT
        assert proxy.seen == [f"CONNECT localhost:{server.port}"]
        # NO_PROXY exempts the host, as the system settings say.
        monkeypatch.setenv("NO_PROXY", "localhost")
        async with connect(server.url, ca_file=str(server.ca_file)) as conn:
            assert await conn.client.read("Patient", "1") == PATIENT
        assert len(proxy.seen) == 1


async def test_the_certificate_is_named_through_the_proxy_as_well(tmp_path: Path) -> None:
    with (
        tls_server(tmp_path, "localhost", common_name="ehr.clinic.local") as server,
        forward_proxy() as proxy,
    ):
        settings = NetworkSettings(proxy=proxy.url)
        failure = await read_failure(connect(server.url, proxy=proxy.url))
        sentence = await explain_certificate_failure(failure, server.url, settings)
    assert sentence is not None and "(CN=ehr.clinic.local, issued by Clinic Root CA)" in sentence
    assert proxy.seen == [f"CONNECT localhost:{server.port}"] * 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("http://proxy.clinic.local:3128", None),
        (
            "http://user:secret@proxy:3128",
            "The proxy address cannot hold a user name or password (they would be stored in "
            "plain settings): use a proxy that lets this workstation through without them.",
        ),
        (
            "http://wpad.clinic.local/proxy.pac",
            "A proxy auto-config (PAC) file cannot be used here: enter the proxy it names for "
            "the EHR, such as http://proxy.clinic.local:3128.",
        ),
        (
            "proxy.clinic.local:3128",
            "The proxy must start with http:// (or https://) and name a server and port.",
        ),
    ],
)
def test_proxy_addresses_are_checked(value: str, expected: str | None) -> None:
    assert proxy_problem(value) == expected
