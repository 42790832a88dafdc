"""Hand-built FHIR R4 JSON for the screening-engine tests (pure data, no test logic).

Imported by the tests beside it (pytest puts this directory on sys.path). Codes are written out
literally where the test is about a specific code; `code_in` picks a code from a value set
where any member will do (the value set is the rule's input, so that is not circular).
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.screening.record import DocumentText, PatientRecord
from healthprep_desktop.screening.valuesets import (
    CPT,
    CVX,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
)

JSON = dict[str, Any]
AS_OF = date(2021, 6, 30)
_ids = itertools.count(1)

__all__ = ["AS_OF", "CPT", "CVX", "ICD10CM", "LOINC", "RXNORM", "SNOMED"]

# Value set OIDs the tests use (names as cited in the library).
MAMMOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1018"
BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1005"
LEFT_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1133"
RIGHT_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1134"
STATUS_POST_LEFT = "2.16.840.1.113883.3.464.1003.198.12.1069"
UNSPECIFIED_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1071"
FRAILTY_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.113.12.1074"
ADVANCED_ILLNESS = "2.16.840.1.113883.3.464.1003.110.12.1082"
DIABETIC_RETINOPATHY = "2.16.840.1.113883.3.526.3.327"
HYSTERECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1014"
PALLIATIVE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1090"
ESRD = "2.16.840.1.113883.3.526.3.353"


def code_in(oid: str, system: str | None = None) -> tuple[str, str]:
    """(system, code): the first code of a value set, optionally of one code system."""
    keys = sorted(default_library().code_sets[oid].keys)
    for key in keys:
        if system is None or key[0] == system:
            return key
    raise LookupError(f"no {system} code in {oid}")


def cc(system: str, code: str, display: str = "") -> JSON:
    coding: JSON = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def patient(
    birth: str | None = "1960-01-01",
    gender: str | None = "female",
    *,
    extensions: list[JSON] | None = None,
    deceased: str | bool | None = None,
) -> JSON:
    p: JSON = {"resourceType": "Patient", "id": f"p{next(_ids)}"}
    if birth is not None:
        p["birthDate"] = birth
    if gender is not None:
        p["gender"] = gender
    if extensions:
        p["extension"] = extensions
    if isinstance(deceased, bool):
        p["deceasedBoolean"] = deceased
    elif deceased:
        p["deceasedDateTime"] = deceased
    return p


def us_core_sex(code: str) -> JSON:
    return {
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex",
        "valueCode": code,
    }


def birthsex(code: str) -> JSON:
    return {
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
        "valueCode": code,
    }


def observation(
    system: str,
    code: str,
    when: str | JSON | None,
    *,
    value: float | None = None,
    unit: str = "",
    value_code: tuple[str, str] | None = None,
    value_date: str | None = None,
    components: dict[str, float] | None = None,
    status: str = "final",
    extra: JSON | None = None,
) -> JSON:
    o: JSON = {
        "resourceType": "Observation",
        "id": f"obs{next(_ids)}",
        "status": status,
        "code": cc(system, code),
    }
    if isinstance(when, dict):
        o["effectivePeriod"] = when
    elif when is not None:
        o["effectiveDateTime"] = when
    if value is not None:
        o["valueQuantity"] = {"value": value, "unit": unit}
    if value_code is not None:
        o["valueCodeableConcept"] = cc(*value_code)
    if value_date is not None:
        o["valueDateTime"] = value_date
    if components:
        o["component"] = [
            {"code": cc(LOINC, c), "valueQuantity": {"value": v, "unit": "mm[Hg]"}}
            for c, v in components.items()
        ]
    if extra:
        o.update(extra)
    return o


def procedure(
    system: str,
    code: str,
    when: str | JSON | None,
    *,
    status: str = "completed",
    body_site: tuple[str, str] | None = None,
) -> JSON:
    p: JSON = {
        "resourceType": "Procedure",
        "id": f"proc{next(_ids)}",
        "status": status,
        "code": cc(system, code),
    }
    if isinstance(when, dict):
        p["performedPeriod"] = when
    elif when is not None:
        p["performedDateTime"] = when
    if body_site:
        p["bodySite"] = [cc(*body_site)]
    return p


def condition(
    system: str,
    code: str,
    onset: str | None = "2015-01-01",
    *,
    clinical: str | None = "active",
    verification: str | None = None,
    abatement: str | None = None,
    body_site: tuple[str, str] | None = None,
) -> JSON:
    c: JSON = {"resourceType": "Condition", "id": f"cond{next(_ids)}", "code": cc(system, code)}
    if onset:
        c["onsetDateTime"] = onset
    if clinical:
        c["clinicalStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical
        )
    if verification:
        c["verificationStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification
        )
    if abatement:
        c["abatementDateTime"] = abatement
    if body_site:
        c["bodySite"] = [cc(*body_site)]
    return c


def immunization(cvx: str, when: str, *, status: str = "completed") -> JSON:
    return {
        "resourceType": "Immunization",
        "id": f"imm{next(_ids)}",
        "status": status,
        "vaccineCode": cc(CVX, cvx),
        "occurrenceDateTime": when,
    }


def encounter(
    system: str,
    code: str,
    start: str,
    end: str | None = None,
    *,
    status: str = "finished",
    discharge: tuple[str, str] | None = None,
) -> JSON:
    e: JSON = {
        "resourceType": "Encounter",
        "id": f"enc{next(_ids)}",
        "status": status,
        "type": [cc(system, code)],
        "period": {"start": start, **({"end": end} if end else {})},
    }
    if discharge:
        e["hospitalization"] = {"dischargeDisposition": cc(*discharge)}
    return e


def medication_request(code: str, authored: str, *, status: str = "active") -> JSON:
    return {
        "resourceType": "MedicationRequest",
        "id": f"med{next(_ids)}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": cc(RXNORM, code),
        "authoredOn": authored,
    }


def document(
    reference: str, when: date | None, text: str, title: str = "Scanned document"
) -> DocumentText:
    from healthprep_desktop.screening.record import TextMethod

    return DocumentText(
        reference=reference,
        title=title,
        date=when,
        content_type="text/plain",
        content_hash=f"hash-{reference}",
        text=text,
        method=TextMethod.PLAIN,
    )


def run(
    pat: JSON,
    *resources: JSON,
    as_of: date = AS_OF,
    documents: list[DocumentText] | None = None,
    **kwargs: Any,
) -> dict[str, ScreeningResult]:
    record = PatientRecord(patient=pat, resources=list(resources), documents=documents or [])
    return {r.screening_id: r for r in evaluate(record, as_of, default_library(), **kwargs)}
