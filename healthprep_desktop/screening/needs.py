"""Which FHIR resource types the screening library, the measures and the sheet read.

The chart fetch and the SMART read scopes are derived from this, never kept by hand: a
criterion naming a type the fetcher does not retrieve could never match (frailty device orders,
hospice service requests and statin allergies went unseen that way).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from healthprep_desktop.screening.facts import _CODE_FIELDS as CODE_FIELDS
from healthprep_desktop.screening.library import Criterion, Library, default_library
from healthprep_desktop.screening.measures.chart import MEASURE_TYPES

# What the prep sheet's sections read besides coded criteria (documents, labs, stays, visits),
# and what resolves references (Medication behind medicationReference).
SHEET_TYPES = ("DocumentReference", "DiagnosticReport", "Encounter", "Observation", "Medication")


def criteria(value: Any) -> Iterator[Criterion]:
    """Every Criterion reachable from a library object (screenings, variants, exclusions...)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Criterion):
            yield item
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, list | tuple | frozenset | set):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def library_types(library: Library) -> set[str]:
    types: set[str] = set()
    for criterion in criteria(library.screenings):
        # No resource list: the criterion matches a code on any type the facts index.
        types |= set(criterion.resources) if criterion.resources is not None else set(CODE_FIELDS)
    return types


def record_types(library: Library | None = None) -> tuple[str, ...]:
    """The resource types a patient's chart is fetched with (Patient aside), sorted."""
    types = library_types(library or default_library())
    types |= set(MEASURE_TYPES) | set(SHEET_TYPES)
    types.discard("Patient")
    return tuple(sorted(types))


__all__ = ["SHEET_TYPES", "criteria", "library_types", "record_types"]
