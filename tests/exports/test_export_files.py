"""Exports of a clinic day and of the panel from a real store into real files: rows, formats
(the Parquet file reads back with the CSV's rows), summaries, completeness, permissions, audit."""

from __future__ import annotations

import csv
import json
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from healthprep_desktop.exports import columns
from healthprep_desktop.exports.run import ExportRequest, run_export
from healthprep_desktop.exports.writers import LIST_SEPARATOR, ROW_GROUP, Format, write_table
from healthprep_desktop.store import AuditAction, AuditFilter
from tests.exports.conftest import Clinic


def _csv_rows(path: Path, table: columns.Table) -> list[dict[str, Any]]:
    """CSV text back to typed values, by the table's column kinds."""
    kinds = {c.name: c.kind for c in table.columns}
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for name, text in raw.items():
                kind = kinds[name]
                if kind is columns.Kind.TEXT_LIST:
                    row[name] = text.split(LIST_SEPARATOR) if text else []
                elif text == "":
                    row[name] = None
                elif kind is columns.Kind.DATE:
                    row[name] = date.fromisoformat(text)
                elif kind is columns.Kind.INT:
                    row[name] = int(text)
                elif kind is columns.Kind.FLOAT:
                    row[name] = float(text)
                else:
                    row[name] = text
            out.append(row)
    return out


def _export(clinic: Clinic, tmp_path: Path, fmt: Format, **kw: Any) -> Path:
    out = tmp_path / f"out-{fmt.value}"
    request = ExportRequest(fmt=fmt, out=out, day=clinic.day, summary=True, completeness=True, **kw)
    run_export(clinic.scope, request)
    return out


def test_day_export_rows_parquet_equals_csv_and_json(clinic: Clinic, tmp_path: Path) -> None:
    csv_rows = _csv_rows(_export(clinic, tmp_path, Format.CSV) / "results.csv", columns.RESULTS)
    table = pq.read_table(_export(clinic, tmp_path, Format.PARQUET) / "results.parquet")
    jsonl = (_export(clinic, tmp_path, Format.JSON) / "results.jsonl").read_text("utf-8")

    assert table.schema.field("last_done").type == pa.date32()
    assert table.schema.field("flags").type == pa.list_(pa.string())
    assert table.schema.field("age").type == pa.int32()
    assert table.to_pylist() == csv_rows
    json_rows = [json.loads(line) for line in jsonl.splitlines()]
    assert [r["patient_id"] for r in json_rows] == [r["patient_id"] for r in csv_rows]

    # The newest sheet per patient: two screenings each, not the older one-screening sheet.
    assert len(csv_rows) == 6
    by_key = {(r["patient_id"], r["screening_id"]): r for r in csv_rows}
    okafor = by_key[("pat-aa11", "colorectal")]
    assert okafor["status"] == "complete" and okafor["last_done"] == date(2019, 4, 23)
    assert okafor["next_due"] == date(2029, 4, 23) and okafor["source"] == "Main EHR"
    assert (okafor["mrn"], okafor["name"], okafor["age"]) == ("MRN-700101", "Adaeze Okafor", 65)
    assert (okafor["sex"], okafor["postal_code"]) == ("female", "02139")
    # Evidence from a linked source names that source, from the chart's source tag.
    assert by_key[("pat-cc33", "colorectal")]["source"] == "St Mary's"
    a1c = by_key[("pat-bb22", "diabetes-a1c")]
    assert a1c["flags"] == ["HbA1c 9.6 % on 2026-03-01 is above 9 %"]
    assert a1c["status"] == "not_at_goal" and a1c["age"] == 93


def test_files_are_private_and_the_export_is_audited(clinic: Clinic, tmp_path: Path) -> None:
    out = _export(clinic, tmp_path, Format.CSV)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "completeness.csv",
        "results.csv",
        "summary-measures.csv",
        "summary-status.csv",
    ]
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = clinic.scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.EXPORT})))
    assert len(entries) == 1
    detail = entries[0].detail
    assert "6 result rows for 3 patients as csv" in detail
    for patient in clinic.patients:  # counts only: no id, name or MRN in the audit text
        assert patient["id"] not in detail and patient["identifier"][0]["value"] not in detail


