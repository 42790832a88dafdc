"""Pure units of the sandbox: dates, scopes, redirect rules, the store, corrupted resources."""

from __future__ import annotations

from datetime import date

import pytest
from sandbox_smart import TinyClinic, validate

from healthprep_desktop.sandbox import fhirdates
from healthprep_desktop.sandbox.auth import redirect_allowed, s256
from healthprep_desktop.sandbox.config import SandboxClock
from healthprep_desktop.sandbox.datastore import Criterion, ResourceStore, SearchError
from healthprep_desktop.sandbox.faults import corrupt, is_malformed
from healthprep_desktop.sandbox.scopes import Access, ScopeGrant, parse_clinical


def test_date_ranges_follow_precision() -> None:
    day = fhirdates.parse_range("2021-06-15")
    assert day is not None and day[1] - day[0] == 86400
    year = fhirdates.parse_range("2020")
    assert year is not None and year[1] - year[0] == 366 * 86400  # a leap year
    month = fhirdates.parse_range("2021-02")
    assert month is not None and month[1] - month[0] == 28 * 86400
    second = fhirdates.parse_range("2021-06-15T10:11:12.345+02:00")
    assert second is not None and second[1] - second[0] == 1
    assert second[0] - day[0] == 10 * 3600 + 11 * 60 + 12  # wall clock, offset dropped
    for bad in ("2021-13-01", "yesterday", "2021-02-30", ""):
        assert fhirdates.parse_range(bad) is None


@pytest.mark.parametrize(
    ("prefix", "search", "target", "expected"),
    [
        ("eq", "2021", "2021-06-15", True),
        ("eq", "2021-06-15", "2021", False),  # the target is wider than the search
        ("ne", "2021", "2022-01-01", True),
        ("gt", "2021", "2022-01-01", True),
        ("gt", "2021", "2021-12-31", False),
        ("ge", "2021", "2021-12-31", True),
        ("lt", "2021", "2020-12-31", True),
        ("lt", "2021", "2021-01-01", False),
        ("le", "2021-06-15", "2021-06-15T23:59:59", True),
        ("sa", "2021", "2022-03-01", True),
        ("eb", "2021", "2020-03-01", True),
        ("eb", "2021", "2021-03-01", False),
        ("ap", "2021-06-15", "2021-06-16", True),
    ],
)
def test_date_prefixes(prefix: str, search: str, target: str, expected: bool) -> None:
    s = fhirdates.parse_range(search)
    t = fhirdates.parse_range(target)
    assert s is not None and t is not None
    assert fhirdates.matches(prefix, s, t) is expected


def test_days_in_a_range() -> None:
    dec1 = fhirdates.parse_range("2026-12-01")
    assert dec1 is not None
    assert fhirdates.days_in(dec1, 10) == [date(2026, 12, 1)]
    month = fhirdates.parse_range("2026-12")
    assert month is not None
    assert (
        fhirdates.days_in(month, 62) is not None and len(fhirdates.days_in(month, 62) or []) == 31
    )
    assert fhirdates.days_in(month, 7) is None
    assert fhirdates.days_in(fhirdates.bounds("ge", dec1), 62) is None
    assert fhirdates.split_prefix("ge2021") == ("ge", "2021")
    assert fhirdates.split_prefix("2021") == ("eq", "2021")


def test_scopes_v1_and_v2() -> None:
    assert parse_clinical("patient/*.read") is not None
    v2 = parse_clinical("user/Observation.rs")
    assert v2 is not None and v2.actions == frozenset("rs")
    for bad in (
        "patient/Observation.sr",
        "patient/Observation.",
        "doctor/*.read",
        "user/Observation.rs?category=x",
    ):
        assert parse_clinical(bad) is None
    grant = ScopeGrant.from_request(
        "openid fhirUser launch/patient patient/Observation.rs user/Condition.read "
        "system/*.rs bogus",
        levels=("patient", "user"),
    )
    assert grant.scopes == (
        "openid",
        "fhirUser",
        "launch/patient",
        "patient/Observation.rs",
        "user/Condition.read",
    )
    assert grant.access("Observation", "r") is Access.PATIENT
    assert grant.access("Observation", "c") is Access.NONE
    assert grant.access("Condition", "s") is Access.ALL
    assert grant.access("Patient", "r") is Access.NONE
    assert grant.narrowed("patient/Observation.rs") is not None
    assert grant.narrowed("user/*.rs") is None
    limited = ScopeGrant.from_request(
        "user/*.rs user/Patient.rs", levels=("user",), client_allowed=("user/Patient.*",)
    )
    assert limited.scopes == ("user/Patient.rs",)


