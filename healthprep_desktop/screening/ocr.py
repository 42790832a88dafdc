"""Tesseract OCR of one page image: finding the binary, settings, and one call per page.

Everything here is a plain function over picklable values, so a batch can run it in a process
pool. Tesseract is found in this order: ``$HEALTHPREP_TESSERACT`` (the binary, or a folder
holding it), a ``tesseract`` folder next to the frozen executable (what the installers ship),
the usual Windows install folder, then ``PATH``.

OpenMP inside tesseract spins up one thread per core and, on a loaded machine, makes a page take
6-7 s instead of about 1 s; ``OMP_THREAD_LIMIT=1`` in the subprocess environment prevents that.
pytesseract starts tesseract with the inherited ``os.environ``, so the limit is set there (only
when the user has not chosen a value).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytesseract
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


def _prepare_environment(binary: str) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # A bundled tesseract keeps its language data beside it; a system one knows its own.
    tessdata = Path(binary).resolve().parent / "tessdata"
    if tessdata.is_dir():
        os.environ.setdefault("TESSDATA_PREFIX", str(tessdata))


def ocr_image(image: Image.Image, settings: OcrSettings) -> str:
    """Text of one page image. Raises OcrUnavailable, OcrTimeout or OcrFailed."""
    binary = find_tesseract(settings.tesseract_cmd)
    if binary is None:
        raise OcrUnavailable(UNAVAILABLE_WARNING)
    _prepare_environment(binary)
    # pytesseract keeps the binary in a module global; each worker process sets its own.
    pytesseract.pytesseract.tesseract_cmd = binary
    try:
        text: str = pytesseract.image_to_string(
            image, lang=settings.language, timeout=settings.page_timeout_s
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(UNAVAILABLE_WARNING) from exc
    except RuntimeError as exc:
        # pytesseract signals its timeout as a bare RuntimeError("Tesseract process timeout");
        # TesseractError (a RuntimeError too) carries tesseract's stderr, which we do not pass on.
        if not isinstance(exc, pytesseract.TesseractError) and "timeout" in str(exc).lower():
            raise OcrTimeout("OCR timed out") from exc
        raise OcrFailed("OCR failed") from exc
    except OSError as exc:
        raise OcrFailed("OCR failed") from exc
    return text
