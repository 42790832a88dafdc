"""De-identified exports (HIPAA Safe Harbor): every identifier found in the identified export of
the same results is searched for in every de-identified file, in every format, and none is
there; the generalised fields are checked one by one; the CLI writes the same files."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.exports.deidentify import KEY_SETTING, clinic_key, patient_key, zip3
from healthprep_desktop.exports.run import DEID_PREFIX, REPORT_NAME, ExportRequest, run_export
from healthprep_desktop.exports.writers import Format
from tests.exports.conftest import Clinic

ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _identifiers(identified_csv: Path, clinic: Clinic) -> set[str]:
    """Everything in the identified export that identifies someone, in the forms it could be
    copied in (a date also without dashes, a phone also as bare digits)."""
    found: set[str] = set()
    with identified_csv.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            found |= {row["patient_id"], row["mrn"], row["name"], row["postal_code"]}
            found |= set(row["name"].split()) | {row["phone"], re.sub(r"\D", "", row["phone"])}
            found.add(row["postal_code"][:5])  # the 5-digit ZIP of a ZIP+4
            for text in row.values():  # full dates, also inside reasons and flags
                for y, m, d in ISO_DATE.findall(text):
                    found |= {f"{y}-{m}-{d}", f"{y}{m}{d}", f"{m}/{d}/{y}"}
    for patient in clinic.patients:
        found |= {patient["birthDate"], patient["birthDate"].replace("-", "")}
    found.discard("")
    return found


def _texts(folder: Path) -> dict[str, str]:
    """Every file of the folder as text (Parquet read back through pyarrow, every value)."""
    texts: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            texts[path.name] = json.dumps(rows, default=str, ensure_ascii=False)
        else:
            texts[path.name] = path.read_text("utf-8")
    return texts


@pytest.mark.parametrize("fmt", list(Format))
def test_no_identifier_of_the_identified_export_survives(
    clinic: Clinic, tmp_path: Path, fmt: Format
) -> None:
    plain = tmp_path / "identified"
    run_export(clinic.scope, ExportRequest(Format.CSV, plain, day=clinic.day))
    identifiers = _identifiers(plain / "results.csv", clinic)
    assert {"pat-aa11", "MRN-700101", "Okafor", "1933-02-11", "02139", "617-555-0142"} <= (
        identifiers
    )
    assert "2025-11-02" in identifiers  # a date quoted in free text (a reason)

    out = tmp_path / "deid"
    for day, panel in ((clinic.day, None), (None, clinic.connection_id)):
        request = ExportRequest(
            fmt,
            out / ("day" if day else "panel"),
            day=day,
            connection_id=panel,
            deidentify=True,
            summary=True,
            completeness=True,
        )
        run_export(clinic.scope, request)
    texts = {
        f"{sub.name}/{name}": text
        for sub in sorted(out.iterdir())
        for name, text in _texts(sub).items()
    }
    assert len(texts) == 10  # results, 2 summaries, completeness, report; day and panel
    secret = clinic_key(clinic.scope).hex()
    leaks = sorted(
        (name, ident)
        for name, text in texts.items()
        for ident in identifiers | {secret}
        if ident in text
    )
    assert leaks == []
    assert not ISO_DATE.search("".join(texts.values()).replace(f'"{REPORT_NAME}"', ""))


def test_fields_are_generalised_as_safe_harbor_says(clinic: Clinic, tmp_path: Path) -> None:
    request = ExportRequest(Format.PARQUET, tmp_path, day=clinic.day, deidentify=True)
    run_export(clinic.scope, request)
    rows = pq.read_table(tmp_path / f"{DEID_PREFIX}results.parquet").to_pylist()
    assert len(rows) == 6
    key = clinic_key(clinic.scope)
    by = {(r["patient_key"], r["screening_id"]): r for r in rows}
    okafor = by[(patient_key(key, "pat-aa11"), "colorectal")]
    assert (okafor["age"], okafor["zip3"], okafor["sex"]) == ("65", "021", "female")
    assert (okafor["last_done_year"], okafor["next_due_year"], okafor["as_of_year"]) == (
        2019,
        2029,
        2026,
    )
    lindqvist = by[(patient_key(key, "pat-bb22"), "diabetes-a1c")]
    assert lindqvist["age"] == "90+" and lindqvist["zip3"] == "000"  # 036 is a small zone
    assert lindqvist["flag_count"] == 1 and "reason" not in lindqvist
    assert by[(patient_key(key, "pat-cc33"), "colorectal")]["zip3"] == "100"

    report = json.loads((tmp_path / REPORT_NAME).read_text("utf-8"))
    assert report["patients"] == 3 and len(report["identifiers"]) == 18
    assert report["counts"]["rows with age shown as 90+"] == 2  # that patient's 2 screenings
    assert report["counts"]["rows with a reason dropped"] == 3


def test_the_clinic_key_is_made_once_and_kept_in_the_store(clinic: Clinic) -> None:
    first = clinic_key(clinic.scope)
    assert len(first) == 32 and clinic_key(clinic.scope) == first
    assert clinic.scope.settings.get_raw(KEY_SETTING) == first.hex()
    assert patient_key(first, "p1") != patient_key(bytes(32), "p1")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("02139", "021"),
        ("10025-1234", "100"),
        ("100251234", "100"),
        ("05901", "000"),
        ("89301", "000"),
        ("K1A 0B1", None),
        ("1234", None),
        (None, None),
    ],
)
def test_zip3(code: str | None, expected: str | None) -> None:
    assert zip3(code) == expected


def test_cli_writes_a_deidentified_panel_export(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    argv = ["export", "--tenant", "Clinic", "--panel", "--connection", clinic.connection_name]
    argv += ["--format", "parquet", "--deidentify", "--summary", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Exported 6 de-identified rows for 3 patients" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        REPORT_NAME,
        f"{DEID_PREFIX}results.parquet",
        f"{DEID_PREFIX}summary-measures.parquet",
        f"{DEID_PREFIX}summary-status.parquet",
    ]
    assert "pat-aa11" not in printed and "Okafor" not in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--panel"], "--panel needs --connection"),
        (["--panel", "--connection", "Nope"], "No connection 'Nope'"),
        (["--day", "2026-12-05"], "no prep sheets are stored for 2026-12-05"),
        (["--day", "2026-12-04", "--connection", "Main EHR"], "--connection goes with --panel"),
    ],
)
def test_cli_bad_requests_get_one_sentence(
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code = main(["export", "--format", "csv", "--out", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