def test_panel_export_summary_and_completeness(clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "panel"
    request = ExportRequest(
        fmt=Format.CSV,
        out=out,
        connection_id=clinic.connection_id,
        summary=True,
        completeness=True,
    )
    result = run_export(clinic.scope, request)
    assert (result.patients, result.rows) == (3, 6)

    status = _csv_rows(out / "summary-status.csv", columns.STATUS_SUMMARY)
    assert {(r["screening_id"], r["status"]): r["patients"] for r in status} == {
        ("colorectal", "complete"): 2,
        ("colorectal", "due"): 1,
        ("diabetes-a1c", "not_at_goal"): 3,
    }
    (measure,) = _csv_rows(out / "summary-measures.csv", columns.MEASURE_SUMMARY)
    assert (measure["cms"], measure["year"], measure["denominator"]) == ("CMS130", "2026", 3)
    assert measure["numerator"] == 2 and measure["performance_rate"] == pytest.approx(2 / 3)

    lines = _csv_rows(out / "completeness.csv", columns.COMPLETENESS)
    by = {(r["resource_type"], r["source"]): r for r in lines}
    assert by[("Observation", "Main EHR")]["patients_with_data"] == 3
    assert by[("Observation", "Main EHR")]["newest_median"] == date(2026, 3, 1)
    procedures = by[("Procedure", "Main EHR")]
    assert procedures["patients_with_data"] == 1 and procedures["share"] == pytest.approx(0.3333)
    assert procedures["newest_oldest"] == date(2019, 4, 23)
    assert by[("Procedure", "St Mary's")]["newest_median"] == date(2022, 8, 9)
    assert by[("DocumentReference", "Main EHR")]["patients_with_data"] == 3
    assert by[("Patient", "Main EHR")]["patients_with_data"] == 3
    assert by[("Patient", "Main EHR")]["newest_median"] is None


def test_parquet_streams_in_row_groups(tmp_path: Path) -> None:
    rows = (
        {"screening_id": f"s{n % 7}", "status": "due", "patients": n}
        for n in range(ROW_GROUP * 2 + 3)
    )
    path, count = write_table(rows, columns.STATUS_SUMMARY, Format.PARQUET, tmp_path)
    meta = pq.ParquetFile(path).metadata
    assert count == ROW_GROUP * 2 + 3 and meta.num_rows == count and meta.num_row_groups == 3
    empty, none = write_table(iter(()), columns.RESULTS, Format.PARQUET, tmp_path, prefix="e-")
    assert none == 0 and pq.read_table(empty).schema.field("as_of").type == pa.date32()


def test_a_failing_export_leaves_no_partial_file(tmp_path: Path) -> None:
    def rows() -> Any:
        yield {"screening_id": "crc", "status": "due", "patients": 1}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_table(rows(), columns.STATUS_SUMMARY, Format.CSV, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_sheet_without_a_job_uses_the_clinics_only_connection(
    clinic: Clinic, tmp_path: Path
) -> None:
    patient = {**clinic.patients[0], "id": "pat-dd44", "birthDate": "1970-12-05"}
    results = [{"screening_id": "flu", "name": "Influenza", "status": "due", "evidence": []}]
    envelope = {"as_of": clinic.day.isoformat(), "results": results}
    clinic.scope.sheets.save("pat-dd44", clinic.day, b"%PDF", envelope)  # no job
    record = {"patient": patient, "resources": []}
    clinic.scope.records.put(
        clinic.connection_id, "pat-dd44", fetched_at="", etags={}, record=record, record_hash=""
    )
    out = _export(clinic, tmp_path, Format.CSV)
    rows = [
        r for r in _csv_rows(out / "results.csv", columns.RESULTS) if r["patient_id"] == "pat-dd44"
    ]
    assert [(r["source"], r["age"], r["status"]) for r in rows] == [("Main EHR", 55, "due")]


def test_csv_cells_a_spreadsheet_would_run_are_made_inert(tmp_path: Path) -> None:
    row = {"patient_id": '=HYPERLINK("http://x")', "name": "-2+3", "flags": ["@SUM(A1)", "ok"]}
    row |= {"age": -1, "mrn": "M-1"}
    csv_path, _ = write_table([row], columns.RESULTS, Format.CSV, tmp_path)
    parquet_path, _ = write_table([row], columns.RESULTS, Format.PARQUET, tmp_path)
    (back,) = _csv_rows(csv_path, columns.RESULTS)
    assert back["patient_id"] == '\'=HYPERLINK("http://x")' and back["name"] == "'-2+3"
    assert back["flags"] == ["'@SUM(A1)", "ok"] and back["age"] == -1 and back["mrn"] == "M-1"
    (kept,) = pq.read_table(parquet_path).to_pylist()
    assert kept["patient_id"] == row["patient_id"] and kept["flags"] == row["flags"]


def test_a_failed_export_is_audited_and_leaves_no_file(clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "results.csv").mkdir(parents=True)  # the rename over it fails after every row
    with pytest.raises(IsADirectoryError):
        run_export(clinic.scope, ExportRequest(Format.CSV, out, day=clinic.day))
    assert [p.name for p in out.iterdir()] == ["results.csv"]
    (entry,) = clinic.scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.EXPORT})))
    assert entry.outcome == "failure" and "failed after 3 patients" in entry.detail
