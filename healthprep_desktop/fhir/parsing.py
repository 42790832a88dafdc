"""Lenient resource validation with the fhir.resources R4B models.

One invalid resource is reported (type, id and the kind of error: never values, which can be
PHI) and dropped or kept raw; it never sinks the page it came in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class InvalidResource:
    resource_type: str
    resource_id: str | None
    error_kinds: tuple[str, ...]  # pydantic error types, e.g. "value_error", "missing"
    paths: tuple[str, ...]  # element paths, e.g. "valueQuantity.value" (no values)
    kept: bool = False  # True when kept raw (keep_invalid option)

    def describe(self) -> str:
        where = ", ".join(self.paths[:3]) or "resource"
        kinds = ", ".join(sorted(set(self.error_kinds))[:3])
        return f"{self.resource_type}/{self.resource_id or '?'} is invalid at {where} ({kinds})"


InvalidHandler = Callable[[InvalidResource], None]


@cache
def _model(resource_type: str) -> Any:
    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        return None


def check_resource(resource: Any) -> InvalidResource | None:
    """None when the resource validates against its R4B model."""
    if not isinstance(resource, dict):
        return InvalidResource("?", None, ("not-an-object",), ())
    resource_type = resource.get("resourceType")
    resource_id = resource.get("id") if isinstance(resource.get("id"), str) else None
    if not isinstance(resource_type, str):
        return InvalidResource("?", resource_id, ("missing-resource-type",), ())
    model = _model(resource_type)
    if model is None:
        return InvalidResource(resource_type, resource_id, ("unknown-resource-type",), ())
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_context=False, include_url=False)
        return InvalidResource(
            resource_type,
            resource_id,
            tuple(str(e.get("type", "invalid")) for e in errors),
            tuple(".".join(str(p) for p in e.get("loc", ())) for e in errors),
        )
    except (TypeError, ValueError) as exc:
        return InvalidResource(resource_type, resource_id, (type(exc).__name__,), ())
    return None


def parse_model(resource: JSON) -> Any:
    """The R4B model instance for a resource (raises pydantic's ValidationError)."""
    model = _model(str(resource.get("resourceType")))
    if model is None:
        raise ValueError("unknown resource type")
    return model.model_validate(resource)


# What pydantic says when a complex element (e.g. a Reference) arrives as a bare string.
_REFERENCE_SHAPED = frozenset({"model_type", "dict_type", "model_attributes_type", "json_invalid"})


def repair(resource: JSON) -> list[str]:
    """Undo the shape slips that buggy EHR interfaces make, in place, on a resource kept raw.

    Only unambiguous fixes at the top level: a scalar sent as a one-item list (``"status":
    ["final"]``), a reference sent as a bare string (``"subject": "Patient/1"``), and elements
    the model does not know. The engine reads a handful of fields; a status it cannot read would
    silently turn a completed screening into a "due" one. Returns the paths repaired (no values).
    """
    model = _model(str(resource.get("resourceType")))
    if model is None:
        return []
    repaired: list[str] = []
    # Validation stops reporting some elements until others pass; a few rounds reach them.
    for _ in range(3):
        fixed = _repair_round(model, resource)
        if not fixed:
            break
        repaired.extend(fixed)
    return repaired


def _repair_round(model: Any, resource: JSON) -> list[str]:
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_context=False, include_url=False)
    else:
        return []
    repaired: list[str] = []
    for error in errors:
        loc = error.get("loc", ())
        if not loc or not isinstance(loc[0], str) or loc[0] not in resource:
            continue
        key = loc[0]
        value = resource[key]
        kind = str(error.get("type", ""))
        if (
            isinstance(value, list)
            and len(value) == 1
            and isinstance(value[0], str | int | float | bool)
        ):
            resource[key] = value[0]
        elif isinstance(value, str) and kind in _REFERENCE_SHAPED:
            resource[key] = {"reference": value}
        elif kind == "extra_forbidden" and len(loc) == 1:
            del resource[key]
        elif key == "meta" and isinstance(value, dict) and len(loc) >= 2:
            value.pop(str(loc[1]), None)
        else:
            continue
        repaired.append(".".join(str(p) for p in loc))
    return repaired


# Every type a chart fetch validates (record, schedule, documents, outcomes).
CHART_TYPES = (
    "Bundle",
    "OperationOutcome",
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


def preload_models(resource_types: tuple[str, ...] = CHART_TYPES) -> int:
    """Import and build the R4B model classes ahead of use.

    fhir.resources imports each model module on first use, and building a model class costs
    tens of milliseconds; met first inside an async fetch, that freezes the event loop. Call
    this on a worker thread (asyncio.to_thread) before a batch. Returns the number loaded.
    """
    return sum(_model(t) is not None for t in resource_types)
