"""Tesseract OCR of one page image: finding the binary, settings, and one call per page.

Everything here is a plain function over picklable values, so a batch can run it in a process
pool. Tesseract is found in this order: ``$HEALTHPREP_TESSERACT`` (the binary, or a folder
holding it), a ``tesseract`` folder next to the frozen executable (what the installers ship),
the usual Windows install folder, then ``PATH``.

No temp files: the page goes to ``tesseract stdin stdout`` as PNG bytes on a pipe and the text
comes back on another, so no page image or text of a patient's document is ever written to the
system temp folder (pytesseract wrote both there, 0644, and left them behind when killed).

The child gets a copy of the environment without ``HEALTHPREP_*`` variables (they may hold
secrets), with ``OMP_THREAD_LIMIT=1`` unless the user chose a value: OpenMP inside tesseract spins
up one thread per core and, on a loaded machine, makes a page take 6-7 s instead of about 1 s.
``os.environ`` itself is left alone.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

TESSERACT_ENV = "HEALTHPREP_TESSERACT"
UNAVAILABLE_WARNING = "OCR unavailable: tesseract not found"

_EXE = "tesseract.exe" if sys.platform == "win32" else "tesseract"


@dataclass(frozen=True, slots=True)
class OcrSettings:
    """How scanned pages are read. Picklable, so it travels to pool workers."""

    enabled: bool = True
    max_pages: int = 10  # pages OCR'd per document; the rest are reported, not read
    page_timeout_s: float = 30.0
    dpi: int = 250  # rendering resolution for PDF pages (tesseract likes 200-300)
    language: str = "eng"
    min_text_chars: int = 20  # a PDF page with fewer non-blank characters is treated as scanned
    tesseract_cmd: str | None = None  # an explicit binary; None = find it (see module doc)


class OcrUnavailable(RuntimeError):
    """Tesseract cannot be run here."""


class OcrTimeout(RuntimeError):
    """Tesseract took longer than the per-page timeout."""


class OcrFailed(RuntimeError):
    """Tesseract ran but failed on this image (the message holds no document content)."""


def _candidates() -> list[Path]:
    found: list[Path] = []
    configured = os.environ.get(TESSERACT_ENV)
    if configured:
        path = Path(configured)
        found.append(path / _EXE if path.is_dir() else path)
    if getattr(sys, "frozen", False):
        base = Path(sys.executable).resolve().parent
        found += [base / "tesseract" / _EXE, base / _EXE]
        bundle = getattr(sys, "_MEIPASS", None)
        if bundle:
            found.append(Path(bundle) / "tesseract" / _EXE)
    if sys.platform == "win32":
        for root in (os.environ.get("PROGRAMFILES"), os.environ.get("PROGRAMFILES(X86)")):
            if root:
                found.append(Path(root) / "Tesseract-OCR" / _EXE)
    return found


def find_tesseract(explicit: str | None = None) -> str | None:
    """The tesseract binary to run, or None when there is none."""
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("tesseract")


_APP_PREFIX = "HEALTHPREP_"  # variables that may carry secrets: not for children
_MODES = ("1", "L", "RGB")  # what tesseract reads from PNG as is; others are converted to L


def tesseract_environment(binary: str) -> dict[str, str]:
    """The child's environment: ours minus HEALTHPREP_* variables, plus tesseract's settings."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_APP_PREFIX)}
    env.setdefault("OMP_THREAD_LIMIT", "1")
    # A bundled tesseract keeps its language data beside it; a system one knows its own.
    tessdata = Path(binary).resolve().parent / "tessdata"
    if tessdata.is_dir():
        env.setdefault("TESSDATA_PREFIX", str(tessdata))
    return env


def _png(image: Image.Image) -> bytes:
    if image.mode not in _MODES:
        image = image.convert("L")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)  # speed over size: it only crosses a pipe
    return buffer.getvalue()


def ocr_image(image: Image.Image, settings: OcrSettings) -> str:
    """Text of one page image. Raises OcrUnavailable, OcrTimeout or OcrFailed."""
    binary = find_tesseract(settings.tesseract_cmd)
    if binary is None:
        raise OcrUnavailable(UNAVAILABLE_WARNING)
    command = [binary, "stdin", "stdout", "-l", settings.language]
    creationflags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flash on Windows
    try:
        done = subprocess.run(
            command,
            input=_png(image),
            capture_output=True,  # stderr holds tesseract's chatter: read, never passed on
            timeout=settings.page_timeout_s,
            env=tesseract_environment(binary),
            check=False,
            creationflags=creationflags,
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped the child
        raise OcrTimeout("OCR timed out") from exc
    except (FileNotFoundError, PermissionError) as exc:
        raise OcrUnavailable(UNAVAILABLE_WARNING) from exc
    except OSError as exc:
        raise OcrFailed("OCR failed") from exc
    if done.returncode != 0:
        raise OcrFailed("OCR failed")
    return done.stdout.decode("utf-8", errors="replace")
