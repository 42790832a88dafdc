"""The self-test command and the top-level CLI, in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", *args],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip


def test_self_test_passes_and_leaves_no_store_behind(healthprep_home: Path) -> None:
    result = _run("self-test", home=healthprep_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SELF-TEST PASSED" in result.stdout
    for check in ("encrypted store", "demo batch", "sheet read back", "audit chain"):
        assert f"[PASS] {check}" in result.stdout
    assert not (healthprep_home / "data" / "healthprep.db").exists()


def test_gui_without_a_display_says_what_to_do_instead(healthprep_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    result = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop"],
        capture_output=True, text=True, env={**env, "HEALTHPREP_HOME": str(healthprep_home)},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "batch --demo" in result.stderr


def test_help_lists_every_command(healthprep_home: Path) -> None:
    result = _run("--help", home=healthprep_home)
    assert result.returncode == 0
    for command in ("batch", "sandbox", "audit", "self-test", "gui"):
        assert command in result.stdout
