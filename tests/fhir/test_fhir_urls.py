"""Which FHIR base URLs the command line accepts: https anywhere, plain http only to loopback."""

from __future__ import annotations

import pytest

from healthprep_desktop.fhir.urls import fhir_url_problem, is_loopback_host


@pytest.mark.parametrize(
    "url",
    [
        "https://fhir.epic.example.org/api/FHIR/R4",
        "https://10.0.0.5:8443/fhir",
        "http://127.0.0.1:8080/fhir",
        "http://127.255.0.9/fhir",
        "http://localhost/fhir",
        "http://LOCALHOST:9/fhir",
        "http://[::1]:8080/fhir",
    ],
)
def test_accepted(url: str) -> None:
    assert fhir_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://ehr.example.org/fhir", "Refusing plain http:// for ehr.example.org"),
        ("http://128.0.0.1/fhir", "Refusing plain http://"),
        ("http://localhost.example.org/fhir", "Refusing plain http://"),
        ("http://[::2]/fhir", "Refusing plain http://"),
        ("http://0.0.0.0/fhir", "Refusing plain http://"),
        ("ftp://ehr.example.org/fhir", "must start with https://"),
        ("ehr.example.org/fhir", "must start with https://"),
        ("https://ehr.example.org/fhir?x=1", "must not contain '?'"),
        ("", "Give the FHIR base URL"),
    ],
)
def test_refused_with_one_sentence(url: str, message: str) -> None:
    problem = fhir_url_problem(url)
    assert problem is not None and message in problem and "\n" not in problem


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("[::1]")
    assert not is_loopback_host("example.org") and not is_loopback_host("10.0.0.1")
