"""Real FHIR bundles into a sandbox organization, and a clinic source built from them.

Bundles written by other systems (Synthea, EHR exports) use transaction or collection bundles,
POST entries with ``urn:uuid:`` full URLs, PUT entries with ``Type/id`` URLs, and conditional
references (``Patient?identifier=sys|val``). Everything is rewritten to plain ``Type/id`` so
the store and every client see one reference style.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.import_files import (
    FileProblem,
    check_resource,
    describe_kind,
    max_file_bytes_setting,
    parse_json,
    read_text,
)

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ID_NAMESPACE = uuid.UUID("6f1d7a52-3c39-4d0e-9a1b-6a8a1c0f5e11")
SANDBOX_LOCATION_ID = "sandbox-clinic-location"


class BundleImportError(ValueError):
    """A file that is not a FHIR resource or bundle."""


class NothingToImport(BundleImportError):
    """No patient could be imported from any of the given paths (one sentence)."""


def _valid_id(candidate: str) -> str:
    # Ids outside FHIR's id grammar get a stable replacement rather than being rejected.
    return candidate if _ID.match(candidate) else str(uuid.uuid5(_ID_NAMESPACE, candidate))


def _entry_id(entry: JSON, resource: JSON) -> str:
    request = entry.get("request")
    if not isinstance(request, dict):
        request = {}
    url = str(request.get("url", ""))
    if request.get("method") == "PUT" and url and "?" not in url:
        return _valid_id(url.rstrip("/").split("/")[-1])
    if resource.get("id"):
        return _valid_id(str(resource["id"]))
    full = str(entry.get("fullUrl") or "")
    if full.startswith("urn:uuid:"):
        return _valid_id(full[len("urn:uuid:") :])
    if full:
        return _valid_id(full.rstrip("/").split("/")[-1])
    return str(uuid.uuid4())


def _identifier_keys(resource: JSON) -> Iterator[str]:
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list):
        return
    for ident in identifiers:
        if isinstance(ident, dict) and "value" in ident:
            yield f"{ident.get('system', '')}|{ident['value']}"
            yield f"|{ident['value']}"


def _resolve_conditional(reference: str, by_identifier: dict[str, str]) -> str | None:
    rtype, _, query = reference.partition("?")
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "identifier":
            key = value if "|" in value else f"|{value}"
            found = by_identifier.get(f"{rtype}:{key}")
            if found is not None:
                return found
    return None


def _rewrite(node: Any, mapping: dict[str, str], by_identifier: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, mapping, by_identifier) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key in ("reference", "url") and isinstance(value, str):
            if value in mapping:
                value = mapping[value]
            elif key == "reference" and "?" in value:
                value = _resolve_conditional(value, by_identifier) or value
            out[key] = value
        else:
            out[key] = _rewrite(value, mapping, by_identifier)
    return out


def resources_from_bundle(bundle: JSON) -> list[JSON]:
    """The resources of one Bundle (any type) with ids assigned and references resolved."""
    if bundle.get("resourceType") != "Bundle":
        if "resourceType" not in bundle:
            raise BundleImportError("not a FHIR resource")
        return [bundle]
    mapping: dict[str, str] = {}
    by_identifier: dict[str, str] = {}
    resources: list[JSON] = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        rtype = str(resource["resourceType"])
        rid = _entry_id(entry, resource)
        ref = f"{rtype}/{rid}"
        full = entry.get("fullUrl")
        if isinstance(full, str) and full:
            mapping[full] = ref
        mapping.setdefault(ref, ref)
        for key in _identifier_keys(resource):
            by_identifier.setdefault(f"{rtype}:{key}", ref)
        resources.append({**resource, "id": rid})
    return [_rewrite(r, mapping, by_identifier) for r in resources]


_URN = re.compile(r'"(urn:uuid:[0-9A-Za-z\-.]+)"')
_CONDITIONAL = re.compile(r'"reference"\s*:\s*"[A-Za-z]+\?')


_COMPACT_ENTRY = re.compile(
    r'"fullUrl":"(urn:uuid:[^"]+)","resource":\{"resourceType":"([A-Za-z]+)","id":"([^"]+)"'
)


def _fast_bundle(text: str) -> list[JSON] | None:
    """A compact urn:uuid bundle (Synthea's shape) rewritten as text: map each entry's fullUrl
    to Type/id, substitute the quoted URNs and parse once; several times faster than walking
    every element. None when the text is not in that shape (the general path handles it)."""
    if _CONDITIONAL.search(text):
        return None
    entries = _COMPACT_ENTRY.findall(text)
    if not entries or len(entries) != text.count('"fullUrl"'):
        return None
    if any(not _ID.match(rid) for _, _, rid in entries):
        return None
    mapping = {full: f"{rtype}/{rid}" for full, rtype, rid in entries}
    rewritten = _URN.sub(lambda m: f'"{mapping.get(m.group(1), m.group(1))}"', text)
    bundle = json.loads(rewritten)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    entries_found = bundle.get("entry")
    if not isinstance(entries_found, list):
        return None
    resources: list[JSON] = []
    for entry in entries_found:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            return None  # the general path reports the entries that are not resources
        resources.append(resource)
    return resources


Report = Callable[[str], None]


def _load_file(path: Path, name: str, limit: int, report: Report) -> list[JSON]:
    """The resources of one file; FileProblem when none can be used. Entries or lines that are
    not resources are left out and reported in one sentence."""
    text = read_text(path, limit)
    if path.suffix == ".ndjson":
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        found = _usable(((f"line {n}", line) for n, line in lines), name, "lines", report)
        return [_with_id(r, f"{path}|{n}") for n, r in enumerate(found)]
    try:
        fast = _fast_bundle(text)
    except (ValueError, RecursionError):
        fast = None  # the general path says what is wrong with it
    if fast is not None and all(_is_resource(r) for r in fast):
        return fast
    data = parse_json(text)
    if not isinstance(data, dict):
        raise FileProblem(f"{describe_kind(data)}, not a FHIR resource or Bundle")
    if data.get("resourceType") != "Bundle":
        return [_with_id(check_resource(data), str(path))]
    entries = data.get("entry")
    if entries is not None and not isinstance(entries, list):
        raise FileProblem(f"its Bundle.entry is {describe_kind(entries)}, not a list of entries")
    if not entries:
        raise FileProblem("a Bundle with no entries")
    numbered = ((f"entry {n}", entry) for n, entry in enumerate(entries, 1))
    usable = _usable(numbered, name, "entries", report)
    return resources_from_bundle({**data, "entry": usable})


def _is_resource(value: JSON) -> bool:
    try:
        check_resource(value)
    except FileProblem:
        return False
    return True


def _usable(items: Iterator[tuple[str, Any]], name: str, what: str, report: Report) -> list[JSON]:
    """The items that hold a FHIR resource: ndjson lines (text) or Bundle entries (objects)."""
    good: list[JSON] = []
    total, bad, first = 0, 0, ""
    for label, item in items:
        total += 1
        try:
            if what == "lines":
                good.append(check_resource(parse_json(item)))
            elif not isinstance(item, dict):
                raise FileProblem(f"{describe_kind(item)}, not a Bundle entry")
            elif "resource" not in item:
                raise FileProblem("no resource in it")
            else:
                check_resource(item["resource"])
                good.append(item)
        except FileProblem as exc:
            bad += 1
            first = first or f"{label}: {exc}"
    if not good:
        one = "line" if what == "lines" else "entry"
        none = f"none of its {total} {what} is" if total > 1 else f"its only {one} is not"
        raise FileProblem(f"{none} a FHIR resource ({first})" if total else "the file is empty")
    if bad:
        report(f"skipped {bad} of {total} {what} in {name}: {first}")
    return good


def _with_id(resource: JSON, key: str) -> JSON:
    """A stand-alone resource (its own file or an ndjson line) with a usable, stable id."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return {**resource, "id": _valid_id(rid)}
    return {**resource, "id": str(uuid.uuid5(_ID_NAMESPACE, key))}


def _files(root: Path, report: Report) -> list[tuple[Path, str]]:
    """The import files under one path, each with the name to show for it."""
    shown = root.name or str(root)
    try:
        if root.is_dir():
            found = sorted({*root.rglob("*.json"), *root.rglob("*.ndjson")})
            if not found:
                report(f"skipped {shown}: no .json or .ndjson files in this folder")
            return [(f, f.relative_to(root).as_posix()) for f in found]
        if not root.exists():
            report(f"skipped {shown}: no such file or folder")
            return []
    except OSError as exc:
        report(f"skipped {shown}: could not be read ({exc.strerror or type(exc).__name__})")
        return []
    return [(root, shown)]


def import_paths(
    paths: Iterable[Path],
    *,
    problems: list[str] | None = None,
    max_file_bytes: int | None = None,
) -> list[JSON]:
    """Resources from bundle files and folders of them (searched recursively); a resource that
    several bundles carry identically (Synthea repeats shared Practitioners and Organizations)
    is kept once. The same id with other content in another file (test decks copy one case to
    make the next) gets a new id in that file, with that file's references rewritten, so one
    patient's data never overwrites another's.

    A file that cannot be used is reported as one sentence ("skipped <file>: <why>") in
    ``problems`` and the rest are imported; without ``problems`` the first one raises
    BundleImportError. Files over ``max_file_bytes`` (default: $HEALTHPREP_IMPORT_MAX_MB or
    50 MB) are not read at all."""
    limit = max_file_bytes_setting(max_file_bytes)

    def report(sentence: str) -> None:
        if problems is None:
            raise BundleImportError(sentence)
        problems.append(sentence)

    seen: dict[str, JSON] = {}
    for root in paths:
        for file, name in _files(Path(root), report):
            try:
                resources = _load_file(file, name, limit, report)
                renames = _renames(resources, seen, file)
                if renames:
                    resources = [_renamed(r, renames) for r in resources]
            except BundleImportError:
                raise
            except FileProblem as exc:
                report(f"skipped {name}: {exc}")
                continue
            except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
                # A shape no check above foresaw: still this file's problem, not the run's.
                report(f"skipped {name}: its content is not usable FHIR ({type(exc).__name__})")
                continue
            for resource in resources:
                seen.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    return list(seen.values())


def _renames(resources: list[JSON], seen: dict[str, JSON], file: Path) -> dict[str, str]:
    renames: dict[str, str] = {}
    for resource in resources:
        key = f"{resource['resourceType']}/{resource['id']}"
        known = seen.get(key)
        if known is not None and known != resource:
            new_id = _valid_id(f"{resource['id']}-{uuid.uuid5(_ID_NAMESPACE, str(file)).hex[:8]}")
            if len(new_id) > 64:
                new_id = str(uuid.uuid5(_ID_NAMESPACE, f"{file}|{key}"))
            renames[key] = f"{resource['resourceType']}/{new_id}"
    return renames


def _renamed(resource: JSON, renames: dict[str, str]) -> JSON:
    key = f"{resource['resourceType']}/{resource['id']}"
    out: JSON = _rewrite(resource, renames, {})
    if key in renames:
        out["id"] = renames[key].split("/", 1)[1]
    return out


def _nothing_imported(paths: list[Path], problems: list[str]) -> str:
    where = ", ".join(p.name or str(p) for p in paths) or "no paths"
    message = f"no patients could be imported from {where}"
    if not problems:
        return message + " (the files hold no Patient resources)"
    first = problems[0].removeprefix("skipped ")
    more = f"; {len(problems) - 1} more skipped" if len(problems) > 1 else ""
    return f"{message} (skipped {first}{more})"


class ImportedClinic:
    """A clinic source over imported bundles: their resources, and a deterministic schedule
    drawn from the living patients (imports carry no Appointments)."""

    def __init__(
        self,
        paths: Iterable[Path],
        *,
        seed: int = 0,
        per_day: int = 20,
        tz: str = "-05:00",
        max_file_bytes: int | None = None,
    ) -> None:
        self._paths = list(paths)
        self._max_file_bytes = max_file_bytes
        # One sentence per file (or part of one) that was left out; the caller shows them.
        self.problems: list[str] = []
        loaded = import_paths(self._paths, problems=self.problems, max_file_bytes=max_file_bytes)
        if not any(r["resourceType"] == "Patient" for r in loaded):
            raise NothingToImport(_nothing_imported(self._paths, self.problems))
        self._resources: list[JSON] | None = loaded
        self.seed = seed
        self.per_day = per_day
        self.tz = tz
        self._patients = sorted(
            r["id"]
            for r in loaded
            if r["resourceType"] == "Patient"
            and not r.get("deceasedDateTime")
            and not r.get("deceasedBoolean")
        )
        self._practitioners = sorted(
            r["id"] for r in loaded if r["resourceType"] == "Practitioner"
        )[:4]
        locations = [r["id"] for r in loaded if r["resourceType"] == "Location"]
        self._location = sorted(locations)[0] if locations else SANDBOX_LOCATION_ID

    def resources(self) -> list[JSON]:
        # Handed over once and not kept: the store holds its own compact copy, and keeping
        # tens of thousands of dicts alive would double the memory for nothing.
        found = self._resources
        if found is None:
            found = import_paths(self._paths, problems=[], max_file_bytes=self._max_file_bytes)
        self._resources = None
        if not any(r["resourceType"] == "Location" for r in found):
            found.append(self._sandbox_location())
        return found

    def _sandbox_location(self) -> JSON:
        return {
            "resourceType": "Location",
            "id": SANDBOX_LOCATION_ID,
            "status": "active",
            "name": "Sandbox Clinic, Suite 100",
        }

    def schedule(self, day: date) -> list[JSON]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        patients = rng.sample(self._patients, min(self.per_day, len(self._patients)))
        start = datetime(day.year, day.month, day.day, 8, 0)
        out: list[JSON] = []
        for n, patient_id in enumerate(patients):
            begin = start + timedelta(minutes=20 * n)
            participants: list[JSON] = [
                {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                {"actor": {"reference": f"Location/{self._location}"}, "status": "accepted"},
            ]
            if self._practitioners:
                practitioner = self._practitioners[n % len(self._practitioners)]
                participants.insert(
                    1,
                    {"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"},
                )
            out.append(
                {
                    "resourceType": "Appointment",
                    "id": f"appt-{day:%Y%m%d}-{n:03d}",
                    "status": "booked",
                    "description": "Office visit",
                    "start": begin.strftime("%Y-%m-%dT%H:%M:00") + self.tz,
                    "end": (begin + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:00") + self.tz,
                    "minutesDuration": 20,
                    "participant": participants,
                }
            )
        return out
