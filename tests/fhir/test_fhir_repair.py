"""Lenient reading: unambiguous shape slips are repaired on resources kept raw."""

from __future__ import annotations

from healthprep_desktop.fhir.parsing import check_resource, repair


def test_list_wrapped_status_string_reference_unknown_element_and_bad_meta() -> None:
    resource = {
        "resourceType": "Immunization",
        "id": "i1",
        "status": ["completed"],
        "vaccineCode": {"text": "flu"},
        "patient": "Patient/1",
        "occurrenceDateTime": "2020-01-01",
        "meta": {"lastUpdated": "not-a-date"},
        "unexpectedElement": {"value": 1},
    }
    fixed = repair(resource)
    assert sorted(fixed) == ["meta.lastUpdated", "patient", "status", "unexpectedElement"]
    assert resource["status"] == "completed"
    assert resource["patient"] == {"reference": "Patient/1"}
    assert check_resource(resource) is None


def test_ambiguous_problems_are_left_alone() -> None:
    resource = {
        "resourceType": "Observation",
        "id": "o1",
        "status": ["final", "amended"],  # which one? not ours to guess
        "code": {"text": "x"},
    }
    assert repair(resource) == []
    assert resource["status"] == ["final", "amended"]
    assert check_resource(resource) is not None


def test_a_valid_resource_is_untouched() -> None:
    resource = {"resourceType": "Patient", "id": "p", "gender": "female"}
    assert repair(resource) == []
    assert resource == {"resourceType": "Patient", "id": "p", "gender": "female"}
