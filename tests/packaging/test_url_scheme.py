"""The healthprep:// URL scheme (EHR launch) in every installer: Windows registry keys (Inno
Setup), macOS CFBundleURLTypes, the Linux desktop entry and its registration script."""

from __future__ import annotations

import configparser
import os
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ISS = PACKAGING / "windows" / "healthprep.iss"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"
DESKTOP = PACKAGING / "linux" / "healthprep-desktop.desktop"
INSTALL_ENTRY = PACKAGING / "linux" / "install-desktop-entry.sh"


def _registry_entries() -> list[dict[str, str]]:
    """The [Registry] lines of the .iss as dicts (Inno's `Name: "value"; ...` syntax)."""
    entries: list[dict[str, str]] = []
    section = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            section = header.group(1)
            continue
        if section != "Registry":
            continue
        fields: dict[str, str] = {}
        for match in re.finditer(r'(\w+):\s*("(?:[^"]|"")*"|[^;]+)', line):
            value = match.group(2).strip()
            if value.startswith('"'):
                value = value[1:-1].replace('""', '"')
            fields[match.group(1)] = value
        entries.append(fields)
    return entries


def test_windows_installer_registers_the_healthprep_scheme() -> None:
    entries = _registry_entries()
    by_key: dict[tuple[str, str], str] = {
        (e["Subkey"], e["ValueName"]): e.get("ValueData", "") for e in entries
    }
    root = "Software\\Classes\\healthprep"
    assert all(e["Root"] == "HKA" for e in entries)  # HKLM for a per-machine install
    assert by_key[(root, "")].startswith("URL:")
    assert by_key[(root, "URL Protocol")] == ""
    command = by_key[(root + "\\shell\\open\\command", "")]
    # The GUI executable, the address as one quoted argument, no shell in between.
    assert command == '"{app}\\{#AppGuiExe}" "%1"'
    assert "cmd" not in command.lower() and "powershell" not in command.lower()
    assert by_key[(root + "\\DefaultIcon", "")].startswith('"{app}\\{#AppGuiExe}"')
    scheme_root = next(e for e in entries if e["Subkey"] == root and e["ValueName"] == "")
    assert "uninsdeletekey" in scheme_root.get("Flags", "")


def test_macos_bundle_declares_the_url_scheme() -> None:
    with INFO_PLIST.open("rb") as handle:
        info = plistlib.load(handle)
    types = info["CFBundleURLTypes"]
    schemes = [s for t in types for s in t["CFBundleURLSchemes"]]
    assert schemes == ["healthprep"]
    assert all(t["CFBundleURLName"].startswith(info["CFBundleIdentifier"]) for t in types)
    assert all(t["CFBundleTypeRole"] == "Viewer" for t in types)


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_linux_desktop_entry_handles_the_scheme() -> None:
    entry = _desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert "x-scheme-handler/healthprep" in entry["MimeType"].split(";")
    assert entry["MimeType"].endswith(";")
    assert entry["Exec"].split()[-1] == "%u"  # one URL, as one argument
    assert entry["Terminal"] == "false"
    build = (PACKAGING / "linux" / "build.sh").read_text(encoding="utf-8")
    assert "healthprep-desktop.desktop" in build and "install-desktop-entry.sh" in build


def test_desktop_entry_passes_the_validator_when_available() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed")
    result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a bash script for Linux desktops")
def test_install_script_registers_this_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "unpacked dir" / "healthprep-desktop"
    (bundle / "share").mkdir(parents=True)
    exe = bundle / "healthprep-desktop"
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(0o755)
    for source in (DESKTOP, INSTALL_ENTRY):
        shutil.copy(source, bundle / "share" / source.name)
    data_home = tmp_path / "data"
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(data_home))
    env["PATH"] = "/usr/bin:/bin"  # whatever xdg tools the machine has, nothing of ours
    result = subprocess.run(
        ["bash", str(bundle / "share" / INSTALL_ENTRY.name)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = data_home / "applications" / "healthprep-desktop.desktop"
    entry = _desktop_entry(written)
    assert entry["Exec"] == f'"{exe}" %u'
    assert entry["TryExec"] == str(exe)
    assert "x-scheme-handler/healthprep" in entry["MimeType"]
    assert written.stat().st_mode & 0o777 == 0o644
