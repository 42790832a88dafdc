"""Behaviour of the Python pieces of packaging/: the runtime hook, the tesseract stager and the
in-bundle checks, run here against the checkout (no PyInstaller needed)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
RTHOOK = PACKAGING / "hooks" / "rthook_healthprep.py"
HAS_TESSERACT = shutil.which("tesseract") is not None
WINDOWS = sys.platform == "win32"
TESSERACT_EXE = "tesseract.exe" if WINDOWS else "tesseract"

# Runs the runtime hook the way the frozen app does (sys._MEIPASS set, before any app import),
# then reports the environment it left; stdout/stderr start as None like a windowed .exe.
HOOK_RUNNER = """
import json, os, runpy, sys
sys._MEIPASS = sys.argv[1]
sys.stdout = sys.stderr = None
runpy.run_path(sys.argv[2])
names = ["HEALTHPREP_TESSERACT", "TESSDATA_PREFIX", "OMP_THREAD_LIMIT", "PATH",
         "LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG", "HEALTHPREP_RESOURCES"]
report = {name: os.environ.get(name) for name in names}
report["stdout_usable"] = sys.stdout is not None and sys.stderr is not None
print("ignored: goes to os.devnull")
sys.__stdout__.write(json.dumps(report))
"""


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _run_hook(bundle: Path, **env: str) -> dict[str, str | bool | None]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(("LD_", "TESS"))}
    base.pop("HEALTHPREP_TESSERACT", None)
    base.pop("OMP_THREAD_LIMIT", None)
    result = subprocess.run(
        [sys.executable, "-c", HOOK_RUNNER, str(bundle), str(RTHOOK)],
        capture_output=True,
        text=True,
        env=base | env,
        check=True,
    )
    report: dict[str, str | bool | None] = json.loads(result.stdout)
    return report


def _fake_bundle(tmp_path: Path, *, with_tesseract: bool) -> Path:
    bundle = tmp_path / "_internal"
    (bundle / "healthprep_desktop" / "resources").mkdir(parents=True)
    if with_tesseract:
        (bundle / "tesseract" / "tessdata").mkdir(parents=True)
        exe = bundle / "tesseract" / TESSERACT_EXE
        exe.write_text("#!/bin/sh\n", encoding="utf-8")
        exe.chmod(0o755)
    return bundle


def test_hook_prefers_the_bundled_tesseract(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path, with_tesseract=True)
    report = _run_hook(bundle, LD_LIBRARY_PATH=str(bundle))
    assert report["HEALTHPREP_TESSERACT"] == str(bundle / "tesseract" / TESSERACT_EXE)
    assert report["TESSDATA_PREFIX"] == str(bundle / "tesseract" / "tessdata")
    assert str(report["PATH"]).split(os.pathsep)[0] == str(bundle / "tesseract")
    assert report["OMP_THREAD_LIMIT"] == "1"
    assert report["HEALTHPREP_RESOURCES"] == str(bundle / "healthprep_desktop" / "resources")
    assert report["stdout_usable"] is True
    if sys.platform.startswith("linux"):
        # The bundled tesseract loads the bundle's libraries, so the search path stays.
        assert report["LD_LIBRARY_PATH"] == str(bundle)


def test_hook_without_bundled_tesseract_leaves_ocr_to_path(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path, with_tesseract=False)
    report = _run_hook(
        bundle, OMP_THREAD_LIMIT="3", LD_LIBRARY_PATH=str(bundle), LD_LIBRARY_PATH_ORIG="/opt/lib"
    )
    assert report["HEALTHPREP_TESSERACT"] is None
    assert report["TESSDATA_PREFIX"] is None
    assert report["OMP_THREAD_LIMIT"] == "3"  # a value the user chose wins
    if sys.platform.startswith("linux"):
        # System programs started by the app must not load the bundle's libraries.
        assert report["LD_LIBRARY_PATH"] == "/opt/lib"
        assert report["LD_LIBRARY_PATH_ORIG"] is None
        assert _run_hook(bundle, LD_LIBRARY_PATH=str(bundle))["LD_LIBRARY_PATH"] is None


def test_hook_keeps_a_tesseract_the_user_configured(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path, with_tesseract=True)
    report = _run_hook(bundle, HEALTHPREP_TESSERACT="/custom/tesseract")
    assert report["HEALTHPREP_TESSERACT"] == "/custom/tesseract"
    assert report["TESSDATA_PREFIX"] is None
    assert str(bundle / "tesseract") not in str(report["PATH"])


@pytest.mark.ocr
@pytest.mark.skipif(not HAS_TESSERACT, reason="needs the tesseract binary")
def test_stage_tesseract_keeps_only_what_the_app_needs(tmp_path: Path) -> None:
    stager = _load("stage_tesseract")
    stage = tmp_path / "stage"
    executable = Path(shutil.which("tesseract") or "")
    version = stager.stage(executable, stage, windows=WINDOWS)
    assert version.startswith("tesseract ")
    if WINDOWS:  # a copy with its DLLs; elsewhere a link PyInstaller follows to the real file
        assert (stage / TESSERACT_EXE).is_file() and list(stage.glob("*.dll"))
    else:
        assert (stage / "tesseract").resolve() == executable.resolve()
    staged = {p.relative_to(stage / "tessdata").as_posix() for p in (stage / "tessdata").rglob("*")}
    assert "eng.traineddata" in staged
    assert "configs/tsv" in staged  # pytesseract.image_to_data needs it
    assert not any(name.endswith(".traineddata") and name != "eng.traineddata" for name in staged)
    # Staging again starts from scratch rather than failing on the old link.
    assert stager.stage(executable, stage, windows=WINDOWS) == version


@pytest.mark.ocr
@pytest.mark.skipif(not HAS_TESSERACT, reason="needs the tesseract binary")
def test_stage_tesseract_refuses_a_missing_language(tmp_path: Path) -> None:
    stager = _load("stage_tesseract")
    with pytest.raises(stager.StageError, match="zzz"):
        stager.stage(Path(shutil.which("tesseract") or ""), tmp_path / "s", languages=("zzz",))
    assert stager.main(["--tesseract", str(tmp_path / "nowhere"), "--stage", str(tmp_path)]) == 1


def test_windows_dll_fallback_takes_every_dll_beside_the_exe(tmp_path: Path) -> None:
    stager = _load("stage_tesseract")
    for name in ("tesseract.exe", "libtesseract-5.dll", "zlib1.DLL", "notes.txt"):
        (tmp_path / name).write_bytes(b"MZ")
    if importlib.util.find_spec("pefile") is not None:
        pytest.skip("pefile is installed: the closure parses real PE files instead")
    names = [path.name for path in stager.windows_dll_closure(tmp_path / "tesseract.exe")]
    assert names == ["libtesseract-5.dll", "zlib1.DLL"]


def test_bundle_checks_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    checks = _load("bundle_check")
    monkeypatch.delenv("HEALTHPREP_TESSERACT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(checks.CheckFailed, match="no tesseract"):
        checks.check_tesseract(require=True)
    assert "OCR would be off" in checks.check_tesseract(require=False)
    assert "value sets" in checks.check_resources()
    assert checks.check_sqlcipher().startswith("SQLCipher 4")


@pytest.mark.slow
def test_bundle_check_passes_from_the_checkout(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HEALTHPREP_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "bundle_check.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bundle check: passed" in result.stdout
    assert "FAIL" not in result.stdout


@pytest.mark.parametrize(
    ("executable", "argv", "expected"),
    [
        ("healthprep-desktop-gui.exe", [], "gui"),
        ("healthprep-desktop.exe", ["audit", "verify"], "cli"),
        ("healthprep-desktop", [], "cli"),  # no subcommand: cli.main opens the window itself
        ("healthprep-desktop", ["--bundle-check", "--require-ocr"], "check:--require-ocr"),
    ],
)
def test_launcher_dispatch(
    monkeypatch: pytest.MonkeyPatch, executable: str, argv: list[str], expected: str
) -> None:
    import healthprep_desktop.cli as cli

    launch = _load("launch")
    fake_check = ModuleType("bundle_check")
    fake_check.main = lambda args: f"check:{' '.join(args)}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bundle_check", fake_check)
    monkeypatch.setattr(cli, "gui_main", lambda: "gui")
    monkeypatch.setattr(cli, "main", lambda: "cli")
    monkeypatch.setattr(sys, "executable", str(Path("/opt/app") / executable))
    monkeypatch.setattr(sys, "argv", [executable, *argv])
    assert launch.run() == expected
