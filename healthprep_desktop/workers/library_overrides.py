"""A clinic's changes to the screening library, kept apart from the shipped library.

Overrides are small JSON stored in the clinic's settings (``OVERRIDES_SETTING``): which
screenings are turned off, and per screening its age range and per modality its frequency and
keywords. ``apply_overrides`` folds them into the library JSON, and ``validated_library`` parses
the result with the library's own validator, so a bad edit is refused with the exact place.
The batch screens with ``custom_library_json(scope)`` when the clinic has overrides.

Shape::

    {"disabled": ["hiv"],
     "screenings": {"colorectal_cancer": {"age": {"min": 45, "max": 75},
                    "modalities": {"colonoscopy": {"every": {"years": 10},
                                                   "keywords": ["colonoscopy"]}}}}}
"""

from __future__ import annotations

import copy
import json
from typing import Any

from healthprep_desktop.screening.library import Library, default_library_path, parse_library
from healthprep_desktop.store import TenantScope

OVERRIDES_SETTING = "_screening_overrides"  # "_": not a declared setting, skipped by upgrades

Overrides = dict[str, Any]


def default_library_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_library_path().read_text(encoding="utf-8"))
    return data


def load_overrides(scope: TenantScope) -> Overrides:
    raw = scope.settings.get_raw(OVERRIDES_SETTING)
    return raw if isinstance(raw, dict) else {}


def apply_overrides(library: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    data = copy.deepcopy(library)
    disabled = set(overrides.get("disabled") or ())
    changes: dict[str, Any] = overrides.get("screenings") or {}
    kept = []
    for screening in data.get("screenings", []):
        sid = screening.get("id")
        if sid in disabled:
            continue
        change = changes.get(sid) or {}
        if "age" in change:
            age = dict(screening.get("age") or {})
            for bound in ("min", "max"):
                if bound in change["age"]:
                    value = change["age"][bound]
                    if value is None:
                        age.pop(bound, None)
                    else:
                        age[bound] = value
            screening["age"] = age
        for modality in screening.get("modalities", []):
            mod_change = (change.get("modalities") or {}).get(modality.get("id")) or {}
            if "every" in mod_change:
                modality["every"] = mod_change["every"]
            if "keywords" in mod_change:
                modality["keywords"] = list(mod_change["keywords"])
        kept.append(screening)
    data["screenings"] = kept
    return data


def validated_library(overrides: Overrides, base: dict[str, Any] | None = None) -> Library:
    """The library with the overrides applied; LibraryError names what is wrong."""
    return parse_library(apply_overrides(base or default_library_data(), overrides))


def custom_library_json(scope: TenantScope) -> str | None:
    """The clinic's library as JSON text, or None when it uses the shipped one unchanged."""
    overrides = load_overrides(scope)
    if not overrides.get("disabled") and not overrides.get("screenings"):
        return None
    return json.dumps(apply_overrides(default_library_data(), overrides), sort_keys=True)
