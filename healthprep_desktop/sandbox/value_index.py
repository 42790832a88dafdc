"""Narrowing Patient searches by birth date and identifier before the predicates run.

The sandbox answers a search by testing every resource of the type against every criterion.
Cross-source matching (issue 16) asks a hospital or registry a handful of Patient searches per
clinic patient, each naming a birth date or an identifier; scanning every Patient for each made
the other sources' servers the biggest CPU user of a multi-source benchmark day on a shared
2-core machine. A real FHIR server indexes these; so does this, lazily, per parameter.

The index only narrows: the search still applies every predicate to what it returns, so it must
return a superset of the matches. It is used for an equality (no prefix, no modifier) on a full
date, on an identifier or phone value, or on a name of at least two letters (a prefix), and
rebuilt after any Patient is stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from healthprep_desktop.sandbox import fhirdates
from healthprep_desktop.sandbox.search_params import fold_string

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# String parameters match a prefix of a folded value (search_params.fold_string): they are
# indexed by the first PREFIX characters, which every match of a longer query shares.
STRINGS = ("family", "given", "name")
PREFIX = 2
INDEXED = ("birthdate", "identifier", "phone", *STRINGS)


class Indexed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def index(self) -> dict[str, tuple[Any, ...]]: ...


class Query(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def modifier(self) -> str | None: ...

    @property
    def values(self) -> list[str]: ...


def _key(name: str, raw: str) -> object | None:
    """The index key a query value looks up; None when this value cannot use the index."""
    if name in STRINGS:
        folded = fold_string(raw)
        return folded[:PREFIX] if len(folded) >= PREFIX else None
    if name == "birthdate":
        # An equality on a full date matches only targets within that day: a full birth date
        # of that day (a partial one covers a wider range, which eq does not match).
        return fhirdates.parse_range(raw) if _FULL_DATE.match(raw) else None
    if "|" in raw:
        code = raw.split("|", 1)[1]
        return code or None  # "system|" (any code of a system) cannot narrow
    return raw or None


@dataclass(slots=True)
class PatientValueIndex:
    _by_param: dict[str, Mapping[object, set[str]]] = field(default_factory=dict)

    def clear(self) -> None:
        self._by_param.clear()

    def _built(self, name: str, patients: Iterable[Indexed]) -> Mapping[object, set[str]]:
        found = self._by_param.get(name)
        if found is None:
            table: defaultdict[object, set[str]] = defaultdict(set)
            for stored in patients:
                for value in stored.index.get(name, ()):
                    # Dates by their range, tokens by their code, strings by their start.
                    if name in STRINGS:
                        key: object = value[:PREFIX]
                    else:
                        key = value if name == "birthdate" else value[1]
                    table[key].add(stored.id)
            found = self._by_param[name] = dict(table)
        return found

    def narrow(
        self, criteria: Iterable[Query], patients: Callable[[], Iterable[Indexed]]
    ) -> set[str] | None:
        """Ids that may match every criterion, or None when no criterion can use the index.
        `patients` is called only to build a parameter's table (after a Patient was stored)."""
        for c in criteria:
            if c.name not in INDEXED or c.modifier is not None or not c.values:
                continue
            keys = [_key(c.name, raw) for raw in c.values]
            if any(k is None for k in keys):
                continue
            table = self._built(c.name, patients())
            ids: set[str] = set()
            for k in keys:
                ids |= table.get(k, set())
            return ids
        return None
