"""What a connection's server refused, learned from its 400 answers and kept per connection.

A CapabilityStatement says what a server supports, not always what it refuses: some answer an
unsupported parameter (`_lastUpdated`, `_count`, a comma-separated category list) with an
OperationOutcome 400 instead of ignoring it. The first refusal costs a retry; the chart fetch
remembers it so that no later chart of the same connection pays for it again.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.fhir.errors import FhirHttpError

# The pseudo-parameter for "several values in one parameter" (FHIR's multipleOr, e.g.
# category=laboratory,vital-signs): refused by some servers that accept each value alone.
MULTIPLE_OR = ":or"
# The pseudo-parameter for "the server has no such type" (it answered 404 to its search).
WHOLE_TYPE = "*"
# The pseudo-parameter for "this type must be searched with a category (or intent)": learned
# from a server that refuses the patient alone without saying so in its CapabilityStatement.
NEEDS_PARTNER = "+"
_AT_MOST = re.compile(r"_count[^0-9]{0,40}?at most (\d+)|maximum[^0-9]{0,40}?(\d+)", re.I)


@dataclass(slots=True)
class SearchLimits:
    """(resource type, parameter) pairs the server refused; thread-safe, JSON round-trips."""

    refused: set[tuple[str, str]] = field(default_factory=set)
    page_cap: int | None = None  # the largest `_count` the server accepts, when it refuses more
    # Whether a chart was fetched with these limits on this connection (not stored: the first
    # chart after a start runs alone and learns what changed on the server).
    proven: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def allows(self, resource_type: str, param: str) -> bool:
        return (resource_type, param) not in self.refused

    def refuse(self, resource_type: str, param: str) -> bool:
        """Remember a refusal; True when it is new (the caller may then persist)."""
        with self._lock:
            if (resource_type, param) in self.refused:
                return False
            self.refused.add((resource_type, param))
            return True

    def cap_pages(self, cap: int) -> bool:
        with self._lock:
            if self.page_cap is not None and self.page_cap <= cap:
                return False
            self.page_cap = cap
            return True

    def to_json(self) -> str:
        return json.dumps(
            {"refused": sorted([t, p] for t, p in self.refused), "page_cap": self.page_cap}
        )

    @classmethod
    def from_json(cls, raw: str | None) -> SearchLimits:
        limits = cls()
        if not raw:
            return limits
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return limits
        if isinstance(data, dict):
            cap = data.get("page_cap")
            limits.page_cap = cap if isinstance(cap, int) and cap > 0 else None
            data = data.get("refused")
        if isinstance(data, list):
            for item in data:
                if (
                    isinstance(item, list)
                    and len(item) == 2
                    and all(isinstance(x, str) for x in item)
                ):
                    limits.refused.add((item[0], item[1]))
        return limits


def count_cap(exc: FhirHttpError) -> int | None:
    """The page-size cap a 400 states ("_count must be at most 200"), if any."""
    for issue in exc.issues:
        found = _AT_MOST.search(issue.text)
        if found:
            value = int(found.group(1) or found.group(2))
            return value if value > 0 else None
    return None


def names_a_combination(exc: FhirHttpError, partners: list[str]) -> bool:
    """Whether a 400 says the search lacks a required parameter (a category, an intent)."""
    text = " ".join(i.text for i in exc.issues).lower()
    codes = {i.code for i in exc.issues}
    return "required" in codes or "combination" in text or any(p in text for p in partners)


def refused_params(exc: FhirHttpError, candidates: list[str]) -> list[str]:
    """The candidate parameters a 400 names; all of them when it names none (the server's
    sentence is not always specific, and retrying without every optional one is safe)."""
    text = " ".join(f"{i.text} {i.code}" for i in exc.issues).lower()
    named = [p for p in candidates if p.lower() in text and p != MULTIPLE_OR]
    return named or list(candidates)
