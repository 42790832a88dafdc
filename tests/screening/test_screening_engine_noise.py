"""Defects the measures already rule out, in the visit-day engine: a resource with a modifier
extension it does not understand never counts; a do-not-perform request (R4 field or the
QI-Core/R5 extension) is not an order; a prescription naming its drug by reference is matched
on the Medication's code."""

from __future__ import annotations

from engine_fixtures import (
    AS_OF,
    RXNORM,
    code_in,
    condition,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.model import Status

COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
ASCVD = "2.16.840.1.113762.1.4.1047.46"
HOSPICE_AMBULATORY = "2.16.840.1.113883.3.526.3.1584"
STATIN = "2.16.840.1.113883.3.526.3.1574"
DNP_EXTENSION = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform"


def test_unknown_modifier_extension_means_no_evidence() -> None:
    scope = procedure(*code_in(COLONOSCOPY), "2020-01-01")
    assert run(patient("1960-01-01"), scope)["colorectal_cancer"].status is Status.COMPLETE
    scope["modifierExtension"] = [
        {"url": "http://example.org/fhir/was-planned-only", "valueBoolean": True}
    ]
    assert run(patient("1960-01-01"), scope)["colorectal_cancer"].status is Status.DUE


def _hospice_order(**extra: object) -> dict[str, object]:
    system, code = code_in(HOSPICE_AMBULATORY)
    return {
        "resourceType": "ServiceRequest",
        "id": "hospice-order",
        "status": "active",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": code}]},
        "authoredOn": "2021-05-01",
        **extra,
    }


def test_do_not_perform_extension_is_not_an_order() -> None:
    pat = patient("1960-01-01")
    ordered = run(pat, _hospice_order())["colorectal_cancer"]
    assert ordered.status is Status.NOT_APPLICABLE  # a hospice order excludes
    refused = _hospice_order(modifierExtension=[{"url": DNP_EXTENSION, "valueBoolean": True}])
    assert run(pat, refused)["colorectal_cancer"].status is Status.DUE
    plain = _hospice_order(extension=[{"url": DNP_EXTENSION, "valueBoolean": True}])
    assert run(pat, plain)["colorectal_cancer"].status is Status.DUE


def test_statin_named_by_medication_reference() -> None:
    pat = patient("1960-01-01", "male")
    cvd = condition(*code_in(ASCVD), "2018-01-01")
    system, code = code_in(STATIN, RXNORM)
    medication = {
        "resourceType": "Medication",
        "id": "atorvastatin",
        "code": {"coding": [{"system": system, "code": code}]},
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "statin-order",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/atorvastatin"},
        "authoredOn": "2021-03-01",
    }
    assert run(pat, cvd, order)["lipids_statin"].status in (Status.DUE, Status.OVERDUE)
    assert run(pat, cvd, order, medication)["lipids_statin"].status is Status.COMPLETE
    assert AS_OF.year == 2021
