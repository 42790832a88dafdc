"""One patient's chart as CQL retrieves see it: ``[Type: "value set"]``, negations, references.

A retrieve returns the resources of a type whose primary code (QI-Core's code path per type) has
a coding in the value set. On top of what a CQL engine does, three rules keep noise out, each
from the measure authoring conventions rather than taste:

- A resource with a ``modifierExtension`` this module does not understand changes meaning in a
  way the measure cannot know: it is never returned.
- Requests marked do-not-perform (R4 ``doNotPerform`` or the QI-Core/R5 extension) are not
  orders: positive retrieves skip them; :meth:`Chart.not_requested` returns them.
- ``medicationReference`` is resolved (contained or a Medication in the chart) and matched on the
  Medication's code.

Negation retrieves (ProcedureNotDone, ObservationCancelled, ServiceNotRequested,
MedicationNotRequested, ImmunizationNotDone, CommunicationNotDone) also match on the QI-Core
``notDoneValueSet`` extension that names the value set instead of a code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import Any

from healthprep_desktop.screening.measures.cqltime import parse_date
from healthprep_desktop.screening.valuesets import load_valueset, normalize_code, normalize_system

JSON = dict[str, Any]

# QI-Core primary code paths (the retrieve's code filter), per resource type.
CODE_PATHS: dict[str, tuple[str, ...]] = {
    "AdverseEvent": ("event",),
    "AllergyIntolerance": ("code",),
    "Communication": ("reasonCode", "topic"),
    "Condition": ("code",),
    "Coverage": ("type",),
    "Device": ("type",),
    "DeviceRequest": ("codeCodeableConcept",),
    "DiagnosticReport": ("code",),
    "Encounter": ("type",),
    "ImagingStudy": ("procedureCode",),
    "Immunization": ("vaccineCode",),
    "Medication": ("code",),
    "MedicationAdministration": ("medicationCodeableConcept",),
    "MedicationDispense": ("medicationCodeableConcept",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "Observation": ("code",),
    "Procedure": ("code",),
    "ServiceRequest": ("code",),
}
MEDICATION_TYPES = frozenset(
    {"MedicationRequest", "MedicationAdministration", "MedicationDispense", "MedicationStatement"}
)
# Every type a measure may retrieve: the chart fetch asks for these.
MEASURE_TYPES: tuple[str, ...] = tuple(sorted(CODE_PATHS))

_DO_NOT_PERFORM_URLS = frozenset(
    {
        "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform",
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-DeviceRequest.doNotPerform",
        "http://hl7.org/fhir/StructureDefinition/request-doNotPerform",
    }
)
_NOT_DONE_VS_URLS = frozenset(
    {
        "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneValueSet",
        "http://hl7.org/fhir/StructureDefinition/valueset-reference",
    }
)
# Modifier extensions whose meaning the retrieves already honour.
_UNDERSTOOD_MODIFIERS = _DO_NOT_PERFORM_URLS

VS_PREFIX = "http://cts.nlm.nih.gov/fhir/ValueSet/"
US_CORE_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"


def codings(concept: Any) -> Iterator[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept (or a list of them), normalised."""
    items = concept if isinstance(concept, list) else [concept]
    for item in items:
        if not isinstance(item, dict):
            continue
        for coding in item.get("coding") or ():
            if isinstance(coding, dict) and coding.get("code"):
                system = normalize_system(coding.get("system"))
                yield system, normalize_code(system, str(coding["code"]))


