"""The table "what each error means" of docs/admin-guide.md, built from the code that says it.

Each row calls the function the app itself uses for that failure (fhir/failures.py, fhir/tls.py,
fhir/preflight.py, fhir/diagnose.py, fhir/tokens.py, workers/headless.py) with an example host,
so the guide shows the exact sentence. tests/workers/test_admin_guide.py checks that the
guide's table is this one; after changing a sentence, regenerate it with

    python -m healthprep_desktop.workers.failure_catalog --write docs/admin-guide.md
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from healthprep_desktop.fhir.client import REQUEST_BUDGET
from healthprep_desktop.fhir.diagnose import explain
from healthprep_desktop.fhir.errors import OAuthError
from healthprep_desktop.fhir.failures import http_failure, not_fhir, transport_failure
from healthprep_desktop.fhir.preflight import (
    missing_scopes_failure,
    sign_in_unusable,
    version_failure,
)
from healthprep_desktop.fhir.registration import REVOKED_REASON
from healthprep_desktop.fhir.tls import certificate_sentence
from healthprep_desktop.fhir.tokens import refresh_refused
from healthprep_desktop.workers.headless import not_signed_in

HOST = "ehr.example.org"
BASE = f"https://{HOST}/fhir/R4"
BASE_PATH = "/fhir/R4"
START, END = "<!-- failure-table:start -->", "<!-- failure-table:end -->"


@dataclass(frozen=True, slots=True)
class FailureRow:
    situation: str
    message: str


def _certificate(expired: bool = False, name: str = HOST) -> bytes:
    """A certificate as a private CA would issue it (only its names and dates are read)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    not_after = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC) if expired else dt.datetime(
        2099, 1, 1, tzinfo=dt.UTC)  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Clinic Root CA")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    err.verify_code = code
    err.verify_message = message
    return err


def _http(status: int, rtype: str, *, prefix: str | None = "user") -> str:
    path = f"{BASE_PATH}/{rtype}"
    return str(
        http_failure(status, "GET", path, base_path=BASE_PATH, host=HOST, scope_prefix=prefix)
    )


def failure_rows() -> list[FailureRow]:
    page = httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<!doctype html>")
    untrusted = _verify_error(20, "unable to get local issuer certificate")
    wrong_name = _verify_error(62, "Hostname mismatch, certificate is not valid for the host")
    expired = _verify_error(10, "certificate has expired")
    return [
        FailureRow(
            f"The server accepts the connection but never answers ({REQUEST_BUDGET:.0f} s per "
            "request, retries included)",
            str(transport_failure(httpx.ReadTimeout("timed out"), HOST, budget=REQUEST_BUDGET)),
        ),
        FailureRow(
            "Nothing listens on the port (wrong port, server down)",
            str(transport_failure(ConnectionRefusedError(111, "Connection refused"), HOST)),
        ),
        FailureRow(
            "The host name does not resolve (typo, VPN not connected)",
            str(transport_failure(socket.gaierror(-2, "Name or service not known"), HOST)),
        ),
        FailureRow(
            "TLS: the certificate comes from a CA this computer does not trust",
            certificate_sentence(untrusted, _certificate(), HOST),
        ),
        FailureRow(
            "TLS: the certificate is for another name",
            certificate_sentence(wrong_name, _certificate(name="portal.example.org"), HOST),
        ),
        FailureRow(
            "TLS: the certificate has expired",
            certificate_sentence(expired, _certificate(expired=True), HOST),
        ),
        FailureRow(
            "The URL answers a web page (portal, login page), not FHIR",
            str(not_fhir(page, BASE, "metadata")),
        ),
        FailureRow("The URL is not the FHIR base (HTTP 404)", _http(404, "Patient")),
        FailureRow("The server speaks another FHIR version", version_failure(HOST, "1.0.2")),
        FailureRow(
            "HTTP 403 on one type (here Appointment): a scope is not granted",
            _http(403, "Appointment"),
        ),
        FailureRow(
            "Test connection / pre-flight: the granted scopes miss types",
            missing_scopes_failure(["Immunization", "Procedure"], "system"),
        ),
        FailureRow("The server fails (HTTP 500)", _http(500, "Patient")),
        FailureRow("The server keeps answering HTTP 429", _http(429, "Observation")),
        FailureRow("HTTP 401: the access token is refused", _http(401, "Patient")),
        FailureRow(
            "The refresh token was revoked or expired (invalid_grant)",
            sign_in_unusable(HOST, refresh_refused("invalid_grant")),
        ),
        FailureRow(
            "The same, in the middle of a batch (the sheets done so far are kept)",
            # workers/cli.py's sentence; tests/workers/test_batch_auth_failures.py checks it.
            f"Stopped early because authorization was lost ({refresh_refused('invalid_grant')}); "
            "continue with --resume 12.",
        ),
        FailureRow(
            "A saved connection nobody has signed in to (batch)",
            f"Cannot run the batch: {not_signed_in('Main Street Clinic', 'Epic')}",
        ),
        FailureRow(
            "The EHR revoked this workstation's key (lasting access)",
            sign_in_unusable(HOST, REVOKED_REASON),
        ),
        FailureRow(
            "Backend services: client id or key not registered (invalid_client)",
            explain(OAuthError("invalid_client", "unknown client"), HOST),
        ),
        FailureRow(
            "The EHR refused the requested scopes at sign-in (invalid_scope)",
            explain(OAuthError("invalid_scope", "not allowed"), HOST),
        ),
    ]


def failure_table() -> str:
    lines = ["| Situation | Exact message |", "|---|---|"]
    for row in failure_rows():
        message = row.message.replace("|", "\\|")
        lines.append(f"| {row.situation} | {message} |")
    return "\n".join(lines)


def with_table(document: str) -> str:
    """`document` with the text between the table markers replaced by the current table."""
    head, start, rest = document.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the document has no {START} ... {END} markers")
    return f"{head}{START}\n{failure_table()}\n{END}{tail}"


def table_in(document: str) -> str:
    _, _, rest = document.partition(START)
    return rest.partition(END)[0].strip("\n")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    print(failure_table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
