"""Importing bundles where some files are broken or hostile: every good file is imported, each
bad one is skipped with one sentence naming the file and what is wrong, and nothing raises."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hostile_imports import write_bad_files

from healthprep_desktop.sandbox.importer import (
    BundleImportError,
    ImportedClinic,
    NothingToImport,
    import_paths,
)


def _good(folder: Path, synthea_dir: Path, count: int = 3) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    chosen = sorted(synthea_dir.glob("*.json"))[:count]
    for path in chosen:
        (folder / path.name).write_bytes(path.read_bytes())
    return [p.stem for p in chosen]


def test_every_bad_file_is_skipped_with_one_sentence(tmp_path: Path, synthea_dir: Path) -> None:
    folder = tmp_path / "imports"
    good = _good(folder, synthea_dir)
    bad = write_bad_files(folder)
    empty_dir = tmp_path / "nothing-here"
    empty_dir.mkdir()
    (empty_dir / "README.txt").write_text("no bundles", "utf-8")
    problems: list[str] = []
    started = time.monotonic()
    resources = import_paths([folder, empty_dir, tmp_path / "missing"], problems=problems)
    assert time.monotonic() - started < 20
    patients = {r["id"] for r in resources if r["resourceType"] == "Patient"}
    assert patients == set(good)
    assert len(problems) == len(bad) + 2, problems
    for name, word in bad.items():
        line = next((p for p in problems if p.startswith(f"skipped {name}: ")), None)
        assert line is not None, (name, problems)
        assert word.lower() in line.lower(), line
        assert "\n" not in line and len(line) < 240, line
    assert any(p.startswith("skipped nothing-here: ") for p in problems), problems
    assert any(p.startswith("skipped missing: ") for p in problems), problems


def test_strict_mode_raises_one_sentence(tmp_path: Path) -> None:
    write_bad_files(tmp_path)
    with pytest.raises(BundleImportError, match=r"^skipped array\.json: "):
        import_paths([tmp_path / "array.json"])


def test_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "text": {"div": "x" * 3_000_000}}
    (tmp_path / "p.json").write_text(json.dumps(patient), "utf-8")
    problems: list[str] = []
    assert import_paths([tmp_path], problems=problems, max_file_bytes=1_000_000) == []
    assert problems and "over the 1 MB limit" in problems[0], problems
    monkeypatch.setenv("HEALTHPREP_IMPORT_MAX_MB", "1")
    problems = []
    assert import_paths([tmp_path], problems=problems) == []
    assert "HEALTHPREP_IMPORT_MAX_MB" in problems[0]
    monkeypatch.setenv("HEALTHPREP_IMPORT_MAX_MB", "5")
    problems = []
    assert [r["id"] for r in import_paths([tmp_path], problems=problems)] == ["p1"]
    assert problems == []


def test_partly_bad_bundle_keeps_its_good_entries(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "ok1"}},
            "not an entry",
            {"resource": {"resourceType": "Nonsense", "id": "n"}},
            {"resource": {"resourceType": "Observation", "id": "o1", "status": "final"},
             "request": "PUT"},
        ],
    }  # fmt: skip
    (tmp_path / "mixed.json").write_text(json.dumps(bundle), "utf-8")
    ndjson = '{"resourceType": "Patient", "id": "nd1"}\n{oops\n[1]\n'
    (tmp_path / "lines.ndjson").write_text(ndjson, "utf-8")
    problems: list[str] = []
    got = {f"{r['resourceType']}/{r['id']}" for r in import_paths([tmp_path], problems=problems)}
    assert got == {"Patient/ok1", "Observation/o1", "Patient/nd1"}
    assert len(problems) == 2, problems
    assert problems[0].startswith("skipped 2 of 3 lines in lines.ndjson: line 2: "), problems
    assert problems[1].startswith("skipped 2 of 4 entries in mixed.json: entry 2: "), problems


def test_single_resources_without_ids_get_stable_ones(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"resourceType": "Patient", "gender": "female"}', "utf-8")
    first = import_paths([tmp_path], problems=[])
    assert first == import_paths([tmp_path], problems=[])
    assert first[0]["id"]


def test_clinic_with_nothing_importable_says_so(tmp_path: Path) -> None:
    write_bad_files(tmp_path / "bad")
    with pytest.raises(NothingToImport) as caught:
        ImportedClinic([tmp_path / "bad"])
    message = str(caught.value)
    assert "\n" not in message and "no patients" in message, message
    assert "array.json" in message


def test_clinic_reports_problems_and_serves_the_good(tmp_path: Path, synthea_dir: Path) -> None:
    good = _good(tmp_path, synthea_dir, 2)
    (tmp_path / "array.json").write_text("[]", "utf-8")
    clinic = ImportedClinic([tmp_path])
    assert [p.split(":")[0] for p in clinic.problems] == ["skipped array.json"]
    assert {r["id"] for r in clinic.resources() if r["resourceType"] == "Patient"} == set(good)
