"""``batch --demo --import`` and ``sandbox --import`` over a folder with broken and hostile files,
in real subprocesses: the good patients are screened, each bad file gets one line, exit codes
are 0 (something imported) or 2 (nothing), and no traceback is ever printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_imports import write_bad_files


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")


def _batch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--demo", *args],
        capture_output=True, text=True, env=_env(home), timeout=240,
    )  # fmt: skip


@pytest.mark.slow
def test_batch_imports_the_good_files_and_names_each_bad_one(
    tmp_path: Path, healthprep_home: Path, synthea_dir: Path
) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    chosen = sorted(synthea_dir.glob("*.json"))[:3]
    for path in chosen:
        (folder / path.name).write_bytes(path.read_bytes())
    bad = write_bad_files(folder)
    empty_dir = tmp_path / "no-json"
    empty_dir.mkdir()
    out = tmp_path / "out.json"
    result = _batch(
        healthprep_home, "--import", str(folder), "--import", str(empty_dir),
        "--all-patients", "--as-of", "2021-06-30", "--json", str(out),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    data = json.loads(out.read_text())
    assert {p["patient_id"] for p in data["patients"]} == {p.stem for p in chosen}
    lines = output.splitlines()
    for name in [*bad, "no-json"]:
        mine = [line for line in lines if line.startswith(f"skipped {name}: ")]
        assert len(mine) == 1, (name, output)


@pytest.mark.slow
def test_batch_with_nothing_importable_exits_2_with_one_sentence(
    tmp_path: Path, healthprep_home: Path
) -> None:
    write_bad_files(tmp_path / "bad")
    result = _batch(healthprep_home, "--import", str(tmp_path / "bad"), "--all-patients")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert "Cannot run the batch: no patients could be imported" in output, output


def _sandbox(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "healthprep_desktop", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(home),
    )  # fmt: skip


@pytest.mark.slow
def test_sandbox_imports_the_good_files_and_names_each_bad_one(
    tmp_path: Path, healthprep_home: Path, synthea_dir: Path
) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    chosen = sorted(synthea_dir.glob("*.json"))[:2]
    for path in chosen:
        (folder / path.name).write_bytes(path.read_bytes())
    bad = write_bad_files(folder)
    lines: list[str] = []
    with _sandbox(healthprep_home, "--import", str(folder)) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "FHIR base" in line:
                break
        proc.terminate()
        proc.wait(timeout=20)
    output = "\n".join(lines)
    assert any("2 patients" in line for line in lines), output
    assert "Traceback" not in output
    for name in bad:
        assert len([x for x in lines if x.startswith(f"skipped {name}: ")]) == 1, (name, output)


@pytest.mark.slow
def test_sandbox_with_nothing_importable_exits_2(tmp_path: Path, healthprep_home: Path) -> None:
    write_bad_files(tmp_path / "bad")
    with _sandbox(healthprep_home, "--import", str(tmp_path / "bad")) as proc:
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    assert "no patients could be imported" in output, output
