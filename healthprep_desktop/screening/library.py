"""The screening library: screening types as data, loaded from JSON and validated.

The default library is ``resources/screening/library.json``; an admin may ship another file with
the same schema. Everything the engine decides comes from here: who is eligible (sex, age and
the day the age is taken on, trigger conditions), who is excluded, what evidence satisfies the
screening and for how long, and which document keywords count.

Shape of the file (see the default library for a full example)::

    {
      "schema": 1, "name": ..., "version": ..., "due_soon_days": 30,
      "value_sets": {"<OID>": "<value set name>"},         # cited public value sets
      "local_code_sets": {"<id>": {"name", "source", "codes": [{"system", "code", "display"}]}},
      "criteria": {"<id>": <criterion>},                    # reusable, referenced as "@<id>"
      "screenings": [<screening>]
    }

A *criterion* finds facts: ``sets`` (value set OIDs or local ids, a union), optional
``resources``, ``statuses``, ``window`` ("ever", "recent" = the 12 months up to the as-of date,
or {"years"|"months"|"days": n}), ``timing`` ("overlaps", "starts", "ends"), ``value_sets``
(the coded value must be in them), ``latest_only``, ``body_sites`` (SNOMED codes, e.g.
laterality), ``discharge_sets``, ``min_count`` with distinct dates, ``min_age``; or it combines
others with ``all_of`` / ``any_of``.

Errors name the exact place: ``screenings[2] (colorectal).modalities[0].every: ...``.

The model lives in library_model.py and the validating parser in library_parser.py; every
name stays importable from here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from healthprep_desktop.paths import resources_dir
from healthprep_desktop.screening.library_model import (
    AGE_DATES,
    GATE_KINDS,
    READINGS,
    RECENT,
    RESOURCE_TYPES,
    SEXES,
    TIMINGS,
    AgeRule,
    CodeSet,
    Criterion,
    Flag,
    Gate,
    Key,
    Library,
    LibraryError,
    Modality,
    ScreeningType,
    Source,
    Span,
)
from healthprep_desktop.screening.library_parser import parse_library, resolve_valueset

# --- loading ---------------------------------------------------------------------------------


def default_library_path() -> Path:
    return resources_dir() / "screening" / "library.json"


@cache
def default_library() -> Library:
    """The bundled default library (parsed once per process)."""
    return load_library(default_library_path())


_PARSED: dict[str, Library] = {}


def library_from_json(library_json: str | None, library_hash: str) -> Library:
    """A clinic's library sent to a worker process as JSON, parsed once per process (keyed by
    its hash); None is the shipped default."""
    if library_json is None:
        return default_library()
    lib = _PARSED.get(library_hash)
    if lib is None:
        lib = _PARSED[library_hash] = parse_library(json.loads(library_json))
    return lib


def load_library(path: Path | str) -> Library:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LibraryError(f"{p.name}: not valid JSON: {exc}") from exc
    return parse_library(data)


__all__ = [
    "AGE_DATES",
    "GATE_KINDS",
    "READINGS",
    "RECENT",
    "RESOURCE_TYPES",
    "SEXES",
    "TIMINGS",
    "AgeRule",
    "CodeSet",
    "Criterion",
    "Flag",
    "Gate",
    "Key",
    "Library",
    "LibraryError",
    "Modality",
    "ScreeningType",
    "Source",
    "Span",
    "default_library",
    "default_library_path",
    "library_from_json",
    "load_library",
    "parse_library",
    "resolve_valueset",
]
