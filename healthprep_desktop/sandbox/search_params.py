"""The search parameters the sandbox supports per resource type, and how values are extracted.

Each parameter names its kind (token, date, reference, string) and the element paths it reads;
the store extracts every value once, when a resource is stored, so a search only compares
precomputed tuples. The same table feeds the CapabilityStatement, so what the server says it
supports and what it does cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from healthprep_desktop.sandbox import fhirdates

JSON = dict[str, Any]
Token = tuple[str, str]  # (system or "", code)


class ParamKind(StrEnum):
    TOKEN = "token"  # noqa: S105 - the FHIR parameter type
    DATE = "date"
    REFERENCE = "reference"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class SearchParam:
    name: str
    kind: ParamKind
    paths: tuple[str, ...]
    target: str | None = None  # reference params: keep only references to this type


def _t(name: str, *paths: str) -> SearchParam:
    return SearchParam(name, ParamKind.TOKEN, paths)


def _d(name: str, *paths: str) -> SearchParam:
    return SearchParam(name, ParamKind.DATE, paths)


def _s(name: str, *paths: str) -> SearchParam:
    return SearchParam(name, ParamKind.STRING, paths)


def _r(name: str, *paths: str, target: str | None = None) -> SearchParam:
    return SearchParam(name, ParamKind.REFERENCE, paths, target)


_IDENTIFIER = _t("identifier", "identifier")
_PATIENT = _r("patient", "subject", target="Patient")
_SUBJECT = _r("subject", "subject")
_ENCOUNTER = _r("encounter", "encounter")
_CLINICAL = (_IDENTIFIER, _PATIENT, _SUBJECT, _ENCOUNTER)

_TABLE: dict[str, tuple[SearchParam, ...]] = {
    "Patient": (
        _IDENTIFIER,
        _s("name", "name"),
        _s("family", "name.family"),
        _s("given", "name.given"),
        _t("gender", "gender"),
        _d("birthdate", "birthDate"),
        _t("active", "active"),
        _r("general-practitioner", "generalPractitioner"),
        # Cross-source matching (issue 16) searches by phone: digits match however written.
        _t("phone", "telecom"),
        _t("telecom", "telecom"),
    ),
    "Practitioner": (
        _IDENTIFIER,
        _s("name", "name"),
        _s("family", "name.family"),
        _s("given", "name.given"),
        _t("active", "active"),
    ),
    "Location": (_IDENTIFIER, _s("name", "name"), _t("status", "status")),
    "Organization": (_IDENTIFIER, _s("name", "name")),
    "Appointment": (
        _IDENTIFIER,
        _d("date", "start"),
        _t("status", "status"),
        _r("patient", "participant.actor", target="Patient"),
        _r("practitioner", "participant.actor", target="Practitioner"),
        _r("location", "participant.actor", target="Location"),
        _r("actor", "participant.actor"),
        _t("service-type", "serviceType"),
        _t("appointment-type", "appointmentType"),
    ),
    "Encounter": (
        _IDENTIFIER,
        _PATIENT,
        _SUBJECT,
        _d("date", "period"),
        _r("appointment", "appointment", target="Appointment"),
        _t("status", "status"),
        _t("class", "class"),
        _t("type", "type"),
        _t("reason-code", "reasonCode"),
        _r("practitioner", "participant.individual", target="Practitioner"),
        _r("participant", "participant.individual"),
        _r("location", "location.location"),
        _r("service-provider", "serviceProvider"),
    ),
    "Condition": (
        *_CLINICAL,
        _t("code", "code"),
        _t("category", "category"),
        _t("clinical-status", "clinicalStatus"),
        _t("verification-status", "verificationStatus"),
        _d("onset-date", "onset[x]"),
        _d("recorded-date", "recordedDate"),
        _d("abatement-date", "abatement[x]"),
    ),
    "Observation": (
        *_CLINICAL,
        _t("code", "code"),
        _t("category", "category"),
        _t("status", "status"),
        _d("date", "effective[x]"),
        _d("issued", "issued"),
        _t("value-concept", "valueCodeableConcept"),
        _t("combo-code", "code", "component.code"),
    ),
    "Procedure": (
        *_CLINICAL,
        _t("code", "code"),
        _t("category", "category"),
        _t("status", "status"),
        _d("date", "performed[x]"),
    ),
    "DiagnosticReport": (
        *_CLINICAL,
        _t("code", "code"),
        _t("category", "category"),
        _t("status", "status"),
        _d("date", "effective[x]"),
        _d("issued", "issued"),
        _r("result", "result"),
    ),
    "Immunization": (
        _IDENTIFIER,
        _r("patient", "patient", target="Patient"),
        _t("vaccine-code", "vaccineCode"),
        _t("status", "status"),
        _d("date", "occurrence[x]"),
    ),
    "MedicationRequest": (
        *_CLINICAL,
        _t("code", "medication[x]"),
        _r("medication", "medicationReference", target="Medication"),
        _t("status", "status"),
        _t("intent", "intent"),
        _t("category", "category"),
        _d("authoredon", "authoredOn"),
    ),
    # The rest of what the measures read (QI-Core retrieves), each in the patient compartment.
    "MedicationStatement": (
        *_CLINICAL,
        _t("code", "medication[x]"),
        _r("medication", "medicationReference", target="Medication"),
        _t("status", "status"),
    ),
    "MedicationDispense": (
        *_CLINICAL,
        _t("code", "medication[x]"),
        _r("medication", "medicationReference", target="Medication"),
        _t("status", "status"),
    ),
    "MedicationAdministration": (
        *_CLINICAL,
        _t("code", "medication[x]"),
        _r("medication", "medicationReference", target="Medication"),
        _t("status", "status"),
    ),
    "Medication": (_IDENTIFIER, _t("code", "code")),
    "ServiceRequest": (
        *_CLINICAL,
        _t("code", "code"),
        _t("category", "category"),  # US Core 6.0+: patient+category is a SHALL search
        _t("status", "status"),
        _d("authored", "authoredOn"),
    ),
    "DeviceRequest": (*_CLINICAL, _t("code", "code[x]"), _t("status", "status")),
    "Device": (_IDENTIFIER, _r("patient", "patient", target="Patient"), _t("type", "type")),
    "AdverseEvent": (_IDENTIFIER, _PATIENT, _SUBJECT, _t("event", "event"), _d("date", "date")),
    "Communication": (*_CLINICAL, _t("status", "status"), _d("sent", "sent")),
    "Coverage": (
        _IDENTIFIER,
        _r("patient", "beneficiary", target="Patient"),
        _r("beneficiary", "beneficiary"),
        _t("type", "type"),
        _t("status", "status"),
    ),
    "DocumentReference": (
        # FHIR R4: DocumentReference.masterIdentifier | DocumentReference.identifier
        _t("identifier", "masterIdentifier", "identifier"),
        _PATIENT,
        _SUBJECT,
        _r("encounter", "context.encounter"),
        _t("type", "type"),
        _t("category", "category"),
        _t("status", "status"),
        _d("date", "date"),
        _d("period", "context.period"),
        _t("contenttype", "content.attachment.contentType"),
        _r("author", "author"),
    ),
    "Binary": (),
    # Documents posted whole (DEQM gaps-in-care reports); found again by their identifier.
    "Bundle": (_IDENTIFIER,),
    "AllergyIntolerance": (
        _IDENTIFIER,
        _r("patient", "patient", target="Patient"),
        _t("clinical-status", "clinicalStatus"),
        _t("code", "code"),
    ),
    "CarePlan": (
        *_CLINICAL,
        _t("status", "status"),
        _t("category", "category"),
        _d("date", "period"),
    ),
    "Goal": (_IDENTIFIER, _PATIENT, _SUBJECT, _t("lifecycle-status", "lifecycleStatus")),
    "ImagingStudy": (
        *_CLINICAL,
        _t("status", "status"),
        _d("started", "started"),
    ),
}

# Types the sandbox advertises even before data of that type exists.
CORE_TYPES = (
    "Patient",
    "Practitioner",
    "Location",
    "Organization",
    "Appointment",
    "Encounter",
    "Condition",
    "Observation",
    "Procedure",
    "DiagnosticReport",
    "Immunization",
    "MedicationRequest",
    "DocumentReference",
    "Binary",
)
# Stored types outside the table still get these (Synthea writes e.g. Claim-free CarePlans).
_FALLBACK = (_IDENTIFIER, _PATIENT, _r("patient", "patient", target="Patient"), _SUBJECT)

_BY_NAME: dict[str, dict[str, list[SearchParam]]] = {}


def params_for(resource_type: str) -> dict[str, list[SearchParam]]:
    """Parameter name -> its definitions (a name can read several paths, e.g. patient)."""
    cached = _BY_NAME.get(resource_type)
    if cached is None:
        cached = {}
        for param in _TABLE.get(resource_type, _FALLBACK):
            cached.setdefault(param.name, []).append(param)
        _BY_NAME[resource_type] = cached
    return cached


def known_types() -> tuple[str, ...]:
    return tuple(_TABLE)


# --- extraction ---------------------------------------------------------------------------


_Steps = tuple[tuple[str, bool], ...]  # (element name or choice stem, is a choice [x])
_STEPS: dict[str, _Steps] = {}


def _steps(path: str) -> _Steps:
    found = _STEPS.get(path)
    if found is None:
        found = tuple(
            (seg[:-3], True) if seg.endswith("[x]") else (seg, False) for seg in path.split(".")
        )
        _STEPS[path] = found
    return found


def _walk(node: Any, path: str) -> list[Any]:
    current: list[Any] = [node]
    for name, choice in _steps(path):
        found: list[Any] = []
        for item in current:
            if not isinstance(item, dict):
                continue
            if choice:
                values = [
                    v
                    for k, v in item.items()
                    if k.startswith(name) and len(k) > len(name) and k[len(name)].isupper()
                ]
            else:
                value = item.get(name)
                if value is None:
                    continue
                values = value if isinstance(value, list) else [value]
                found.extend(values)
                continue
            for value in values:
                if isinstance(value, list):
                    found.extend(value)
                else:
                    found.append(value)
        if not found:
            return found
        current = found
    return current


def normalize_reference(reference: str) -> str:
    """'http://x/fhir/Patient/1/_history/2' -> 'Patient/1'; relative ones pass through."""
    if reference.startswith(("urn:", "#")):
        return reference
    ref = reference.split("/_history/", 1)[0]
    parts = [p for p in ref.split("/") if p]
    if len(parts) >= 2 and "?" not in ref:
        return f"{parts[-2]}/{parts[-1]}"
    return ref


def _tokens(value: Any) -> list[Token]:
    if isinstance(value, bool):
        return [("", "true" if value else "false")]
    if isinstance(value, str):
        return [("", value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return [
            (str(c.get("system", "")), str(c["code"]))
            for c in value["coding"]
            if isinstance(c, dict) and "code" in c
        ]
    if "code" in value:  # Coding
        return [(str(value.get("system", "")), str(value["code"]))]
    if "value" in value:  # Identifier
        return [(str(value.get("system", "")), str(value["value"]))]
    return []


def _phone_tokens(value: Any) -> list[Token]:
    """A phone ContactPoint as written, as its digits and as its last ten digits (a national
    number without the country code), so "phone=5551234567" finds "(555) 123-4567"."""
    if not isinstance(value, dict) or value.get("system") != "phone" or not value.get("value"):
        return []
    written = str(value["value"])
    digits = "".join(c for c in written if c.isdigit())
    return [("", v) for v in dict.fromkeys((written, digits, digits[-10:])) if v]


def _dates(value: Any) -> list[fhirdates.Range]:
    if isinstance(value, str):
        found = fhirdates.parse_range(value)
        return [] if found is None else [found]
    if isinstance(value, dict) and ("start" in value or "end" in value):
        found = fhirdates.period_range(value.get("start"), value.get("end"))
        return [] if found is None else [found]
    return []


def fold_string(text: str) -> str:
    """FHIR string search compares "after both have been normalized by case and accent":
    "Tomás" and "TOMAS" are the same value."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [fold_string(value)]
    if isinstance(value, dict):  # HumanName
        out = [fold_string(str(value["family"]))] if "family" in value else []
        out.extend(fold_string(str(g)) for g in value.get("given", []))
        if "text" in value:
            out.append(fold_string(str(value["text"])))
        return out
    return []


def _references(value: Any, target: str | None) -> list[str]:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return []
    ref = normalize_reference(value["reference"])
    if target is not None and not ref.startswith(target + "/"):
        return []
    return [ref]


def extract(resource: JSON, params: list[SearchParam]) -> tuple[Any, ...]:
    """All values of one parameter name (union over its definitions and paths)."""
    out: list[Any] = []
    for param in params:
        for path in param.paths:
            for value in _walk(resource, path):
                if param.kind is ParamKind.TOKEN:
                    out.extend(_phone_tokens(value) if param.name == "phone" else _tokens(value))
                elif param.kind is ParamKind.DATE:
                    out.extend(_dates(value))
                elif param.kind is ParamKind.STRING:
                    out.extend(_strings(value))
                else:
                    out.extend(_references(value, param.target))
    return tuple(dict.fromkeys(out))


def index_resource(resource: JSON) -> dict[str, tuple[Any, ...]]:
    """Every supported parameter's values for one resource (empty tuples dropped)."""
    index: dict[str, tuple[Any, ...]] = {}
    for name, params in params_for(str(resource.get("resourceType", ""))).items():
        values = extract(resource, params)
        if values:
            index[name] = values
    return index
