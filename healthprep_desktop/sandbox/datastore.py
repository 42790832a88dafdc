"""In-memory resources with a search index by type, by patient and by parameter value.

Each resource is kept as its compact JSON bytes (served as they are, never re-serialised or
deep-copied per request) plus the parameter values extracted once when it was stored. A search
starts from the smallest candidate pool (one patient's resources of a type when the search or
the token names a patient) and filters on the precomputed values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from healthprep_desktop.sandbox import fhirdates
from healthprep_desktop.sandbox.config import JSON, SandboxClock
from healthprep_desktop.sandbox.search_params import (
    ParamKind,
    fold_string,
    index_resource,
    normalize_reference,
    params_for,
)
from healthprep_desktop.sandbox.value_index import PatientValueIndex

_NO_DATE = float("inf")
# Resources outside the patient compartment that $everything returns when compartment
# resources reference them.
_EVERYTHING_REFERENCED = ("Practitioner/", "Organization/", "Location/", "Medication/")


class SearchError(ValueError):
    """A search the server cannot run (a malformed value, an unsupported modifier): 400."""


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def instant(epoch: float) -> str:
    """An R4 instant in UTC with millisecond precision."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_instant(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(slots=True)
class StoredResource:
    resource_type: str
    id: str
    version: int
    last_updated: float  # epoch seconds
    body: bytes  # compact JSON with meta.versionId and meta.lastUpdated
    index: dict[str, tuple[Any, ...]]
    patient: str | None  # the patient compartment it belongs to
    lu_range: fhirdates.Range = (0.0, 0.0)

    @property
    def key(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def last_modified(self) -> str:
        return formatdate(self.last_updated, usegmt=True)

    def json(self) -> JSON:
        value: JSON = json.loads(self.body)
        return value


@dataclass(slots=True)
class Criterion:
    """One search parameter as given: ``name[:modifier]=v1,v2`` (values are ORed)."""

    name: str
    modifier: str | None
    values: list[str]


Predicate = Callable[[StoredResource], bool]


@dataclass(slots=True)
class ResourceStore:
    clock: SandboxClock = field(default_factory=SandboxClock)
    _by_type: dict[str, dict[str, StoredResource]] = field(default_factory=dict)
    _by_patient: dict[str, dict[str, dict[str, StoredResource]]] = field(default_factory=dict)
    _history: dict[str, list[StoredResource]] = field(default_factory=dict)
    _binary_owner: dict[str, str] = field(default_factory=dict)
    _patient_values: PatientValueIndex = field(default_factory=PatientValueIndex)

    # --- writing ---------------------------------------------------------------------------

    def put(self, resource: JSON, *, keep_last_updated: bool = False) -> StoredResource:
        """Store (or replace) a resource; assigns meta.versionId and meta.lastUpdated."""
        rtype = str(resource["resourceType"])
        rid = str(resource["id"])
        bucket = self._by_type.setdefault(rtype, {})
        old = bucket.get(rid)
        meta = dict(resource.get("meta") or {})
        stamp = self.clock.now()
        if keep_last_updated and isinstance(meta.get("lastUpdated"), str):
            stamp = _parse_instant(meta["lastUpdated"]) or stamp
        version = old.version + 1 if old else 1
        meta["versionId"] = str(version)
        meta["lastUpdated"] = instant(stamp)
        stored_json = {**resource, "meta": meta}
        index = index_resource(stored_json)
        if rtype == "DocumentReference":
            self._claim_binaries(stored_json, index)
        patient = self._patient_of(rtype, rid, stored_json, index)
        wall = fhirdates.parse_range(meta["lastUpdated"]) or (0.0, 0.0)
        stored = StoredResource(
            rtype, rid, version, stamp, dumps(stored_json), index, patient, wall
        )
        if old is not None:
            self._history.setdefault(stored.key, []).append(old)
            if old.patient is not None and old.patient != patient:
                self._by_patient.get(old.patient, {}).get(rtype, {}).pop(rid, None)
        bucket[rid] = stored
        if rtype == "Patient":
            self._patient_values.clear()
        if patient is not None:
            self._by_patient.setdefault(patient, {}).setdefault(rtype, {})[rid] = stored
        return stored

    def _patient_of(
        self, rtype: str, rid: str, resource: JSON, index: dict[str, tuple[Any, ...]]
    ) -> str | None:
        if rtype == "Patient":
            return rid
        for ref in index.get("patient", ()):
            return str(ref).split("/", 1)[1]
        if rtype == "Binary":
            context = resource.get("securityContext")
            if isinstance(context, dict) and isinstance(context.get("reference"), str):
                ref = normalize_reference(context["reference"])
                if ref.startswith("Patient/"):
                    return ref.split("/", 1)[1]
            return self._binary_owner.get(rid)
        return None

    def _claim_binaries(self, doc: JSON, index: dict[str, tuple[Any, ...]]) -> None:
        """Binaries behind a patient's DocumentReference belong to that patient's compartment."""
        patients = index.get("patient", ())
        if not patients:
            return
        owner = str(patients[0]).split("/", 1)[1]
        for content in doc.get("content", []):
            url = (content.get("attachment") or {}).get("url")
            if not isinstance(url, str) or "Binary/" not in url:
                continue
            binary_id = normalize_reference(url).split("/", 1)[1]
            self._binary_owner[binary_id] = owner
            binary = self._by_type.get("Binary", {}).get(binary_id)
            if binary is not None and binary.patient is None:
                binary.patient = owner
                self._by_patient.setdefault(owner, {}).setdefault("Binary", {})[binary_id] = binary

    # --- reading ---------------------------------------------------------------------------

    def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        return self._by_type.get(resource_type, {}).get(resource_id)

    def get_version(
        self, resource_type: str, resource_id: str, version: int
    ) -> StoredResource | None:
        current = self.get(resource_type, resource_id)
        if current is None:
            return None
        if current.version == version:
            return current
        for old in self._history.get(current.key, []):
            if old.version == version:
                return old
        return None

    def types(self) -> list[str]:
        return sorted(t for t, bucket in self._by_type.items() if bucket)

    def count(self, resource_type: str | None = None) -> int:
        if resource_type is not None:
            return len(self._by_type.get(resource_type, {}))
        return sum(len(bucket) for bucket in self._by_type.values())

    def all_of(self, resource_type: str) -> list[StoredResource]:
        return list(self._by_type.get(resource_type, {}).values())

    def patient_ids(self) -> list[str]:
        return list(self._by_type.get("Patient", {}))

    def compartment(
        self, patient_id: str, types: Iterable[str] | None = None
    ) -> list[StoredResource]:
        """The patient, then their resources by type, then the practitioners, organizations
        and locations those resources reference, and the Medications that medication
        resources name by reference (what Patient/$everything returns)."""
        patient = self.get("Patient", patient_id)
        if patient is None:
            return []
        wanted = set(types) if types is not None else None
        out = [patient] if wanted is None or "Patient" in wanted else []
        referenced: dict[str, None] = {}
        for rtype, bucket in self._by_patient.get(patient_id, {}).items():
            if rtype == "Patient":
                continue
            for stored in bucket.values():
                if wanted is None or rtype in wanted:
                    out.append(stored)
                for name, values in stored.index.items():
                    if params_for(rtype)[name][0].kind is ParamKind.REFERENCE:
                        for ref in values:
                            if str(ref).startswith(_EVERYTHING_REFERENCED):
                                referenced[str(ref)] = None
        for ref in referenced:
            rtype, rid = ref.split("/", 1)
            stored_ref = self.get(rtype, rid)
            if stored_ref is not None and (wanted is None or rtype in wanted):
                out.append(stored_ref)
        return out

    # --- searching -------------------------------------------------------------------------

    def search(
        self, resource_type: str, criteria: list[Criterion], patient: str | None = None
    ) -> list[StoredResource]:
        """Resources of a type matching every criterion; ``patient`` limits the search to
        one patient's compartment (a patient-scoped token)."""
        predicates = [p for c in criteria if (p := self._compile(resource_type, c)) is not None]
        narrow = patient if patient is not None else self._named_patient(resource_type, criteria)
        pool: Iterable[StoredResource]
        if narrow is None and resource_type == "Patient":
            everyone = self._by_type.get("Patient", {})
            ids = self._patient_values.narrow(criteria, everyone.values)
            # Stored order, as without the index (a set test is far cheaper than predicates).
            pool = (
                everyone.values() if ids is None else [s for s in everyone.values() if s.id in ids]
            )
        elif narrow is None:
            pool = self._by_type.get(resource_type, {}).values()
        elif resource_type == "Patient":
            found = self.get("Patient", narrow)
            pool = [found] if found is not None else []
        else:
            pool = self._by_patient.get(narrow, {}).get(resource_type, {}).values()
        return [s for s in pool if all(p(s) for p in predicates)]

    @staticmethod
    def _named_patient(resource_type: str, criteria: list[Criterion]) -> str | None:
        """The one patient a search names (patient=X or subject=Patient/X), to use the index."""
        for c in criteria:
            if c.modifier is not None or len(c.values) != 1:
                continue
            value = c.values[0]
            if resource_type == "Patient" and c.name == "_id":
                return value
            if c.name == "patient" or (c.name == "subject" and value.startswith("Patient/")):
                return normalize_reference(value).rsplit("/", 1)[-1]
        return None

    def _compile(self, resource_type: str, c: Criterion) -> Predicate | None:
        if c.name == "_id":
            ids = set(c.values)
            return lambda s: s.id in ids
        if c.name == "_lastUpdated":
            return _date_predicate(c, lambda s: (s.lu_range,))
        params = params_for(resource_type).get(c.name)
        if params is None:
            return None  # unknown parameters are ignored (FHIR's lenient handling)
        name = c.name
        if c.modifier == "missing":
            want_missing = c.values == ["true"]
            return lambda s: (name not in s.index) == want_missing
        kind = params[0].kind
        if kind is ParamKind.DATE:
            return _date_predicate(c, lambda s: s.index.get(name, ()))
        if kind is ParamKind.TOKEN:
            return _token_predicate(c)
        if kind is ParamKind.STRING:
            return _string_predicate(c)
        return _reference_predicate(c, params[0].target)

    @staticmethod
    def sort(results: list[StoredResource], keys: list[str]) -> list[StoredResource]:
        """Sort by ``date``/``_lastUpdated`` (or any date parameter), '-' for descending;
        resources without a value go last either way."""
        out = list(results)
        for key in reversed(keys):
            descending = key.startswith("-")
            name = key.lstrip("-")

            def value(s: StoredResource, name: str = name) -> float:
                if name == "_lastUpdated":
                    return s.last_updated
                if name == "_id":
                    return 0.0
                ranges = s.index.get(name) or s.index.get(_first_date_param(s.resource_type), ())
                return min((r[0] for r in ranges), default=_NO_DATE)

            present = [s for s in out if value(s) != _NO_DATE]
            absent = [s for s in out if value(s) == _NO_DATE]
            if name == "_id":
                present.sort(key=lambda s: s.id, reverse=descending)
            else:
                present.sort(key=value, reverse=descending)
            out = present + absent
        return out

    def revinclude(
        self, targets: list[StoredResource], source_type: str, param: str
    ) -> list[StoredResource]:
        """Resources of ``source_type`` whose ``param`` references one of ``targets``."""
        keys = {t.key for t in targets}
        if param in ("patient", "subject") and all(t.resource_type == "Patient" for t in targets):
            return [
                s
                for t in targets
                for s in self._by_patient.get(t.id, {}).get(source_type, {}).values()
                if any(str(ref) in keys for ref in s.index.get(param, ()))
            ]
        return [
            s
            for s in self._by_type.get(source_type, {}).values()
            if any(str(ref) in keys for ref in s.index.get(param, ()))
        ]


def _first_date_param(resource_type: str) -> str:
    for name, params in params_for(resource_type).items():
        if params[0].kind is ParamKind.DATE:
            return name
    return ""


def _date_predicate(
    c: Criterion, values_of: Callable[[StoredResource], tuple[Any, ...]]
) -> Predicate:
    if c.modifier is not None:
        raise SearchError(f"modifier :{c.modifier} is not supported on date parameters")
    tests: list[tuple[str, fhirdates.Range]] = []
    for raw in c.values:
        prefix, text = fhirdates.split_prefix(raw)
        found = fhirdates.parse_range(text)
        if found is None:
            raise SearchError(f"'{raw}' is not a valid date for {c.name}")
        tests.append((prefix, found))

    def predicate(s: StoredResource) -> bool:
        targets = values_of(s)
        return any(fhirdates.matches(p, r, t) for p, r in tests for t in targets)

    return predicate


def _token_predicate(c: Criterion) -> Predicate:
    if c.modifier not in (None, "not"):
        raise SearchError(f"modifier :{c.modifier} is not supported on token parameters")
    exact: set[tuple[str, str]] = set()
    any_system: set[str] = set()
    systems: set[str] = set()
    for raw in c.values:
        if "|" not in raw:
            any_system.add(raw)
            continue
        system, code = raw.split("|", 1)
        if code:
            exact.add((system, code))
        else:
            systems.add(system)
    name = c.name
    negate = c.modifier == "not"

    def predicate(s: StoredResource) -> bool:
        hit = any(
            tok in exact or tok[1] in any_system or tok[0] in systems
            for tok in s.index.get(name, ())
        )
        return hit != negate

    return predicate


def _string_predicate(c: Criterion) -> Predicate:
    if c.modifier not in (None, "exact", "contains"):
        raise SearchError(f"modifier :{c.modifier} is not supported on string parameters")
    wanted = [fold_string(v) for v in c.values]  # the index holds folded values too
    name = c.name
    if c.modifier == "exact":
        return lambda s: any(v == w for v in s.index.get(name, ()) for w in wanted)
    if c.modifier == "contains":
        return lambda s: any(w in v for v in s.index.get(name, ()) for w in wanted)
    return lambda s: any(str(v).startswith(w) for v in s.index.get(name, ()) for w in wanted)


def _reference_predicate(c: Criterion, target: str | None) -> Predicate:
    type_filter = target
    if c.modifier is not None:
        if not c.modifier[:1].isupper():
            raise SearchError(f"modifier :{c.modifier} is not supported on reference parameters")
        type_filter = c.modifier
    full: set[str] = set()
    bare: set[str] = set()
    for raw in c.values:
        ref = normalize_reference(raw)
        if "/" in ref:
            full.add(ref)
        elif type_filter is not None:
            full.add(f"{type_filter}/{ref}")
        else:
            bare.add(ref)
    name = c.name

    def predicate(s: StoredResource) -> bool:
        for ref in s.index.get(name, ()):
            text = str(ref)
            if text in full or (bare and text.rsplit("/", 1)[-1] in bare):
                return True
        return False

    return predicate
