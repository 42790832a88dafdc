"""Bulk files are per resource TYPE; screening wants one chart per PATIENT.

Loading every NDJSON file to regroup it would put the whole panel in memory (20,000 patients:
gigabytes). Instead each file is streamed line by line into a temporary SQLCipher database
indexed by patient, and charts are then read back one patient at a time, in patient-id order.
The database's random key lives only in this process's memory (as ``Store.open_ephemeral``
does), so the chart data never sits on disk in plaintext, and the file is deleted on close.

Resources outside any patient's compartment (Medication, read through ``medicationReference``)
are kept aside and joined to the charts that name them, as the per-patient fetch does.
A line that is not a FHIR resource is counted and reported by file type and line number only:
its content may be PHI.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import DatabaseKey

JSON = dict[str, Any]

# Where a resource names its patient (R4): subject for most, patient for some, beneficiary for
# Coverage; the Patient itself by its id.
_PATIENT_FIELDS = ("subject", "patient", "beneficiary")
_MEDICATION_USERS = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense"}
)
# Types kept aside (no patient of their own) and joined to charts by reference.
SHARED_TYPES = frozenset({"Medication"})
_BATCH = 500  # rows per insert: few round trips, little memory
_MAX_REPORTED = 20  # bad lines described one by one; the rest are only counted


@dataclass(slots=True)
class ImportReport:
    """What one or more NDJSON files brought: counts, and bad lines (type and line number)."""

    lines: int = 0
    resources: int = 0
    bad_lines: int = 0
    problems: list[str] = field(default_factory=list)  # one sentence each, no content
    by_type: dict[str, int] = field(default_factory=dict)

    def bad(self, sentence: str) -> None:
        self.bad_lines += 1
        if len(self.problems) < _MAX_REPORTED:
            self.problems.append(sentence)

    def add(self, other: ImportReport) -> None:
        self.lines += other.lines
        self.resources += other.resources
        for sentence in other.problems:
            if len(self.problems) < _MAX_REPORTED:
                self.problems.append(sentence)
        self.bad_lines += other.bad_lines
        for kind, n in other.by_type.items():
            self.by_type[kind] = self.by_type.get(kind, 0) + n


def patient_of(resource: JSON) -> str | None:
    """The id of the patient a resource belongs to, or None (not in a patient compartment)."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and rid else None
    for name in _PATIENT_FIELDS:
        value = resource.get(name)
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str):
                # "Patient/1", an absolute URL ending in it, or ".../Patient/1/_history/2".
                parts = ref.split("/")
                for i in range(len(parts) - 1):
                    if parts[i] == "Patient" and parts[i + 1]:
                        return parts[i + 1]
    return None


def medication_references(resources: Iterable[JSON]) -> set[str]:
    """The Medication ids named by the chart's prescriptions, statements and dispenses."""
    wanted: set[str] = set()
    for resource in resources:
        if resource.get("resourceType") not in _MEDICATION_USERS:
            continue
        ref = (resource.get("medicationReference") or {}).get("reference")
        if isinstance(ref, str) and "Medication/" in ref:
            rid = ref.rsplit("Medication/", 1)[1].split("/")[0]
            if rid:
                wanted.add(rid)
    return wanted


def _pack(resource: JSON) -> bytes:
    return zlib.compress(json.dumps(resource, separators=(",", ":")).encode("utf-8"), 1)


def _unpack(blob: bytes) -> JSON:
    value: JSON = json.loads(zlib.decompress(blob))
    return value


