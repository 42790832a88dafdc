"""PyInstaller runtime hook: prepares the environment of the frozen app before its first import.

- OCR: the bundled Tesseract (``<bundle>/tesseract/``) comes first, then one on PATH. When the
  bundle has one, ``HEALTHPREP_TESSERACT`` names it, ``TESSDATA_PREFIX`` its tessdata and its
  folder leads PATH (so pytesseract's default ``tesseract`` finds it too). A value the user set
  for ``HEALTHPREP_TESSERACT`` wins and leaves everything else alone.
- ``OMP_THREAD_LIMIT=1``: tesseract with one OpenMP thread is several times faster here.
- Linux: the bootloader points ``LD_LIBRARY_PATH`` at the bundle for its own process; child
  programs from the system (tesseract, xdg-open, lpr) must not load the bundle's libraries, so
  the original value is restored unless the bundled tesseract needs the bundle's libraries.
- Windowed Windows executable: ``sys.stdout``/``sys.stderr`` are None; a stray print would raise,
  so they go to os.devnull.
- ``HEALTHPREP_RESOURCES`` names the bundled resources folder (informational; paths.py finds it
  beside the package).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _bundle_dir() -> Path:
    return Path(getattr(sys, "_MEIPASS", Path(sys.executable).resolve().parent))


def _configure_tesseract(bundle: Path) -> bool:
    """Point the app at the bundled tesseract; True when one is bundled and now in use."""
    if os.environ.get("HEALTHPREP_TESSERACT"):
        return False
    folder = bundle / "tesseract"
    exe = folder / ("tesseract.exe" if sys.platform == "win32" else "tesseract")
    if not exe.is_file():
        return False
    os.environ["HEALTHPREP_TESSERACT"] = str(exe)
    tessdata = folder / "tessdata"
    if tessdata.is_dir():
        os.environ["TESSDATA_PREFIX"] = str(tessdata)
    os.environ["PATH"] = str(folder) + os.pathsep + os.environ.get("PATH", "")
    return True


def _restore_library_path() -> None:
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


def _setup() -> None:
    bundle = _bundle_dir()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ.setdefault("HEALTHPREP_RESOURCES", str(bundle / "healthprep_desktop" / "resources"))
    bundled_tesseract = _configure_tesseract(bundle)
    if sys.platform.startswith("linux") and not bundled_tesseract:
        _restore_library_path()
    if sys.stdout is None or sys.stderr is None:
        sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the app
        sys.stdout = sys.stdout or sink
        sys.stderr = sys.stderr or sink


_setup()
