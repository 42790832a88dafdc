"""The sandbox's synthetic clinic, screened by the real engine, stored as a panel in a real store
and exported identified and de-identified in every format: no identifier of the patients'
charts (ids, MRNs, names, birth dates, phones, addresses, ZIP codes) and no full date of the
identified export is found in any de-identified file; the Parquet rows equal the CSV rows."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from healthprep_desktop.exports import columns
from healthprep_desktop.exports.run import ExportRequest, run_export
from healthprep_desktop.exports.writers import Format
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_status import refine
from healthprep_desktop.store import Store
from healthprep_desktop.store.repos.panel_results import PanelResult
from tests.exports.test_export_deidentified import ISO_DATE, _texts
from tests.exports.test_export_files import _csv_rows

AS_OF = date(2026, 12, 4)
PATIENTS = 20


def _chart_identifiers(patient: dict[str, Any]) -> set[str]:
    found = {patient["id"], patient.get("birthDate", "")}
    for ident in patient.get("identifier") or []:
        found.add(str(ident.get("value") or ""))
    for name in patient.get("name") or []:
        found |= {str(name.get("text") or ""), str(name.get("family") or "")}
        found |= {str(g) for g in name.get("given") or [] if len(str(g)) > 2}
    for telecom in patient.get("telecom") or []:
        value = str(telecom.get("value") or "")
        found |= {value, re.sub(r"\D", "", value)}
    for address in patient.get("address") or []:
        found |= {str(line) for line in address.get("line") or []}
        found |= {str(address.get("city") or ""), str(address.get("postalCode") or "")[:5]}
    return {f for f in found if f}


def _store_panel(store: Store) -> tuple[Any, int, set[str]]:
    scope = store.tenant(store.create_tenant("Synthetic clinic").id)
    connection = scope.connections.add("Sandbox EHR", "sandbox", "https://sandbox.example/fhir")
    clinic = SyntheticClinic(seed=3, patients=PATIENTS, reference_date=AS_OF)
    library = default_library()
    identifiers: set[str] = set()
    for pid in clinic.patient_ids():
        resources = clinic.patient_resources(pid)
        patient = next(r for r in resources if r.get("resourceType") == "Patient")
        chart = [r for r in resources if r.get("resourceType") != "Patient"]
        identifiers |= _chart_identifiers(patient)
        record = PatientRecord(patient=patient, resources=chart, fetched_at=datetime.now())
        results = refine(evaluate(record, AS_OF, library), record, AS_OF, library)
        envelope = {"as_of": AS_OF.isoformat(), "results": [r.to_json() for r in results]}
        stored = {"patient": patient, "resources": chart, "documents": []}
        scope.records.put(
            connection.id, pid, fetched_at="", etags={}, record=stored, record_hash=pid
        )
        scope.panel.put(PanelResult(connection.id, pid, envelope, pid))
    return scope, connection.id, identifiers


def test_a_screened_synthetic_panel_exports_without_identifiers(
    store: Store, tmp_path: Path
) -> None:
    scope, connection_id, identifiers = _store_panel(store)
    plain = tmp_path / "identified"
    for fmt in (Format.CSV, Format.PARQUET):
        run_export(scope, ExportRequest(fmt, plain, connection_id=connection_id))
    csv_rows = _csv_rows(plain / "results.csv", columns.RESULTS)
    assert pq.read_table(plain / "results.parquet").to_pylist() == csv_rows
    assert len({r["patient_id"] for r in csv_rows}) == PATIENTS
    # A few synthetic charts lack a birth date or an MRN on purpose; most have both.
    complete = [r for r in csv_rows if r["name"] and r["mrn"] and r["birth_date"] and r["phone"]]
    assert len(complete) > len(csv_rows) * 0.8
    for row in csv_rows:  # every full date of the identified export, in the forms it could take
        for value in row.values():
            for y, m, d in ISO_DATE.findall(json.dumps(value, default=str)):
                identifiers |= {f"{y}-{m}-{d}", f"{y}{m}{d}", f"{m}/{d}/{y}"}

    texts: dict[str, str] = {}
    for fmt in Format:
        out = tmp_path / f"deid-{fmt.value}"
        request = ExportRequest(
            fmt, out, connection_id=connection_id, deidentify=True, summary=True, completeness=True
        )
        run_export(scope, request)
        texts |= {f"{fmt.value}/{name}": text for name, text in _texts(out).items()}
    assert len(texts) == 15
    # One pass per file: every identifier as a whole word (so "Lee" does not match "Sleep").
    words = "|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{words})(?![\w-])")
    assert len(set(pattern.findall((plain / "results.csv").read_text("utf-8")))) > 3 * PATIENTS
    leaks = sorted((name, hit) for name, text in texts.items() for hit in pattern.findall(text))
    assert leaks == []
