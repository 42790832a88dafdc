"""Reading a Bulk Data kick-off request: headers, query or Parameters body, checked.

Each refusal is a FhirError (an OperationOutcome) with one sentence saying what to send
instead. ``Prefer: handling=lenient`` turns the refusals of unknown types and unsupported
parameters into warnings, which the job writes to the manifest's error file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from healthprep_desktop.sandbox.fhir_common import FhirError
from healthprep_desktop.sandbox.search_params import normalize_reference

NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
_KNOWN_PARAMS = frozenset({"_type", "_since", "_outputFormat", "patient"})


@dataclass(frozen=True, slots=True)
class ExportRequest:
    level: str  # "system" | "patient" | "group"
    group_id: str | None
    types: tuple[str, ...] | None  # None = every type the token may read
    since: float | None  # epoch seconds, millisecond precision
    patients: tuple[str, ...] | None  # POST "patient" parameters: only these patients
    output_format: str
    lenient: bool
    warnings: tuple[str, ...]  # what lenient handling left out, one sentence each


@cache
def is_resource_type(name: str) -> bool:
    """Whether ``name`` is an R4 resource type (not a datatype, not a typo)."""
    if not name[:1].isupper():
        return False
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        model = get_fhir_model_class(name)
    except (ValueError, KeyError):
        return False
    return isinstance(model, type) and issubclass(model, Resource)


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a (possibly repeated) header, split on commas and semicolons."""
    getlist = getattr(headers, "getlist", None)
    raw = list(getlist(name)) if callable(getlist) else [headers.get(name, "")]
    out: list[str] = []
    for value in raw:
        for piece in value.replace(";", ",").split(","):
            if piece.strip():
                out.append(piece.strip().lower())
    return out


def parse_instant(value: str) -> float | None:
    """A FHIR instant (or dateTime with a time and zone) as epoch seconds, else None."""
    if "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def _parameters(body: bytes) -> list[tuple[str, str]]:
    """A POST kick-off's Parameters resource as (name, value) pairs."""
    try:
        resource = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirError(400, "invalid", "the kick-off body is not JSON") from exc
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        raise FhirError(400, "invalid", "a POST kick-off body must be a Parameters resource")
    pairs: list[tuple[str, str]] = []
    for item in resource.get("parameter") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise FhirError(400, "invalid", "each kick-off parameter needs a name")
        value: object = None
        for key, found in item.items():
            if key.startswith("value"):
                value = found
        if isinstance(value, dict):  # valueReference
            value = value.get("reference")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise FhirError(400, "invalid", f"kick-off parameter {item['name']} has no value")
        pairs.append((item["name"], str(value)))
    return pairs


def parse_kickoff(
    level: str,
    group_id: str | None,
    method: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes | None,
    offers_type: Callable[[str], bool],
) -> ExportRequest:
    """The checked kick-off; ``offers_type`` says whether the server exports a type."""
    prefer = header_values(headers, "prefer")
    if "respond-async" not in prefer:
        raise FhirError(
            400, "invalid", "a Bulk Data kick-off needs the header Prefer: respond-async"
        )
    accept = header_values(headers, "accept")
    if "application/fhir+json" not in accept:
        raise FhirError(
            400, "invalid", "a Bulk Data kick-off needs the header Accept: application/fhir+json"
        )
    lenient = "handling=lenient" in prefer
    params = list(query) + (_parameters(body or b"") if method == "POST" else [])
    warnings: list[str] = []
    unsupported = sorted({name for name, _ in params if name not in _KNOWN_PARAMS})
    if unsupported:
        text = f"this server does not support the export parameter(s) {', '.join(unsupported)}"
        if not lenient:
            raise FhirError(400, "not-supported", text + "; leave them out")
        warnings.append(text + "; they were ignored")

    formats = [v for name, v in params if name == "_outputFormat"]
    output_format = formats[-1] if formats else "application/fhir+ndjson"
    if output_format not in NDJSON_FORMATS:
        raise FhirError(
            400,
            "not-supported",
            f"_outputFormat {output_format!r} is not supported; use application/fhir+ndjson",
        )

    types: tuple[str, ...] | None = None
    named = [t.strip() for name, v in params if name == "_type" for t in v.split(",")]
    named = list(dict.fromkeys(t for t in named if t))
    if named:
        unknown = [t for t in named if not (is_resource_type(t) and offers_type(t))]
        if unknown and not lenient:
            raise FhirError(
                400,
                "not-supported",
                f"this server does not export {', '.join(unknown)}; remove it from _type "
                "or send Prefer: handling=lenient",
            )
        if unknown:
            warnings.append(f"_type {', '.join(unknown)} is not exported here and was ignored")
        types = tuple(t for t in named if t not in unknown)

    since: float | None = None
    since_values = [v for name, v in params if name == "_since"]
    if since_values:
        since = parse_instant(since_values[-1])
        if since is None:
            raise FhirError(
                400,
                "invalid",
                f"_since {since_values[-1]!r} is not a FHIR instant "
                "(e.g. 2026-12-01T00:00:00.000Z)",
            )
        since = int(since * 1000) / 1000.0

    patients: tuple[str, ...] | None = None
    refs = [normalize_reference(v) for name, v in params if name == "patient"]
    if refs:
        bad = [r for r in refs if not r.startswith("Patient/")]
        if bad:
            raise FhirError(400, "invalid", "patient parameters must reference Patient/[id]")
        patients = tuple(dict.fromkeys(r.split("/", 1)[1] for r in refs))
    return ExportRequest(
        level, group_id, types, since, patients, output_format, lenient, tuple(warnings)
    )
