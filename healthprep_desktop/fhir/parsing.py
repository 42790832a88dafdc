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