def test_redirect_rules() -> None:
    registered = ("http://127.0.0.1/callback", "https://app.example/cb")
    assert redirect_allowed(registered, "http://127.0.0.1:49152/callback")
    assert redirect_allowed(registered, "http://127.0.0.1/callback")
    assert redirect_allowed(registered, "https://app.example/cb")
    assert not redirect_allowed(registered, "https://app.example:444/cb")  # exact match only
    assert not redirect_allowed(registered, "http://127.0.0.1:49152/callback#x")
    assert not redirect_allowed(registered, "http://127.0.0.1:49152/callback/extra")
    assert not redirect_allowed(registered, "http://127.0.0.2:49152/callback")
    assert not redirect_allowed(registered, "https://127.0.0.1:49152/callback")
    assert not redirect_allowed(registered, "http://127.0.0.1:notaport/callback")
    # RFC 7636 appendix B.
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_store_versions_and_binary_ownership() -> None:
    clock = SandboxClock()
    store = ResourceStore(clock)
    # A document stored before its Binary still claims it for the patient.
    store.put({"resourceType": "Patient", "id": "p"})
    store.put(
        {
            "resourceType": "DocumentReference",
            "id": "d",
            "status": "current",
            "subject": {"reference": "Patient/p"},
            "content": [{"attachment": {"url": "http://x/fhir/Binary/b"}}],
        }
    )
    binary = store.put({"resourceType": "Binary", "id": "b", "contentType": "text/plain"})
    assert binary.patient == "p"
    assert [s.key for s in store.compartment("p")] == [
        "Patient/p",
        "DocumentReference/d",
        "Binary/b",
    ]
    clock.advance(10)
    second = store.put({"resourceType": "Patient", "id": "p", "gender": "female"})
    assert second.version == 2 and second.etag == 'W/"2"'
    first = store.get_version("Patient", "p", 1)
    assert first is not None and "gender" not in first.json()
    assert second.last_updated - first.last_updated == pytest.approx(10, abs=0.5)
    with pytest.raises(SearchError):
        store.search("Patient", [Criterion("birthdate", None, ["not-a-date"])])


def test_corrupted_resources_fail_validation() -> None:
    resources = [r for r in TinyClinic().resources() if r["resourceType"] != "Patient"]
    seen_variants = set()
    for seed in range(12):
        for resource in resources:
            validate(resource)  # the original is valid
            bad = corrupt(resource, seed)
            with pytest.raises(ValueError):
                validate(bad)
            seen_variants.add(frozenset(k for k in bad if bad[k] != resource.get(k)))
    assert len(seen_variants) >= 3
    chosen = [is_malformed(5, 0.25, "Observation", f"Observation/{n}") for n in range(2000)]
    assert 400 <= sum(chosen) <= 600
    assert chosen == [is_malformed(5, 0.25, "Observation", f"Observation/{n}") for n in range(2000)]
    assert not is_malformed(5, 1.0, "Patient", "Patient/1")


@pytest.mark.parametrize(
    ("param", "value", "found"),
    [
        ("given", "tomas", True),  # the stored name is "Tomás"
        ("given", "TOMÁS", True),
        ("given", "Tom", True),  # string search matches the start
        ("family", "gonzalez", True),  # stored "González"
        ("family", "gonzales", False),
        ("given", "omas", False),  # not the start
    ],
)
def test_string_search_ignores_case_and_accents(param: str, value: str, found: bool) -> None:
    # FHIR R4 search, string: "equals or starts with ... after both have been normalized by
    # case and accent"; other sources write names with and without accents.
    store = ResourceStore(SandboxClock())
    store.put(
        {"resourceType": "Patient", "id": "p", "name": [{"family": "González", "given": ["Tomás"]}]}
    )
    hits = store.search("Patient", [Criterion(param, None, [value])])
    assert [s.key for s in hits] == (["Patient/p"] if found else [])
