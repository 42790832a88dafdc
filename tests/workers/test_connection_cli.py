"""``healthprep-desktop connection ...`` through the real entry point, the real encrypted store
and the real sandbox over loopback HTTP (its backend client fetches our JWKS from a jwks_url,
as an EHR registered with a JWK Set URL does)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from healthprep_desktop.cli import main
from healthprep_desktop.fhir.credentials import load_backend_key
from healthprep_desktop.fhir.oauth import BackendKey
from healthprep_desktop.fhir.store_adapters import StoreSecrets
from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import (
    DEMO_BACKEND_CLIENT,
    OrgConfig,
    SandboxConfig,
    demo_clients,
)
from healthprep_desktop.store import Store

T = ["--tenant", "Clinic"]
C = ["--connection", "Backend"]


class _JwksHost:
    """Serves whatever JWK Set the test pastes in: the EHR side of a JWKS registration."""

    def __init__(self) -> None:
        self.body = b'{"keys": []}'
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(host.body)))
                self.end_headers()
                self.wfile.write(host.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture(scope="module")
def jwks_host() -> Iterator[_JwksHost]:
    host = _JwksHost()
    host.thread.start()
    try:
        yield host
    finally:
        host.httpd.shutdown()
        host.httpd.server_close()


@pytest.fixture(scope="module")
def sandbox(jwks_host: _JwksHost) -> Iterator[SandboxServer]:
    org = OrgConfig(
        "clinic",
        clients=demo_clients(backend_jwks_url=jwks_host.url),
        source=SyntheticClinic(seed=3, patients=4),
    )
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server


def _add_backend(url: str) -> int:
    return main(
        ["connection", "add", *T, "--name", "Backend", "--base-url", url,
         "--auth", "smart-backend", "--client-id", DEMO_BACKEND_CLIENT]
    )  # fmt: skip


def _stored_key() -> BackendKey | None:
    with Store.open() as store:
        (tenant,) = store.tenants()
        return load_backend_key(StoreSecrets(store), f"{tenant.id}/Backend/private_key")


def _audit_details() -> list[str]:
    with Store.open() as store:
        (tenant,) = store.tenants()
        scope = store.tenant(tenant.id)
        return [e.detail for e in scope.audit_entries() if e.action == "connection_change"]


def test_backend_services_are_set_up_and_tested_without_the_window(
    sandbox: SandboxServer,
    jwks_host: _JwksHost,
    healthprep_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _add_backend(sandbox.base_url()) == 0
    assert "Created the clinic 'Clinic'" in capsys.readouterr().out
    assert main(["connection", "key", "make", *T, *C, "--alg", "ES384"]) == 0
    made = capsys.readouterr().out
    assert "ES384" in made and "PRIVATE" not in made
    assert main(["connection", "key", "show", *T, *C]) == 0
    shown = capsys.readouterr().out
    jwks = json.loads(shown)  # stdout is exactly the JWK Set
    (jwk,) = jwks["keys"]
    assert jwk["kty"] == "EC" and jwk["alg"] == "ES384" and "d" not in jwk
    stored = _stored_key()
    assert stored is not None and stored.kid == jwk["kid"] and stored.algorithm == "ES384"
    # The EHR registers the JWKS; then the test signs in with the key and reads a Patient.
    jwks_host.body = shown.encode()
    assert main(["connection", "test", *T, *C]) == 0
    out = capsys.readouterr().out
    assert "The connection works." in out and "Patient data can be read" in out
    # The private key is nowhere in plain text: not in the output, the audit, any file.
    details = _audit_details()
    assert details[0] == "added: Backend" and any("backend key made" in d for d in details)
    assert not any("PRIVATE" in d or "BEGIN" in d for d in details)
    for path in healthprep_home.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    # The window reads the same key: the connection's algorithm follows the key.
    assert main(["connection", "show", *T, *C]) == 0
    shown = capsys.readouterr().out
    assert f"Backend key: ES384, kid {stored.kid}" in shown and "Signed in: yes" in shown
    assert main(["connection", "sign-out", *T, *C]) == 0
    assert main(["connection", "show", *T, *C]) == 0
    assert "Signed in: no" in capsys.readouterr().out


def test_a_second_key_needs_replace_and_other_methods_have_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _add_backend("https://ehr.example.org/fhir/R4") == 0
    assert main(["connection", "key", "make", *T, *C]) == 0
    first = _stored_key()
    capsys.readouterr()
    assert main(["connection", "key", "make", *T, *C]) == 2
    err = capsys.readouterr().err
    assert "already has a key" in err and "--replace" in err and "Traceback" not in err
    assert _stored_key() == first
    assert main(["connection", "key", "make", *T, *C, "--replace"]) == 0
    second = _stored_key()
    assert second is not None and first is not None and second.kid != first.kid
    assert main(
        ["connection", "add", *T, "--name", "Browser", "--base-url", "https://ehr.example.org/R4",
         "--auth", "smart", "--client-id", "abc", "--vendor", "epic"]
    ) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["connection", "key", "make", *T, "--connection", "Browser"]) == 2
    assert "only backend services use a key pair" in capsys.readouterr().err


def _pem_file(tmp_path: Path, private: Any, mode: int, password: bytes | None = None) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path = tmp_path / "key.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption
        )
    )
    path.chmod(mode)
    return path


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_key_import_wants_a_private_file_and_a_usable_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = tmp_path / "keys"
    tmp_path.mkdir()
    assert _add_backend("https://ehr.example.org/fhir/R4") == 0
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    shared = _pem_file(tmp_path, rsa_key, 0o644)
    capsys.readouterr()
    assert main(["connection", "key", "import", *T, *C, "--file", str(shared)]) == 2
    err = capsys.readouterr().err
    assert "can be read by other users" in err and "chmod 600" in err
    assert _stored_key() is None
    cases = [
        (ec.generate_private_key(ec.SECP256R1()), None, "neither RSA nor EC P-384"),
        (rsa.generate_private_key(public_exponent=65537, key_size=1024), None, "2048 or more"),  # noqa: S505
        (rsa_key, b"pass phrase", "protected by a passphrase"),
    ]
    for private, password, message in cases:
        path = _pem_file(tmp_path, private, 0o600, password)
        assert main(["connection", "key", "import", *T, *C, "--file", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    garbage.chmod(0o600)
    assert main(["connection", "key", "import", *T, *C, "--file", str(garbage)]) == 2
    assert "does not hold a PEM private key" in capsys.readouterr().err
    assert main(["connection", "key", "import", *T, *C, "--file", str(tmp_path / "nope")]) == 2
    assert "There is no file" in capsys.readouterr().err

    good = _pem_file(tmp_path, rsa_key, 0o600)
    before = good.read_bytes()
    assert main(["connection", "key", "import", *T, *C, "--file", str(good), "--kid", "k1"]) == 0
    assert "was not copied" in capsys.readouterr().out
    stored = _stored_key()
    assert stored is not None and stored.algorithm == "RS384" and stored.kid == "k1"
    assert good.read_bytes() == before  # left as it was; no copy made beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.pem", "key.pem"]
    assert main(["connection", "key", "show", *T, *C]) == 0
    public = json.loads(capsys.readouterr().out)["keys"][0]
    assert public["kid"] == "k1" and public["kty"] == "RSA" and "d" not in public
    assert any("backend key imported (RS384, kid k1)" in d for d in _audit_details())


@pytest.mark.parametrize(
    "url",
    ["http://ehr.example.org/fhir", "http://10.0.0.5:8080/fhir", "http://[2001:db8::1]/fhir"],
)
def test_plain_http_is_refused_for_remote_hosts(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add_backend(url) == 2
    err = capsys.readouterr().err
    assert "Refusing plain http://" in err and "https://" in err and "Traceback" not in err
    with Store.open() as store:
        assert store.tenants() == []  # bad input changes nothing


def test_plain_http_is_allowed_for_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    for name, url in [
        ("a", "http://127.0.0.1:8080/fhir"),
        ("b", "http://127.3.4.5/fhir"),
        ("c", "http://localhost:9/fhir"),
        ("d", "http://[::1]:9/fhir"),
    ]:
        args = ["--name", name, "--base-url", url, "--auth", "none"]
        assert main(["connection", "add", *T, *args]) == 0, capsys.readouterr().err
    assert main(["connection", "list", *T]) == 0
    out = capsys.readouterr().out
    assert "http://127.3.4.5/fhir" in out and "http://[::1]:9/fhir" in out
    assert "last sync never" in out


def test_batch_refuses_a_remote_plain_http_fhir_url(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code = main(
        ["batch", "--fhir-url", "http://ehr.invalid/fhir", "--auth", "none", "--patients", "p1"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Refusing plain http:// for ehr.invalid" in err and "Traceback" not in err
    assert time.monotonic() - started < 10


def test_mistakes_get_one_sentence_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connection", "list"]) == 2
    assert capsys.readouterr().err.startswith("No HealthPrep Desktop database at ")
    with Store.open():
        pass
    assert main(["connection", "list"]) == 2
    assert "No clinic is set up yet" in capsys.readouterr().err
    assert _add_backend("https://ehr.example.org/R4") == 0
    cases = [
        (["connection", "show", *T, "--connection", "Nope"], "No connection called 'Nope'"),
        (["connection", "key", "show", "--tenant", "Other", *C], "No clinic called 'Other'"),
        (["connection", "key", "show", *T, *C], "has no key yet"),
        (
            ["connection", "add", *T, "--name", "backend", "--base-url", "https://x.org/R4",
             "--auth", "none"],
            "already has a connection named",
        ),
        (
            ["connection", "add", *T, "--name", "S", "--base-url", "https://x.org/R4",
             "--auth", "smart"],
            "needs --client-id",
        ),
        (
            ["connection", "add", *T, "--name", "S", "--base-url", "https://x.org/R4",
             "--auth", "smart-confidential-basic", "--client-id", "x"],
            "HEALTHPREP_CLIENT_SECRET",
        ),
        (
            ["connection", "add", *T, "--name", "S", "--base-url", "ftp://x.org/R4",
             "--auth", "none"],
            "must start with https://",
        ),
    ]  # fmt: skip
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


def test_a_connection_that_does_not_work_fails_its_test_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--name", "Down", "--base-url", f"http://127.0.0.1:{port}/fhir", "--auth", "none"]
    assert main(["connection", "add", *T, *args]) == 0
    capsys.readouterr()
    assert main(["connection", "test", *T, "--connection", "Down"]) == 1
    out = capsys.readouterr()
    assert "refused the connection" in out.out and "Traceback" not in out.out + out.err
