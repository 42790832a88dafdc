"""Exports are private and environment failures are one sentence (issue 12, items 3 and 7).

Real ``batch --demo`` subprocesses under a permissive umask (022); the full disk is a real
tmpfs of a few kilobytes (mounting needs root: skipped otherwise)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from workers_support import CLINIC_DAY

pytestmark = pytest.mark.slow


def _batch(
    home: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(
        os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen", **(env or {})
    )
    return subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo",
            "--patients-in-demo", "8", "--date", CLINIC_DAY.isoformat(), *extra,
        ],
        capture_output=True, text=True, env=full_env, timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_out_folder_and_every_file_are_private(tmp_path: Path, healthprep_home: Path) -> None:
    out = tmp_path / "exports" / "today"
    json_path = tmp_path / "elsewhere" / "deep" / "results.json"
    result = _batch(healthprep_home, "--out", str(out), "--json", str(json_path))
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(out.iterdir())
    assert len(files) > 3
    assert _mode(out) == 0o700 and _mode(out.parent) == 0o700
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert _mode(json_path) == 0o600 and _mode(json_path.parent) == 0o700
    assert "Warning" not in result.stdout + result.stderr  # a new folder is private: no warning


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_existing_shared_folder_is_named_in_one_warning(
    tmp_path: Path, healthprep_home: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / "001-old.pdf").write_bytes(b"old")  # an older export, readable by all
    (shared / "001-old.pdf").chmod(0o644)
    result = _batch(healthprep_home, "--out", str(shared))
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stdout.splitlines() if "other users" in line]
    assert len(warnings) == 1 and str(shared) in warnings[0] and "0755" in warnings[0]
    # The warning comes before the first patient, while the user can still stop the run.
    assert result.stdout.index(warnings[0]) < result.stdout.index("Wrote ")
    assert _mode(shared) == 0o755  # the user's folder keeps its permissions
    new = [f for f in shared.iterdir() if f.name != "001-old.pdf"]
    assert new and all(_mode(f) == 0o600 for f in new)


@contextlib.contextmanager
def _tiny_disk(where: Path, size: str) -> Iterator[Path]:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _one_clear_sentence(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and 'File "' not in text, text
    assert result.returncode == 2, text
    (line,) = [x for x in result.stderr.splitlines() if "disk is full" in x]
    return line


def test_disk_full_while_exporting_is_one_sentence_and_exit_2(
    tmp_path: Path, healthprep_home: Path
) -> None:
    with _tiny_disk(tmp_path / "tiny", "64k") as tiny:
        result = _batch(
            healthprep_home, "--out", str(tiny / "pdfs"), "--json", str(tiny / "r.json")
        )
        line = _one_clear_sentence(result)
        assert str(tiny / "pdfs") in line and "--resume" in line
        # Atomic writes: no half-written PDF is left behind.
        assert not [p for p in (tiny / "pdfs").iterdir() if p.name.endswith(".tmp")]


def test_disk_full_under_the_store_is_one_sentence_and_exit_2(
    tmp_path: Path, healthprep_home: Path
) -> None:
    # The demo keeps its throwaway store under TMPDIR: put that on a nearly full disk.
    with _tiny_disk(tmp_path / "tiny", "600k") as tiny:
        result = _batch(healthprep_home, env={"TMPDIR": str(tiny)})
        line = _one_clear_sentence(result)
        assert "store" in line