@lru_cache(maxsize=4096)
def value_set_keys(oids: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """The (system, code) keys of one value set or the union of several, computed once: a
    ValueSet hashes all of its codes, far too slow to look up per retrieve."""
    return frozenset().union(*(load_valueset(oid).keys for oid in oids))


def concept_in(concept: Any, oid: str) -> bool:
    """`concept in "value set"`."""
    keys = value_set_keys((oid,))
    return any(key in keys for key in codings(concept))


@lru_cache(maxsize=4096)
def _key(system: str, code: str) -> tuple[str, str]:
    norm = normalize_system(system)
    return norm, normalize_code(norm, code)


def concept_is(concept: Any, system: str, code: str) -> bool:
    """`concept ~ "direct reference code"`."""
    wanted = _key(system, code)
    return any(key == wanted for key in codings(concept))


def text_is(value: Any, *wanted: str) -> bool:
    """`value ~ 'x'` for a code string: case-insensitive."""
    return isinstance(value, str) and value.strip().lower() in {w.lower() for w in wanted}


def do_not_perform(resource: JSON) -> bool:
    if resource.get("doNotPerform") is True:
        return True
    for key in ("modifierExtension", "extension"):
        for ext in resource.get(key) or ():
            if (
                isinstance(ext, dict)
                and ext.get("url") in _DO_NOT_PERFORM_URLS
                and ext.get("valueBoolean") is True
            ):
                return True
    return False


def has_unknown_modifier(resource: JSON) -> bool:
    """A modifierExtension whose meaning we do not know changes what the resource says."""
    for ext in resource.get("modifierExtension") or ():
        if not isinstance(ext, dict) or ext.get("url") not in _UNDERSTOOD_MODIFIERS:
            return True
    return False


def not_done_value_sets(concept: Any) -> set[str]:
    """The value sets a negated resource's code names (QI-Core notDoneValueSet), by OID."""
    found: set[str] = set()
    if not isinstance(concept, dict):
        return found
    for ext in concept.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") in _NOT_DONE_VS_URLS:
            value = ext.get("valueCanonical") or ext.get("valueUri") or ext.get("valueString")
            if isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1].split("|")[0])
    return found


