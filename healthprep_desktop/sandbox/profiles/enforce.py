"""Applying a server profile to one request: which searches, page sizes and writes it accepts.

Each refusal carries one sentence a developer can act on (which parameter, which combination,
what the limit is); the FHIR API turns it into an OperationOutcome with the given status.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.profiles.model import (
    SEARCH,
    CountPolicy,
    ServerProfile,
    TypeRules,
    UnsupportedParam,
)

# Parameters every profile accepts: paging links the server wrote itself, and format hints.
ALWAYS = frozenset({"_count", "_getpages", "_getpagesoffset", "_format", "_pretty"})
# Search parameters that are not result controls, although they start with "_".
_CRITERIA = frozenset({"_id", "_lastUpdated"})
_PATIENT_PARAMS = frozenset({"patient", "subject"})


class ProfileRefusal(Exception):
    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class CheckedSearch:
    query: list[tuple[str, str]]  # what the server runs (ignored parameters dropped)
    ignored: tuple[str, ...]  # parameter names left out under the lenient policy


def ordered(combo: frozenset[str]) -> list[str]:
    """A combination's names as people write them: the patient first, then alphabetical."""
    return sorted(combo, key=lambda name: (name not in _PATIENT_PARAMS, name))


def combination_text(rules: TypeRules) -> str:
    return ", ".join("+".join(ordered(combo)) for combo in rules.required)


def offered_rules(profile: ServerProfile, resource_type: str) -> TypeRules:
    found = profile.type_rules(resource_type)
    if found is None:
        raise ProfileRefusal(
            404, "not-supported", f"this server does not offer {resource_type} resources"
        )
    return found


def _supported(profile: ServerProfile, rules: TypeRules, name: str, value: str) -> bool:
    if name in ALWAYS:
        return True
    if name == "_include":
        return profile.includes is None or all(v in profile.includes for v in value.split(",") if v)
    if name == "_revinclude":
        return profile.revincludes is None or all(
            v in profile.revincludes for v in value.split(",") if v
        )
    if name.startswith("_") and name not in _CRITERIA:
        return profile.controls is None or name in profile.controls
    if name == profile.practice_param:
        return True
    return rules.params is None or name in rules.params


def check_search(
    profile: ServerProfile, resource_type: str, query: list[tuple[str, str]]
) -> CheckedSearch:
    """The query to run, or ProfileRefusal (400) when the profile refuses the search."""
    if profile.is_generic:
        return CheckedSearch(query, ())
    rules = offered_rules(profile, resource_type)
    if SEARCH not in rules.interactions:
        raise ProfileRefusal(
            405, "not-supported", f"this server does not search {resource_type}; read it by id"
        )
    kept: list[tuple[str, str]] = []
    unsupported: list[str] = []
    used: set[str] = set()
    for name, value in query:
        base = name.partition(":")[0]
        if _supported(profile, rules, base, value):
            kept.append((name, value))
            if not base.startswith("_") or base in _CRITERIA:
                used.add(base)
        elif base in ("_include", "_revinclude"):
            unsupported.append(f"{base}={value}")
        else:
            unsupported.append(base)
    unsupported = list(dict.fromkeys(unsupported))
    if unsupported and profile.unsupported is UnsupportedParam.REFUSE:
        raise ProfileRefusal(
            400,
            "not-supported",
            f"{resource_type} search does not support {', '.join(unsupported)}; "
            "see the CapabilityStatement for the supported parameters",
        )
    if any(name == "_getpages" for name, _ in kept):
        return CheckedSearch(kept, tuple(unsupported))  # a page of a search already checked
    if not rules.accepts(used):
        raise ProfileRefusal(
            400,
            "required",
            f"{resource_type} searches must use one of these parameter combinations: "
            f"{combination_text(rules)}",
        )
    _check_practice(profile, resource_type, used, kept)
    return CheckedSearch(kept, tuple(unsupported))


def _check_practice(
    profile: ServerProfile, resource_type: str, used: set[str], kept: list[tuple[str, str]]
) -> None:
    param = profile.practice_param
    if param is None or used & _PATIENT_PARAMS:
        return
    values = [v for name, v in kept if name == param]
    if not values:
        raise ProfileRefusal(
            400,
            "required",
            f"{resource_type} searches that name no patient need {param}={profile.practice_value}",
        )
    if any(v != profile.practice_value for v in values):
        raise ProfileRefusal(
            400, "invalid", f"{param} must be {profile.practice_value} on this server"
        )


def page_size(profile: ServerProfile, raw: str | None, config_default: int, config_max: int) -> int:
    """The page size to serve for a ``_count`` (None = not given)."""
    default = profile.default_page_size or config_default
    cap = profile.max_page_size or config_max
    if raw is None:
        return min(default, cap)
    try:
        count = int(raw)
    except ValueError as exc:
        raise ProfileRefusal(400, "invalid", f"_count must be a number, not '{raw}'") from exc
    if count > cap and profile.count_policy is CountPolicy.REFUSE:
        raise ProfileRefusal(400, "too-costly", f"_count must be at most {cap} on this server")
    return max(0, min(count, cap))


def check_write(
    profile: ServerProfile, resource: JSON, encounter_exists: bool | None, creating: bool
) -> None:
    """The profile's write-back rules for a DocumentReference (already a valid resource).

    ``encounter_exists``: None when the document names no encounter, else whether it exists.
    """
    rtype = str(resource.get("resourceType"))
    write = profile.writes.get(rtype)
    if write is None or (not creating and not write.update):
        verb = "create" if creating else "update"
        raise ProfileRefusal(405, "not-supported", f"this server does not {verb} {rtype}")
    content = [c for c in resource.get("content") or [] if isinstance(c, dict)]
    if write.single_attachment and len(content) > 1:
        raise ProfileRefusal(
            422, "business-rule", f"{rtype} must carry exactly one attachment on this server"
        )
    if write.content_types is not None:
        for item in content:
            kind = str((item.get("attachment") or {}).get("contentType", ""))
            if kind.split(";")[0].strip() not in write.content_types:
                allowed = ", ".join(sorted(write.content_types))
                raise ProfileRefusal(
                    422,
                    "business-rule",
                    f"attachments must be {allowed} on this server, not '{kind or 'unset'}'",
                )
    if write.needs_encounter and encounter_exists is None:
        raise ProfileRefusal(
            422, "required", f"{rtype} needs context.encounter (the visit) on this server"
        )
    if write.needs_encounter and not encounter_exists:
        raise ProfileRefusal(
            422, "invalid", "context.encounter must reference an existing Encounter"
        )
