"""Retrieves as CQL sees them, plus the noise rules: unknown modifier extensions, do-not-perform
requests, negation by value-set extension, medication by reference."""

from __future__ import annotations

from healthprep_desktop.screening.measures.chart import Chart, reference_id
from tests.screening.measures.builders import SNOMED, Case, cc, code_in

HOSPICE_AMB = "2.16.840.1.113883.3.526.3.1584"
FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"
DEMENTIA_MEDS = "2.16.840.1.113883.3.464.1003.196.12.1510"
MAMMO = "2.16.840.1.113883.3.464.1003.108.12.1018"


def _chart(case: Case) -> Chart:
    return Chart(case.patient, case.resources)


def test_unknown_modifier_extension_hides_a_resource() -> None:
    case = Case("p", birth="1950-01-01")
    obs = case.observation(code_in(MAMMO), "2026-01-01", category="imaging")
    assert len(_chart(case).retrieve("Observation", MAMMO)) == 1
    obs["modifierExtension"] = [{"url": "http://example.org/not-really", "valueBoolean": True}]
    assert _chart(case).retrieve("Observation", MAMMO) == []


def test_do_not_perform_requests_are_not_orders() -> None:
    case = Case("p", birth="1950-01-01")
    device = code_in(FRAILTY_DEVICE)
    case.add("DeviceRequest", status="active", intent="order", codeCodeableConcept=cc(*device))
    flagged = case.add(
        "DeviceRequest",
        status="active",
        intent="order",
        codeCodeableConcept=cc(*device),
        modifierExtension=[
            {
                "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-DeviceRequest.doNotPerform",
                "valueBoolean": True,
            }
        ],
    )
    service = case.add(
        "ServiceRequest",
        status="active",
        intent="order",
        doNotPerform=True,
        code=cc(*code_in(HOSPICE_AMB)),
    )
    chart = _chart(case)
    assert [r["id"] for r in chart.retrieve("DeviceRequest", FRAILTY_DEVICE)] == [
        "p-devicerequest-1"
    ]
    assert [r["id"] for r in chart.not_requested("DeviceRequest", FRAILTY_DEVICE)] == [
        flagged["id"]
    ]
    assert chart.retrieve("ServiceRequest", HOSPICE_AMB) == []
    assert [r["id"] for r in chart.not_requested("ServiceRequest", HOSPICE_AMB)] == [service["id"]]


def test_negation_by_value_set_extension() -> None:
    case = Case("p", birth="1950-01-01")
    case.add(
        "Procedure",
        status="not-done",
        code={
            "extension": [
                {
                    "url": "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneValueSet",
                    "valueCanonical": f"http://cts.nlm.nih.gov/fhir/ValueSet/{HOSPICE_AMB}",
                }
            ]
        },
        statusReason=cc(SNOMED, "183932001"),
    )
    chart = _chart(case)
    assert len(chart.not_done("Procedure", HOSPICE_AMB)) == 1
    assert chart.retrieve("Procedure", HOSPICE_AMB) == []


def test_medication_by_reference_contained_or_in_the_chart() -> None:
    case = Case("p", birth="1950-01-01")
    med = code_in(DEMENTIA_MEDS)
    case.add("Medication", code=cc(*med))
    case.add(
        "MedicationRequest",
        status="active",
        intent="order",
        medicationReference={"reference": "Medication/p-medication-1"},
    )
    case.add(
        "MedicationRequest",
        status="active",
        intent="order",
        contained=[{"resourceType": "Medication", "id": "m", "code": cc(*med)}],
        medicationReference={"reference": "#m"},
    )
    case.add(
        "MedicationRequest",
        status="active",
        intent="order",
        medicationReference={"reference": "Medication/missing"},
    )
    found = _chart(case).retrieve("MedicationRequest", DEMENTIA_MEDS)
    assert sorted(r["id"] for r in found) == ["p-medicationrequest-1", "p-medicationrequest-2"]


def test_sex_is_the_us_core_extension() -> None:
    case = Case("p", birth="1950-01-01", sex=None, gender="female")
    assert _chart(case).sex is None and _chart(case).gender == "female"
    case = Case("p", birth="1950-01-01")
    assert _chart(case).sex == "248152002"


def test_reference_ids() -> None:
    assert reference_id("Encounter/abc") == "abc"
    assert reference_id("http://x/fhir/Encounter/abc/_history/2") == "abc"
    assert reference_id("urn:uuid:1234") == "1234"
    assert reference_id({"reference": "Encounter/abc"}) == "abc"
    assert reference_id("") is None