def reference_id(reference: Any) -> str | None:
    """The id in a Reference ("Encounter/abc", a full URL, "urn:uuid:abc")."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str) or not reference:
        return None
    tail = reference.split("|")[0].rstrip("/")
    if tail.startswith("urn:uuid:"):
        return tail[len("urn:uuid:") :]
    parts = tail.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if parts else None


class Chart:
    """The resources of one patient, indexed for retrieves."""

    def __init__(self, patient: JSON, resources: Iterable[Any]) -> None:
        self.patient = patient
        self._by_type: dict[str, list[JSON]] = defaultdict(list)
        self._by_id: dict[tuple[str, str], JSON] = {}
        self._keys: dict[int, frozenset[tuple[str, str]]] = {}  # id(resource) -> code keys
        self._usable: dict[str, list[JSON]] = {}  # type -> without unknown modifiers
        self._orders: dict[str, list[JSON]] = {}  # type -> usable, and not do-not-perform
        for resource in resources:
            if not isinstance(resource, dict):  # a stray non-object in a hostile bundle
                continue
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str) or rtype == "Patient":
                continue
            self._by_type[rtype].append(resource)
            rid = resource.get("id")
            if isinstance(rid, str):
                self._by_id[(rtype, rid)] = resource

    # ---- patient --------------------------------------------------------------------------

    @property
    def patient_id(self) -> str:
        return str(self.patient.get("id", ""))

    @property
    def birth_date(self) -> date | None:
        return parse_date(self.patient.get("birthDate"))

    @property
    def gender(self) -> str | None:
        value = self.patient.get("gender")
        return value if isinstance(value, str) else None

    @property
    def sex(self) -> str | None:
        """QI-Core 6 `Patient.sex`: the us-core-sex extension's code (a SNOMED code)."""
        for ext in self.patient.get("extension") or ():
            if isinstance(ext, dict) and ext.get("url") == US_CORE_SEX:
                if isinstance(ext.get("valueCode"), str):
                    return str(ext["valueCode"])
                coding = ext.get("valueCoding")
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    return str(coding["code"])
        return None

    # ---- retrieves -------------------------------------------------------------------------

    def all_of(self, resource_type: str) -> list[JSON]:
        """Every usable resource of a type (no code filter): unknown modifiers dropped."""
        found = self._usable.get(resource_type)
        if found is None:
            found = [r for r in self._by_type.get(resource_type, ()) if not has_unknown_modifier(r)]
            self._usable[resource_type] = found
        return list(found)

    def _positive(self, resource_type: str) -> list[JSON]:
        found = self._orders.get(resource_type)
        if found is None:
            found = [r for r in self.all_of(resource_type) if not do_not_perform(r)]
            self._orders[resource_type] = found
        return found

    def resolve(self, reference: Any, resource_type: str | None = None) -> JSON | None:
        """The chart resource a Reference points at (by type and id)."""
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        rid = reference_id(ref)
        if rid is None:
            return None
        if resource_type is None and isinstance(ref, str) and "/" in ref:
            parts = ref.split("/")
            if "_history" in parts:
                parts = parts[: parts.index("_history")]
            resource_type = parts[-2] if len(parts) >= 2 else None
        if resource_type is not None:
            return self._by_id.get((resource_type, rid))
        for (_, known_id), resource in self._by_id.items():
            if known_id == rid:
                return resource
        return None

    def medication_concept(self, resource: JSON) -> Any:
        """The medication's CodeableConcept, following medicationReference when needed."""
        concept = resource.get("medicationCodeableConcept")
        if concept is not None:
            return concept
        ref = resource.get("medicationReference")
        if not isinstance(ref, dict):
            return None
        target = ref.get("reference")
        if isinstance(target, str) and target.startswith("#"):
            for contained in resource.get("contained") or ():
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    return contained.get("code")
            return None
        medication = self.resolve(ref, "Medication")
        return medication.get("code") if medication else None

    def primary_code(self, resource: JSON) -> list[Any]:
        rtype = str(resource.get("resourceType", ""))
        if rtype in MEDICATION_TYPES:
            return [self.medication_concept(resource)]
        return [resource.get(path) for path in CODE_PATHS.get(rtype, ("code",))]

    def code_keys(self, resource: JSON) -> frozenset[tuple[str, str]]:
        """The normalised codings of a resource's primary code, worked out once per chart."""
        found = self._keys.get(id(resource))
        if found is None:
            found = frozenset(
                key for concept in self.primary_code(resource) for key in codings(concept)
            )
            self._keys[id(resource)] = found
        return found

    def _code_in(self, resource: JSON, keys: frozenset[tuple[str, str]]) -> bool:
        return not self.code_keys(resource).isdisjoint(keys)

    def retrieve(self, resource_type: str, *oids: str) -> list[JSON]:
        """`[Type: "value set"]` (several OIDs: their union); do-not-perform requests skipped."""
        keys = value_set_keys(oids)
        return [r for r in self._positive(resource_type) if self._code_in(r, keys)]

    def retrieve_code(self, resource_type: str, system: str, code: str) -> list[JSON]:
        """`[Type: "direct reference code"]`."""
        wanted = _key(system, code)
        return [r for r in self._positive(resource_type) if wanted in self.code_keys(r)]

    def _negated(self, resource: JSON, oids: tuple[str, ...]) -> bool:
        if self._code_in(resource, value_set_keys(oids)):
            return True
        named = set().union(*(not_done_value_sets(c) for c in self.primary_code(resource)))
        return any(oid in named for oid in oids)

    def not_done(self, resource_type: str, *oids: str) -> list[JSON]:
        """ProcedureNotDone / ImmunizationNotDone / CommunicationNotDone: status not-done."""
        return [
            r
            for r in self.all_of(resource_type)
            if text_is(r.get("status"), "not-done") and self._negated(r, oids)
        ]

    def cancelled(self, *oids: str) -> list[JSON]:
        """ObservationCancelled: an Observation with status cancelled."""
        return [
            r
            for r in self.all_of("Observation")
            if text_is(r.get("status"), "cancelled") and self._negated(r, oids)
        ]

    def not_requested(self, resource_type: str, *oids: str) -> list[JSON]:
        """ServiceNotRequested / MedicationNotRequested / DeviceNotRequested."""
        return [
            r for r in self.all_of(resource_type) if do_not_perform(r) and self._negated(r, oids)
        ]


def reference_of(resource: JSON) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


__all__ = [
    "CODE_PATHS",
    "MEASURE_TYPES",
    "VS_PREFIX",
    "Chart",
    "codings",
    "concept_in",
    "concept_is",
    "do_not_perform",
    "has_unknown_modifier",
    "not_done_value_sets",
    "reference_id",
    "reference_of",
    "text_is",
    "value_set_keys",
]
