"""Stage a Tesseract install for bundling: the executable and only the tessdata the app needs.

    python packaging/stage_tesseract.py --tesseract PATH [--tessdata DIR] [--stage DIR]

The spec (packaging/healthprep_desktop.spec) bundles the stage as <bundle>/tesseract/.

- Windows (``--tesseract "C:/Program Files/Tesseract-OCR/tesseract.exe"``, the UB Mannheim
  build): tesseract.exe and the DLLs it loads are copied. With ``pefile`` importable (PyInstaller
  depends on it on Windows) only the DLLs reachable from tesseract.exe's import tables are copied;
  without it, every DLL beside the executable (the training tools' DLLs included).
- macOS and Linux (``--tesseract $(brew --prefix)/bin/tesseract``): the stage holds a symbolic
  link to the real executable; PyInstaller collects it as a binary together with its shared
  libraries (and on macOS rewrites their load paths and signs them).

Tessdata: ``<lang>.traineddata`` for each ``--languages`` entry (default eng) plus the small
``configs/`` and ``tessconfigs/`` folders (pytesseract's image_to_data needs configs/tsv) and
``pdf.ttf``. The staged executable is then run with ``TESSDATA_PREFIX`` on the staged tessdata to
prove it starts and sees every language. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

TESSDATA_EXTRAS = ("configs", "tessconfigs", "pdf.ttf")
LIST_LANGS_HEADER = re.compile(r'List of available languages in "(?P<path>[^"]+)"')


class StageError(RuntimeError):
    """The install cannot be staged (missing executable, language or tessdata)."""


def find_tessdata(tesseract: Path) -> Path:
    """The tessdata folder the executable uses by default (asks it via ``--list-langs``)."""
    beside = tesseract.parent / "tessdata"
    if beside.is_dir():  # the Windows layout
        return beside
    env = {key: value for key, value in os.environ.items() if key != "TESSDATA_PREFIX"}
    result = subprocess.run(
        [str(tesseract), "--list-langs"], capture_output=True, text=True, env=env, check=False
    )
    match = LIST_LANGS_HEADER.search(result.stdout + result.stderr)
    if match is None:
        raise StageError(f"{tesseract} --list-langs did not name its tessdata folder")
    return Path(match.group("path"))


def windows_dll_closure(exe: Path) -> list[Path]:
    """DLLs beside ``exe`` that it loads, directly or through each other."""
    folder = exe.parent
    available = {
        path.name.lower(): path for path in folder.iterdir() if path.suffix.lower() == ".dll"
    }
    try:
        import pefile  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return sorted(available.values())
    wanted: dict[str, Path] = {}
    pending = [exe]
    directories = [
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"],
    ]
    while pending:
        image = pefile.PE(str(pending.pop()), fast_load=True)
        image.parse_data_directories(directories=directories)
        entries = [
            *getattr(image, "DIRECTORY_ENTRY_IMPORT", []),
            *getattr(image, "DIRECTORY_ENTRY_DELAY_IMPORT", []),
        ]
        image.close()
        for entry in entries:
            name = entry.dll.decode("ascii", "replace").lower()
            if name in available and name not in wanted:
                wanted[name] = available[name]
                pending.append(available[name])
    return sorted(wanted.values())


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)


def stage_tessdata(tessdata: Path, target: Path, languages: Iterable[str]) -> None:
    for language in languages:
        model = tessdata / f"{language}.traineddata"
        if not model.is_file():
            raise StageError(f"{model} is missing; install the {language} language data")
        _copy(model, target / model.name)
    for extra in TESSDATA_EXTRAS:
        if (tessdata / extra).exists():
            _copy(tessdata / extra, target / extra)


def stage_executable(tesseract: Path, stage: Path, *, windows: bool) -> None:
    if windows:
        _copy(tesseract, stage / tesseract.name)
        for dll in windows_dll_closure(tesseract):
            _copy(dll, stage / dll.name)
        return
    link = stage / "tesseract"
    link.symlink_to(tesseract.resolve())


def verify(stage: Path, languages: Sequence[str], *, windows: bool) -> str:
    """Run the staged executable on the staged tessdata; return its version line."""
    exe = stage / ("tesseract.exe" if windows else "tesseract")
    env = dict(os.environ, TESSDATA_PREFIX=str(stage / "tessdata"))
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, env=env, check=False
    )
    if version.returncode != 0:
        raise StageError(f"staged tesseract does not start: {version.stderr.strip()[:500]}")
    listed = subprocess.run(
        [str(exe), "--list-langs"], capture_output=True, text=True, env=env, check=False
    )
    found = set(listed.stdout.split())
    missing = [language for language in languages if language not in found]
    if missing:
        raise StageError(f"staged tesseract does not list {', '.join(missing)}")
    lines = (version.stdout or version.stderr).strip().splitlines()
    return lines[0] if lines else "tesseract"


def stage(
    tesseract: Path,
    destination: Path,
    *,
    tessdata: Path | None = None,
    languages: Sequence[str] = ("eng",),
    windows: bool | None = None,
) -> str:
    """Build ``destination`` afresh from ``tesseract``; returns the staged version line."""
    windows = sys.platform == "win32" if windows is None else windows
    resolved = shutil.which(str(tesseract)) if not tesseract.exists() else str(tesseract)
    if resolved is None:
        raise StageError(f"tesseract executable {tesseract} not found")
    executable = Path(resolved)
    if destination.is_dir() and not destination.is_symlink():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    stage_executable(executable, destination, windows=windows)
    stage_tessdata(tessdata or find_tessdata(executable), destination / "tessdata", languages)
    return verify(destination, languages, windows=windows)


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    default_stage = Path(__file__).resolve().parent.parent / "build" / "tesseract-stage"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tesseract", type=Path, required=True, help="the tesseract executable")
    parser.add_argument("--tessdata", type=Path, help="tessdata folder (default: the exe's own)")
    parser.add_argument("--stage", type=Path, default=default_stage, help="output folder")
    parser.add_argument("--languages", default="eng", help="comma-separated (default: eng)")
    args = parser.parse_args(argv)
    languages = [language.strip() for language in args.languages.split(",") if language.strip()]
    try:
        version = stage(args.tesseract, args.stage, tessdata=args.tessdata, languages=languages)
    except StageError as exc:
        print(f"stage_tesseract: {exc}", file=sys.stderr)
        return 1
    size_mb = _size(args.stage) / 1e6
    print(f"staged {version} with {', '.join(languages)} in {args.stage} ({size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
