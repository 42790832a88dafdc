"""Pure units: PKCE, pacing, paging links, OperationOutcome, token sets, validation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RedirectConfig,
    RetryConfig,
    Vendor,
)
from healthprep_desktop.fhir.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    http_error_for,
    outcome_summary,
    parse_operation_outcome,
)
from healthprep_desktop.fhir.pacing import TokenBucket, backoff_delay, parse_retry_after
from healthprep_desktop.fhir.paging import PageGuard, PagingLoop, TooManyPages, resolve_link
from healthprep_desktop.fhir.parsing import check_resource
from healthprep_desktop.fhir.pkce import Pkce, challenge_s256, make_state, state_matches
from healthprep_desktop.fhir.presets import PRESETS, new_connection
from healthprep_desktop.fhir.tokens import TokenSet

# --- PKCE ------------------------------------------------------------------------------------


def test_pkce_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_pairs_are_fresh_and_well_formed() -> None:
    pairs = [Pkce.new() for _ in range(20)]
    assert len({p.verifier for p in pairs}) == 20
    for p in pairs:
        assert 43 <= len(p.verifier) <= 128
        assert challenge_s256(p.verifier) == p.challenge
        assert p.verifier not in repr(p)


@pytest.mark.parametrize("bad", ["short", "x" * 129, "a" * 42 + "!"])
def test_pkce_rejects_invalid_verifiers(bad: str) -> None:
    with pytest.raises(ValueError):
        challenge_s256(bad)


def test_state_comparison() -> None:
    state = make_state()
    assert state_matches(state, state)
    assert not state_matches(state, state[:-1] + ("A" if state[-1] != "A" else "B"))
    assert not state_matches(state, None)
    assert make_state() != state


# --- pacing ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_spaces_reservations_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, burst=1, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08])
    clock.now += 1.0  # idle: the bucket refills, but only up to the burst
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.02)


def test_token_bucket_burst_and_unlimited() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])
    unlimited = TokenBucket(0, clock=clock)
    assert all(unlimited.reserve() == 0 for _ in range(100))
    with pytest.raises(ValueError):
        TokenBucket(1, burst=0)


async def test_token_bucket_acquire_sleeps_the_reserved_time() -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    bucket = TokenBucket(4, burst=1, clock=clock, sleep=sleep)
    for _ in range(3):
        await bucket.acquire()
    assert slept == pytest.approx([0.25, 0.5])


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(when, now=now) == pytest.approx(7.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    policy = RetryConfig(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        delays = [backoff_delay(attempt, policy, rng=rng) for _ in range(200)]
        assert min(delays) >= cap / 2
        assert max(delays) <= cap
        assert len(set(delays)) > 100  # jittered, not constant
    with pytest.raises(ValueError):
        backoff_delay(0, policy)


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    policy = RetryConfig(base_delay=0.1, max_retry_after=30)
    assert backoff_delay(1, policy, retry_after=5) == 5
    assert backoff_delay(5, policy, retry_after=0.0) == 0
    assert backoff_delay(1, policy, retry_after=600) == 30


# --- paging ----------------------------------------------------------------------------------

BASE = "https://ehr.example.org/api/FHIR/R4"


@pytest.mark.parametrize(
    ("link", "current", "expected"),
    [
        (f"{BASE}/Observation?page=2", f"{BASE}/Observation", f"{BASE}/Observation?page=2"),
        ("Observation?page=2", f"{BASE}/Observation?patient=1", f"{BASE}/Observation?page=2"),
        (
            "Patient/1/$everything?page=2",
            f"{BASE}/Patient/1/$everything",
            f"{BASE}/Patient/1/$everything?page=2",
        ),
        ("/api/FHIR/R4/Observation?p=2", f"{BASE}/Observation", f"{BASE}/Observation?p=2"),
        ("?_getpages=abc&p=3", f"{BASE}/Observation?x=1", f"{BASE}/Observation?_getpages=abc&p=3"),
    ],
)
def test_next_links_absolute_and_relative(link: str, current: str, expected: str) -> None:
    assert resolve_link(BASE, current, link) == expected


def test_page_guard_detects_loops_and_limits_pages() -> None:
    guard = PageGuard(max_pages=3)
    guard.visit(f"{BASE}/Observation?a=1&b=2")
    with pytest.raises(PagingLoop):
        guard.visit(f"{BASE}/Observation?b=2&a=1")  # same page, parameters reordered
    guard = PageGuard(max_pages=2)
    guard.visit(f"{BASE}/Observation?page=1")
    guard.visit(f"{BASE}/Observation?page=2")
    with pytest.raises(TooManyPages):
        guard.visit(f"{BASE}/Observation?page=3")


# --- OperationOutcome and typed errors -------------------------------------------------------


def test_operation_outcome_to_readable_error() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "warning", "code": "informational", "diagnostics": "slow down"},
            {
                "severity": "error",
                "code": "not-found",
                "details": {"coding": [{"display": "Resource not found"}]},
            },
        ],
    }
    issues = parse_operation_outcome(outcome)
    assert [i.code for i in issues] == ["informational", "not-found"]
    assert outcome_summary(issues).startswith("Resource not found (not-found)")
    error = http_error_for(404, "GET", "/fhir/Patient/9", issues)
    assert isinstance(error, NotFound)
    assert "HTTP 404" in str(error) and "Resource not found" in str(error)
    assert parse_operation_outcome({"resourceType": "Patient"}) == []
    assert parse_operation_outcome("oops") == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [(403, Forbidden), (409, Conflict), (412, Conflict), (429, RateLimited), (503, ServerError)],
)
def test_status_maps_to_error_class(status: int, cls: type) -> None:
    assert isinstance(http_error_for(status, "GET", "/x"), cls)


# --- tokens ----------------------------------------------------------------------------------


def test_token_set_from_response_and_margin() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    tokens = TokenSet.from_response(
        {
            "access_token": "AT-secret",
            "expires_in": 3600,
            "refresh_token": "RT-secret",
            "scope": "openid",
            "patient": "p1",
        },
        now=now,
    )
    assert tokens.expires_at == now + timedelta(hours=1)
    assert not tokens.refresh_due(now + timedelta(minutes=54))
    assert tokens.refresh_due(now + timedelta(minutes=55, seconds=1))  # 5-minute margin
    assert "AT-secret" not in repr(tokens) and "RT-secret" not in repr(tokens)
    short = TokenSet.from_response({"access_token": "a", "expires_in": 60}, now=now)
    assert not short.refresh_due(now + timedelta(seconds=20))  # margin is half the lifetime
    assert short.refresh_due(now + timedelta(seconds=31))
    assert TokenSet.from_json(tokens.to_json()) == tokens


def test_token_set_reads_fhir_user_from_id_token() -> None:
    import jwt

    id_token = jwt.encode({"fhirUser": "Practitioner/42", "sub": "u"}, "k" * 32, algorithm="HS256")
    tokens = TokenSet.from_response({"access_token": "a", "id_token": id_token})
    assert tokens.fhir_user == "Practitioner/42"
    assert tokens.expires_at is None and not tokens.refresh_due(datetime.now(UTC))


def test_token_response_without_access_token_is_an_oauth_error() -> None:
    from healthprep_desktop.fhir.errors import OAuthError

    with pytest.raises(OAuthError):
        TokenSet.from_response({"token_type": "Bearer"})


# --- validation ------------------------------------------------------------------------------


def test_invalid_resource_is_reported_without_phi() -> None:
    bad = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Zyxwvutsson"}],
        "birthDate": "not-a-date Zyxwvutsson",
    }
    problem = check_resource(bad)
    assert problem is not None
    assert problem.resource_type == "Patient" and problem.resource_id == "p1"
    assert "birthDate" in problem.paths
    assert "Zyxwvutsson" not in repr(problem) and "Zyxwvutsson" not in problem.describe()
    good = {"resourceType": "Patient", "id": "p2", "birthDate": "1970-01-01"}
    assert check_resource(good) is None
    assert check_resource({"resourceType": "NoSuchThing"}).error_kinds == (  # type: ignore[union-attr]
        "unknown-resource-type",
    )
    assert check_resource([1]) is not None


# --- config and presets ----------------------------------------------------------------------


def test_connection_config_round_trips_and_holds_no_secret() -> None:
    config = ConnectionConfig(
        name="Main",
        base_url="https://ehr.example.org/R4/",
        vendor=Vendor.EPIC,
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id="abc",
        scopes=("system/Patient.read",),
        redirect=RedirectConfig(port=8765, path="/cb"),
        rate_limit=RateLimitConfig(requests_per_second=5, max_concurrency=2),
    )
    assert config.base_url == "https://ehr.example.org/R4"
    assert ConnectionConfig.from_json(config.to_json()) == config
    assert config.redirect.uri(8765) == "http://127.0.0.1:8765/cb"
    assert config.secret_key("t1", "private_key") == "t1/Main/private_key"


def test_epic_preset_writes_back_plain_text() -> None:
    epic = PRESETS[Vendor.EPIC]
    assert epic.writeback_content_type == "text/plain" and epic.writeback_single_attachment
    conn = new_connection("Epic prod", "https://fhir.example.org/R4", Vendor.EPIC, "cid")
    assert "offline_access" in conn.scopes and conn.auth_method is AuthMethod.SMART_PUBLIC_PKCE
