"""The chart fetch plan from CapabilityStatement shapes: types, categories, page size, reruns,
and what a server refused before (fhir/fetch_plan.py, fhir/search_limits.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from healthprep_desktop.fhir.discovery import COMBINATION_EXTENSION, Capabilities
from healthprep_desktop.fhir.errors import BadRequest, OutcomeIssue
from healthprep_desktop.fhir.fetch_plan import MAX_PAGE_SIZE, NOT_OFFERED, plan_fetch
from healthprep_desktop.fhir.search_limits import (
    MULTIPLE_OR,
    WHOLE_TYPE,
    SearchLimits,
    refused_params,
)
from healthprep_desktop.screening.needs import ALL_CATEGORIES, chart_needs, record_types


def _combo(*params: str) -> dict[str, Any]:
    return {
        "url": COMBINATION_EXTENSION,
        "extension": [{"url": "required", "valueString": p} for p in params],
    }


def _resource(rtype: str, *combos: tuple[str, ...], params: tuple[str, ...] = ()) -> dict[str, Any]:
    names = {p for c in combos for p in c} | set(params) | {"_lastUpdated"}
    return {
        "type": rtype,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": n, "type": "token"} for n in sorted(names)],
        "extension": [_combo(*c) for c in combos],
    }


SIMPLE_TYPES = (
    "AllergyIntolerance", "Coverage", "Device", "DiagnosticReport", "DocumentReference",
    "Encounter", "Immunization", "MedicationDispense", "Procedure", "ServiceRequest",
)  # fmt: skip


def us_core_like() -> Capabilities:
    """US Core's shape: no $everything, no batch, Observation needs a category or a code,
    MedicationRequest an intent; no MedicationStatement, DeviceRequest, AdverseEvent..."""
    resources = [
        _resource("Observation", ("patient", "category"), ("patient", "code")),
        _resource("MedicationRequest", ("patient", "intent")),
        _resource("Condition", ("patient",), ("patient", "category")),
        *(_resource(t, ("patient",)) for t in SIMPLE_TYPES),
        {"type": "Medication", "interaction": [{"code": "read"}]},
        _resource("Patient", ("_id",)),
    ]
    body = {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [{"mode": "server", "resource": resources}],
    }
    return Capabilities.from_json(body)


def _steps(plan: Any, rtype: str) -> list[dict[str, str]]:
    return [dict(s.params) for s in plan.searches if s.resource_type == rtype]


def test_combinations_are_read_from_the_capability_statement() -> None:
    caps = us_core_like()
    obs = caps.resources["Observation"]
    assert not obs.patient_alone_allowed() and obs.combination_partners() == {"category", "code"}
    assert caps.resources["Condition"].patient_alone_allowed()
    assert caps.resources["Encounter"].patient_alone_allowed()


def test_us_core_plan_reads_only_what_the_engine_needs_in_fewer_searches() -> None:
    caps = us_core_like()
    plan = plan_fetch(caps)
    naive = plan_fetch(caps, naive=True)
    assert plan.strategy == naive.strategy == "per-type"
    # Observation: the categories the engine reads, in one search (multipleOr).
    (obs,) = _steps(plan, "Observation")
    wanted = {c.code for c in ALL_CATEGORIES["Observation"] if c.read_by}
    assert set(obs["category"].split(",")) == wanted and len(wanted) < 15
    assert obs["_count"] == str(MAX_PAGE_SIZE) and obs["patient"] == "{patient}"
    # Naive: one search per category, default page size.
    naive_obs = _steps(naive, "Observation")
    assert len(naive_obs) == len(ALL_CATEGORIES["Observation"])
    assert all("_count" not in s for s in naive.searches for s in [dict(s.params)])
    # MedicationRequest needs an intent: every intent in one search.
    (mr,) = _steps(plan, "MedicationRequest")
    assert len(mr["intent"].split(",")) == 8
    # Types the server does not offer are not searched; the naive plan tries them.
    skipped = {t for t, _ in plan.skipped}
    assert {"MedicationStatement", "DeviceRequest", "AdverseEvent"} <= skipped
    assert not _steps(plan, "MedicationStatement") and _steps(naive, "MedicationStatement")
    assert not _steps(plan, "Medication")  # read by reference only
    assert plan.expected_requests() < 0.7 * naive.expected_requests()
    text = "\n".join(plan.explain())
    assert "GET Observation?patient={patient}" in text and "skip DeviceRequest" in text


def test_generic_server_gets_everything_with_the_largest_page() -> None:
    caps = Capabilities.from_json(
        {
            "resourceType": "CapabilityStatement",
            "rest": [
                {
                    "mode": "server",
                    "resource": [{"type": "Patient", "operation": [{"name": "everything"}]}],
                }
            ],
        }
    )
    plan = plan_fetch(caps)
    assert plan.strategy == "everything" and plan.page_size == MAX_PAGE_SIZE
    assert plan_fetch(caps, naive=True).page_size is None
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert plan_fetch(caps, since=since).since == since.isoformat()


def test_reruns_ask_only_for_changes_where_the_server_offers_last_updated() -> None:
    caps = us_core_like()
    since = datetime(2026, 1, 2, tzinfo=UTC)
    plan = plan_fetch(caps, since=since)
    for step in plan.searches:
        assert dict(step.params)["_lastUpdated"] == f"gt{since.isoformat()}"
    no_caps = plan_fetch(None, since=since)
    assert all("_lastUpdated" in dict(s.params) for s in no_caps.searches)


def test_what_the_server_refused_is_not_asked_again() -> None:
    caps = us_core_like()
    limits = SearchLimits()
    limits.refuse("Observation", MULTIPLE_OR)
    limits.refuse("Condition", "_count")
    limits.refuse("Coverage", WHOLE_TYPE)
    plan = plan_fetch(caps, limits=limits)
    obs = _steps(plan, "Observation")
    assert len(obs) == len([c for c in ALL_CATEGORIES["Observation"] if c.read_by]) > 1
    assert all("," not in s["category"] for s in obs)
    (cond,) = _steps(plan, "Condition")
    assert "_count" not in cond
    assert ("Coverage", NOT_OFFERED) in plan.skipped
    again = SearchLimits.from_json(limits.to_json())
    assert again.refused == limits.refused
    assert SearchLimits.from_json("not json").refused == set()


def test_a_refusal_names_the_parameter_or_else_every_optional_one() -> None:
    named = BadRequest(400, "GET", "Observation", [OutcomeIssue("error", "not-supported",
                       "Unknown search parameter '_count'")])  # fmt: skip
    assert refused_params(named, ["_count", "_lastUpdated", MULTIPLE_OR]) == ["_count"]
    vague = BadRequest(400, "GET", "Observation", [OutcomeIssue("error", "invalid", "bad")])
    assert refused_params(vague, ["_count", MULTIPLE_OR]) == ["_count", MULTIPLE_OR]


def test_needs_follow_the_library() -> None:
    needs = chart_needs()
    assert needs.types == record_types()
    assert all(c.read_by for cats in needs.categories.values() for c in cats)
    # Lifetime items are never bounded: the plan puts no date on any search.
    plan = plan_fetch(us_core_like())
    assert not any(k in ("date", "onset-date") for s in plan.searches for k, _ in s.params)
