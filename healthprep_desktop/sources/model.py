"""Plain data shared by matching and merging: sources, demographics, match outcomes, links."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

JSON = dict[str, Any]

# meta.tag system that names the source a resource was read from (code = Source.id).
SOURCE_TAG_SYSTEM = "https://healthprep.example/fhir/CodeSystem/source"
# Extension on a resource kept only to show a cross-source conflict: valueString = the id of
# the (higher-priority) resource that screening used instead.
CONFLICT_EXTENSION_URL = "https://healthprep.example/fhir/StructureDefinition/source-conflict"


class SourceKind(enum.StrEnum):
    EHR = "ehr"
    REGISTRY = "registry"


@dataclass(frozen=True, slots=True)
class Source:
    """One FHIR source of a clinic. Lower `priority` wins; the primary EHR is priority 0."""

    id: str  # stable, short, FHIR-id safe ("primary", "stmarys", "iis")
    name: str  # shown on the sheet: "St Mary's Hospital"
    priority: int
    kind: SourceKind = SourceKind.EHR
    primary: bool = False

    def __post_init__(self) -> None:
        if not self.id or not all(c.isalnum() or c in "-." for c in self.id):
            raise ValueError(f"source id {self.id!r} must be letters, digits, '-' or '.'")


@dataclass(frozen=True, slots=True)
class Demographics:
    """A Patient resource reduced to what matching compares, already normalised.

    Names are sets because one person has several: official, usual, old/maiden (married-name
    changes), and the tokens of a hyphenated family name.
    """

    patient_id: str
    families: frozenset[str]  # folded whole family names, current and former
    family_tokens: frozenset[str]  # folded parts of hyphenated / multi-word family names
    primary_family: str  # folded family name of the official (or first) name; "" if none
    given: str  # folded first given name of the official (or first) name; "" if none
    givens: frozenset[str]  # folded first given names of every name entry
    middle_initial: str | None  # first letter of the second given name, if recorded
    birth_date: date | None
    sex: str | None  # "female" | "male" | None (unknown, other or absent)
    postal_code: str | None
    phones: frozenset[str]  # 10-digit national numbers
    identifiers: frozenset[tuple[str, str]]  # (system, value), both stripped
    # (street line, ZIP) of current and of former (use "old" / ended) addresses: addresses.py
    addresses: frozenset[tuple[str, str]] = frozenset()
    former_addresses: frozenset[tuple[str, str]] = frozenset()
    # The primary name as written, for FHIR string searches (servers ignore case and accents
    # but not apostrophes or hyphens, so a folded "obrien" would not find "O'Brien").
    family_text: str = ""
    given_text: str = ""


class Outcome(enum.StrEnum):
    AUTO_LINK = "auto_link"
    CONFIRM = "confirm"  # "possible match, please confirm"
    NO_LINK = "no_link"


class Level(enum.StrEnum):
    """How one field of two records compares (each level has its own weight)."""

    EXACT = "exact"
    ALIAS = "alias"  # nickname, former family name or hyphenated part
    FUZZY = "fuzzy"  # a typo away
    TRANSPOSED = "transposed"  # birth day and month swapped
    PARTIAL = "partial"  # birth date: two of year/month/day agree
    DISAGREE = "disagree"
    MISSING = "missing"  # absent on either side: weight 0


@dataclass(frozen=True, slots=True)
class FieldComparison:
    field: str  # "family", "given", "birth_date", "sex", "postal_code", "phone"
    level: Level
    weight: float


@dataclass(frozen=True, slots=True)
class PersonSummary:
    """What a person comparing two records reads: the record's demographics as text.

    Kept only in the encrypted store's confirmation queue (never in the audit or a log), so the
    coordinator can compare the other source's record with the clinic's side by side.
    """

    name: str = ""
    birth_date: str = ""
    sex: str = ""
    address: str = ""
    phone: str = ""
    identifiers: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "address": self.address,
            "phone": self.phone,
            "identifiers": self.identifiers,
        }

    @classmethod
    def from_dict(cls, data: object) -> PersonSummary:
        if not isinstance(data, dict):
            return cls()
        return cls(**{f.name: str(data.get(f.name) or "") for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    """A secondary-source Patient scored against a clinic patient."""

    source_id: str
    local_id: str
    remote_id: str
    score: float
    outcome: Outcome
    reason: str  # one sentence a person can read in the confirmation queue
    fields: tuple[FieldComparison, ...] = ()
    shared_identifier: tuple[str, str] | None = None
    remote: PersonSummary = field(default_factory=PersonSummary)  # the other source's record


class LinkState(enum.StrEnum):
    LINKED = "linked"
    REJECTED = "rejected"  # a person said "not the same patient": never proposed again


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """What the link store keeps per clinic: one decision about one pair, audited."""

    source_id: str
    local_id: str
    remote_id: str
    state: LinkState
    decided_by: str  # "auto" or the user's name
    decided_at: datetime
    score: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one evidence resource came from, for the sheet and the viewer."""

    source_id: str
    source_name: str
    day: date | None
    also_in: tuple[str, ...] = field(default=())  # names of sources holding a duplicate

    def label(self) -> str:
        """ "2022-03-14 · St Mary's Hospital" (the date part only when known)."""
        when = f"{self.day.isoformat()} · " if self.day else ""
        return f"{when}{self.source_name}"