class PanelStaging:
    """The temporary, encrypted regrouping of a panel's resources by patient."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database.open(path, DatabaseKey.random())
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS resources (
                patient TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
                PRIMARY KEY (patient, type, id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS shared (
                type TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
                PRIMARY KEY (type, id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS patients (
                id TEXT PRIMARY KEY, has_patient INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            """
        )

    def close(self) -> None:
        """Close and delete the database (it is unreadable without the key anyway)."""
        self._db.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + suffix).unlink()

    def __enter__(self) -> PanelStaging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- import -------------------------------------------------------------------------------

    def import_ndjson(self, path: Path, resource_type: str | None = None) -> ImportReport:
        """Stream one NDJSON file in (one resource per line). ``resource_type`` is the type the
        manifest says the file holds; a line of another type is reported and skipped."""
        report = ImportReport()
        what = f"the {resource_type} file" if resource_type else f"the file {path.name}"
        with path.open("rb") as handle:
            self.import_lines(handle, what, resource_type, report)
        return report

    def import_lines(
        self,
        lines: Iterable[bytes | str],
        what: str,
        resource_type: str | None,
        report: ImportReport | None = None,
    ) -> ImportReport:
        report = report if report is not None else ImportReport()
        rows: list[tuple[str, str, str, bytes]] = []
        shared: list[tuple[str, str, bytes]] = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            report.lines += 1
            try:
                resource = json.loads(raw)
            except ValueError:
                report.bad(f"{what}, line {number}: not valid JSON; skipped")
                continue
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                report.bad(f"{what}, line {number}: not a FHIR resource; skipped")
                continue
            kind = resource["resourceType"]
            rid = resource.get("id")
            if resource_type and kind != resource_type:
                report.bad(f"{what}, line {number}: a {kind} in the {resource_type} file; skipped")
                continue
            if not isinstance(rid, str) or not rid:
                report.bad(f"{what}, line {number}: a {kind} without an id; skipped")
                continue
            if kind in SHARED_TYPES:
                shared.append((kind, rid, _pack(resource)))
            else:
                patient = patient_of(resource)
                if patient is None:
                    report.bad(f"{what}, line {number}: a {kind} that names no patient; skipped")
                    continue
                rows.append((patient, kind, rid, _pack(resource)))
            report.resources += 1
            report.by_type[kind] = report.by_type.get(kind, 0) + 1
            if len(rows) >= _BATCH:
                self._flush(rows, [])
                rows = []
            if len(shared) >= _BATCH:
                self._flush([], shared)
                shared = []
        self._flush(rows, shared)
        return report

    def add_chart(self, patient: JSON, resources: Iterable[JSON]) -> None:
        """One patient's whole chart (the per-patient fetch path fills the same table)."""
        pid = str(patient.get("id") or "")
        rows = [(pid, "Patient", pid, _pack(patient))]
        shared: list[tuple[str, str, bytes]] = []
        for r in resources:
            kind, rid = str(r.get("resourceType")), str(r.get("id"))
            if kind in SHARED_TYPES:
                shared.append((kind, rid, _pack(r)))
            else:
                rows.append((pid, kind, rid, _pack(r)))
        self._flush(rows, shared)

    def _flush(self, rows: list[tuple[str, str, str, bytes]], shared: list[Any]) -> None:
        if not rows and not shared:
            return
        with self._db.transaction():
            if rows:
                self._db.executemany(
                    "INSERT OR REPLACE INTO resources(patient, type, id, body) VALUES (?,?,?,?)",
                    rows,
                )
                self._db.executemany(
                    "INSERT INTO patients(id, has_patient) VALUES (?, ?) ON CONFLICT(id) DO "
                    "UPDATE SET has_patient = max(has_patient, excluded.has_patient)",
                    [(r[0], int(r[1] == "Patient")) for r in rows],
                )
            if shared:
                self._db.executemany(
                    "INSERT OR REPLACE INTO shared(type, id, body) VALUES (?,?,?)", shared
                )

    # --- reading back -------------------------------------------------------------------------

    def patient_count(self) -> int:
        return int(self._db.query_one("SELECT count(*) FROM patients")[0])

    def patient_ids(self, *, page: int = 1000) -> Iterator[str]:
        """Every patient with anything staged, in id order, a page at a time."""
        after = ""
        while True:
            rows = self._db.query(
                "SELECT id FROM patients WHERE id > ? ORDER BY id LIMIT ?", (after, page)
            )
            yield from (row[0] for row in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]

    def chart(self, patient_id: str) -> tuple[JSON | None, list[JSON]]:
        """The patient's staged Patient resource (None if the export had none) and the rest,
        with the Medications their prescriptions name."""
        rows = self._db.query(
            "SELECT type, body FROM resources WHERE patient = ? ORDER BY type, id", (patient_id,)
        )
        patient: JSON | None = None
        resources: list[JSON] = []
        for kind, body in rows:
            resource = _unpack(body)
            if kind == "Patient":
                patient = resource
            else:
                resources.append(resource)
        for mid in sorted(medication_references(resources)):
            found = self._db.query_one(
                "SELECT body FROM shared WHERE type = 'Medication' AND id = ?", (mid,)
            )
            if found is not None:
                resources.append(_unpack(found[0]))
        return patient, resources


__all__ = ["ImportReport", "PanelStaging", "medication_references", "patient_of"]
