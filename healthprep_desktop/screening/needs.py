"""Which FHIR resource types the screening library, the measures and the sheet read.

The chart fetch and the SMART read scopes are derived from this, never kept by hand: a
criterion naming a type the fetcher does not retrieve could never match (frailty device orders,
hospice service requests and statin allergies went unseen that way).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    return set(_library_types(library))


@functools.lru_cache(maxsize=8)
def _library_types(library: Library) -> frozenset[str]:
    # Cached per library object (frozen; hashed by identity): the chart fetch plans every
    # patient with it, and walking the library took ~7 ms per patient on the event loop.
    types: set[str] = set()
    for criterion in criteria(library.screenings):
        # No resource list: the criterion matches a code on any type the facts index.
        types |= set(criterion.resources) if criterion.resources is not None else set(CODE_FIELDS)
    return frozenset(types)


def record_types(library: Library | None = None) -> tuple[str, ...]:
    """The resource types a patient's chart is fetched with (Patient aside), sorted."""
    types = library_types(library or default_library())
    types |= set(MEASURE_TYPES) | set(SHEET_TYPES)
    types.discard("Patient")
    return tuple(sorted(types))


# --- categories ------------------------------------------------------------------------------
# A server that refuses a search without a category (US Core's Observation, Epic's Observation)
# is searched once per category, so the chart fetch must know which categories the engine reads.
# The codes are the binding of the US Core profiles (HL7 observation-category, US Core category
# code systems); each category is listed with what reads it, so a new rule that reads another
# category adds it here. tests/fhir/test_fetch_plan_equivalence.py screens the same clinic with
# every category and with these, and compares every result.
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
LOINC = "http://loinc.org"
MEDICATION_INTENT = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


@dataclass(frozen=True, slots=True)
class Category:
    system: str
    code: str
    read_by: str = ""  # why the engine needs it; "" = known to servers, read by nothing
    param: str = "category"  # the search parameter the value goes in

    @property
    def token(self) -> str:
        return f"{self.system}|{self.code}"


# Every category a US Core server may file a resource under (what a naive fetch asks for).
ALL_CATEGORIES: dict[str, tuple[Category, ...]] = {
    "Observation": (
        Category(OBS_CATEGORY, "laboratory", "lab rules (A1c, lipids, FIT, HPV), the Labs section"),
        Category(OBS_CATEGORY, "vital-signs", "blood pressure and BMI rules, CMS165, CMS69"),
        Category(OBS_CATEGORY, "social-history", "tobacco use (CMS138), pregnancy status"),
        Category(OBS_CATEGORY, "survey", "PHQ-9, AUDIT-C, falls and fracture-risk assessments"),
        Category(OBS_CATEGORY, "exam", "retinal exam findings (CMS131)"),
        Category(OBS_CATEGORY, "imaging", "mammography and DXA results (CMS125, CMS249)"),
        Category(OBS_CATEGORY, "procedure"),
        Category(OBS_CATEGORY, "therapy"),
        Category(OBS_CATEGORY, "activity"),
        Category(US_CORE_CATEGORY, "sdoh"),
        Category(US_CORE_CATEGORY, "functional-status"),
        Category(US_CORE_CATEGORY, "disability-status"),
        Category(US_CORE_CATEGORY, "cognitive-status"),
        Category(US_CORE_CATEGORY, "treatment-intervention-preference"),
        Category(US_CORE_CATEGORY, "care-experience-preference"),
    ),
    "Condition": (
        Category(CONDITION_CATEGORY, "problem-list-item", "history and problem-list rules"),
        Category(CONDITION_CATEGORY, "encounter-diagnosis", "measure denominators"),
        Category(US_CORE_CONDITION_CATEGORY, "health-concern", "measure exclusions"),
    ),
    "DiagnosticReport": (
        Category(V2_0074, "LAB", "lab rules and the Labs section"),
        Category(V2_0074, "RAD", "imaging rules and the Imaging section"),
        Category(LOINC, "LP29684-5", "imaging rules and the Imaging section"),
        Category(LOINC, "LP29708-2", "the Consults section"),
        Category(LOINC, "LP7839-6", "pathology (cervical cytology, colonoscopy findings)"),
    ),
    "DocumentReference": (
        Category(DOCUMENT_CATEGORY, "clinical-note", "document keywords, Recent documents"),
    ),
    # US Core requires MedicationRequest searches to name the intent; the measures and the
    # Medications section read every kind of order, so every intent is needed.
    "MedicationRequest": tuple(
        Category(MEDICATION_INTENT, code, "medication rules and the Medications section", "intent")
        for code in (
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        )
    ),
}


@dataclass(frozen=True, slots=True)
class ChartNeeds:
    """What one chart fetch must bring: the types, and per type the categories read."""

    types: tuple[str, ...]
    categories: dict[str, tuple[Category, ...]] = field(default_factory=dict)

    def categories_of(self, resource_type: str, param: str = "category") -> tuple[Category, ...]:
        return tuple(c for c in self.categories.get(resource_type, ()) if c.param == param)


def chart_needs(library: Library | None = None) -> ChartNeeds:
    """The types and categories the library, the measures and the sheet read."""
    types = record_types(library)
    return ChartNeeds(
        types=types,
        categories={t: tuple(c for c in cats if c.read_by) for t, cats in ALL_CATEGORIES.items()},
    )


def everything_needs(library: Library | None = None) -> ChartNeeds:
    """The naive fetch: every type the engine knows, every category a server may use."""
    return ChartNeeds(types=record_types(library), categories=dict(ALL_CATEGORIES))


__all__ = [
    "ALL_CATEGORIES",
    "SHEET_TYPES",
    "Category",
    "ChartNeeds",
    "chart_needs",
    "criteria",
    "everything_needs",
    "library_types",
    "record_types",
]
