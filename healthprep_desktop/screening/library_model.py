"""The screening library's model: screening types, criteria, modalities and code sets as data.

Built by library_parser from the library JSON; library.py loads it and is where callers import
these names from. See library.py for the file's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (normalised system URI, normalised code)

SEXES = ("female", "male")
AGE_DATES = ("as_of", "end_of_year", "start_of_year")
TIMINGS = ("overlaps", "starts", "ends")
RESOURCE_TYPES = frozenset(
    {
        "Observation",
        "Procedure",
        "DiagnosticReport",
        "Immunization",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "ServiceRequest",
        "DeviceRequest",
        "ImagingStudy",
        "AllergyIntolerance",
    }
)
GATE_KINDS = ("smoking_history", "bmi")
READINGS = ("blood_pressure",)


class LibraryError(ValueError):
    """The library file is not valid; the message names the place and what is wrong."""


@dataclass(frozen=True, slots=True)
class Span:
    """A length of time counted back (look-back) or forward (frequency) in calendar units."""

    years: int = 0
    months: int = 0
    days: int = 0

    def text(self) -> str:
        for amount, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")):
            if amount:
                return f"{amount} {unit}{'s' if amount != 1 else ''}"
        return "0 days"


RECENT = Span(years=1)  # "recent": the prep sheet's stand-in for a measure's measurement period


@dataclass(frozen=True, slots=True)
class Criterion:
    label: str
    sets: tuple[str, ...] = ()
    resources: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    window: Span | None = None  # None: ever (on or before the as-of date)
    timing: str = "overlaps"
    value_sets: tuple[str, ...] = ()
    latest_only: bool = False
    body_sites: frozenset[str] = frozenset()
    discharge_sets: tuple[str, ...] = ()
    min_count: int = 1
    min_age: int | None = None
    # A result at or above this value (e.g. LDL >= 190 mg/dL, CMS347); results in another unit
    # than ``unit`` do not meet it.
    min_value: float | None = None
    unit: str | None = None
    all_of: tuple[Criterion, ...] = ()
    any_of: tuple[Criterion, ...] = ()

    def all_sets(self) -> Iterable[str]:
        yield from self.sets
        yield from self.value_sets
        yield from self.discharge_sets
        for child in (*self.all_of, *self.any_of):
            yield from child.all_sets()


@dataclass(frozen=True, slots=True)
class Flag:
    """A warning on the most recent result, e.g. HbA1c above 9 % (CMS122)."""

    label: str
    above: float | None = None  # value strictly greater than this
    components_at_or_above: tuple[tuple[str, float], ...] = ()  # LOINC component -> threshold


@dataclass(frozen=True, slots=True)
class Modality:
    id: str
    name: str
    sets: tuple[str, ...]
    every: Span | None  # None with once/season
    once: bool = False
    season: bool = False
    doses: int = 1
    resources: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    result_required: bool = False
    value_sets: tuple[str, ...] = ()
    min_age_at_event: int | None = None
    max_age_at_event: int | None = None
    also_requires: tuple[str, ...] = ()  # sets that must also be on record (e.g. PCV15 + PPSV23)
    also_requires_name: str = ""
    keywords: tuple[str, ...] = ()
    keyword_threshold: float = 0.8
    flag: Flag | None = None
    # "blood_pressure": an event counts only on a day with both a systolic and a diastolic value
    # (panel components or separate Observations), see rules_bp.
    reading: str | None = None
    # Results recorded during these encounters never count (CMS165: inpatient stays and
    # emergency visits), by Encounter.class code or by an Encounter.type in these code sets.
    exclude_encounter_classes: frozenset[str] = frozenset()
    exclude_encounter_sets: tuple[str, ...] = ()

    def frequency_text(self) -> str:
        if self.season:
            return "every flu season"
        if self.once:
            return "once" if self.doses == 1 else f"{self.doses} doses"
        assert self.every is not None
        return f"every {self.every.text()}"


@dataclass(frozen=True, slots=True)
class Gate:
    """A risk fact the rule needs (smoking history, BMI); missing facts give Insufficient data."""

    kind: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AgeRule:
    min: int | None
    max: int | None
    on: str = "as_of"

    def text(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min}-{self.max}"
        if self.min is not None:
            return f"{self.min}+"
        if self.max is not None:
            return f"up to {self.max}"
        return "any age"


@dataclass(frozen=True, slots=True)
class Source:
    type: str  # "USPSTF", "CMS", "ACIP", "ADA", ...
    ref: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningType:
    id: str
    name: str
    description: str
    sources: tuple[Source, ...]
    modalities: tuple[Modality, ...]
    group: str
    specificity: int = 0
    sex: str | None = None
    age: AgeRule = AgeRule(None, None)
    triggers: tuple[Criterion, ...] = ()
    trigger_label: str = ""
    exclusions: tuple[Criterion, ...] = ()
    gate: Gate | None = None
    completion: str = "any"  # "any" modality satisfies, or "all" are needed (eGFR and uACR)
    frequency: str = ""
    due_soon_days: int | None = None
    max_evidence: int = 3


@dataclass(frozen=True)
class CodeSet:
    id: str
    name: str
    keys: frozenset[Key]
    oid: str | None = None
    source: str = ""


@dataclass(frozen=True, eq=False)
class Library:
    name: str
    version: str
    due_soon_days: int
    screenings: tuple[ScreeningType, ...]
    code_sets: Mapping[str, CodeSet]
    # (system, code) -> ids of every code set holding it: one dict lookup per coding when the
    # engine buckets a chart.
    code_index: Mapping[Key, tuple[str, ...]] = field(default_factory=dict)
    _keys_cache: dict[tuple[str, ...], frozenset[Key]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def groups(self) -> list[tuple[str, list[ScreeningType]]]:
        """Screening groups in library order; each group's variants most specific first."""
        order: dict[str, list[ScreeningType]] = {}
        for s in self.screenings:
            order.setdefault(s.group, []).append(s)
        return [(g, sorted(types, key=lambda t: -t.specificity)) for g, types in order.items()]

    def by_id(self, screening_id: str) -> ScreeningType:
        for s in self.screenings:
            if s.id == screening_id:
                return s
        raise KeyError(screening_id)

    def keys_of(self, set_ids: tuple[str, ...]) -> frozenset[Key]:
        """The union of some code sets' codes (cached: rules ask for the same unions often)."""
        cached = self._keys_cache.get(set_ids)
        if cached is None:
            out: set[Key] = set()
            for sid in set_ids:
                out |= self.code_sets[sid].keys
            cached = self._keys_cache[set_ids] = frozenset(out)
        return cached
