"""Hostile attachments (bombs, huge page counts, encrypted, corrupt, bad encodings) and OCR hygiene.

Every file of the corpus (tests/screening/hostile_corpus.py, generated at test time) must come
back as a DocumentText with one short warning and no exception. The memory test decodes a
multi-frame 9000x9000 colour TIFF in a fresh interpreter and prints its peak memory growth.
OCR must leave nothing in the temp folder, even while it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from healthprep_desktop.screening.documents import ExtractLimits, extract_text
from healthprep_desktop.screening.ocr import OcrSettings, ocr_image
from healthprep_desktop.screening.record import DocumentText, TextMethod
from tests.screening.hostile_corpus import CORPUS, big_frames_tiff, png_giant
from tests.screening.test_documents import scanned_pdf

TESSERACT = shutil.which("tesseract")
needs_tesseract = pytest.mark.skipif(TESSERACT is None, reason="tesseract not installed")
REPO = Path(__file__).resolve().parents[2]


def extract(data: bytes, content_type: str, **kwargs: object) -> DocumentText:
    return extract_text("DocumentReference/h", "Outside record", None, content_type, data, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_file_gives_one_warning_and_no_exception(name: str) -> None:
    build, content_type, expected = CORPUS[name]
    data = build()
    started = time.monotonic()
    doc = extract(data, content_type)
    elapsed = time.monotonic() - started
    print(f"{name}: {len(data):,} bytes, {elapsed:.2f} s, warning: {doc.warning!r}")
    assert doc.warning is not None
    assert doc.warning.startswith(expected), doc.warning
    # One sentence for the problem (blank generated pages may add that no text was found).
    assert ";" not in doc.warning.removesuffix("; no text found"), doc.warning
    assert elapsed < 30


def test_later_tiff_frame_over_the_bomb_limit_is_skipped_the_first_is_read() -> None:
    build, content_type, _ = CORPUS["tiff-bomb-later-frame"]
    doc = extract(build(), content_type)
    assert doc.pages == 2
    assert doc.warning == (
        "page 2 is too large to read (10,000 megapixels, limit 89 megapixels); no text found"
    )


def test_bomb_limit_stays_in_force() -> None:
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    doc = extract(png_giant(), "image/png")
    assert doc.method is TextMethod.NONE
    assert doc.warning == "image too large to read (10,000 megapixels, limit 89 megapixels)"
    assert before is not None
    assert before == Image.MAX_IMAGE_PIXELS


@needs_tesseract
def test_pixel_budget_stops_decoding_at_the_limit() -> None:
    build, content_type, _ = CORPUS["tiff-3000-pages"]
    # 400x200 frames: a budget of 250,000 pixels decodes three of them.
    doc = extract(
        build(), content_type, limits=ExtractLimits(max_pixels=250_000), ocr=OcrSettings()
    )
    assert (doc.pages, doc.ocr_pages) == (3000, 3)
    assert doc.warning == (
        "OCR limit: 10 of 3000 pages read; "
        "pixel limit reached: 3 of 3000 pages decoded; no text found"
    )


_MEASURE = """
import sys, time
from pathlib import Path
from healthprep_desktop.screening.documents import extract_text
from healthprep_desktop.screening.ocr import OcrSettings

def high_water_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM")

data = Path(sys.argv[1]).read_bytes()
import pymupdf, PIL.TiffImagePlugin  # imported before the baseline: libraries are not the file
base = high_water_mb()
started = time.monotonic()
doc = extract_text("DocumentReference/t", "fax", None, "image/tiff", data, ocr=OcrSettings())
seconds = time.monotonic() - started
print(f"growth_mb={high_water_mb() - base:.0f} base_mb={base:.0f} seconds={seconds:.1f}")
print(f"pages={doc.pages} ocr_pages={doc.ocr_pages} warning={doc.warning!r}")
print(f"text={doc.text[:60]!r}")
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_multi_frame_9000px_tiff_stays_under_400_mb(tmp_path: Path) -> None:
    path = tmp_path / "fax.tiff"
    path.write_bytes(big_frames_tiff(frames=6))
    print(f"TIFF: {path.stat().st_size / 1e6:.1f} MB, 6 frames of 9000x9000 RGB")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    print(done.stdout, done.stderr[-2000:])
    assert done.returncode == 0
    growth = float(done.stdout.split("growth_mb=")[1].split()[0])
    assert growth < 400, f"peak memory grew by {growth:.0f} MB"
    assert "pages=6" in done.stdout
    if TESSERACT is not None:  # the frames within the pixel budget were really read
        assert "COLONOSCOPY" in done.stdout
        assert "pixel limit reached: 4 of 6 pages decoded" in done.stdout


# --- OCR leaves nothing on disk --------------------------------------------------------------


class DirectoryWatch:
    """Polls a folder every millisecond and remembers every name that ever appeared in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(entry.name for entry in os.scandir(self.folder))
            time.sleep(0.001)

    def __enter__(self) -> DirectoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seen.update(entry.name for entry in os.scandir(self.folder))


@pytest.mark.ocr
@needs_tesseract
def test_ocr_writes_nothing_to_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # for the tesseract child
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # for this process (cached otherwise)
    data = scanned_pdf([["COLONOSCOPY REPORT", "Procedure date: 2019-04-02"]])
    with DirectoryWatch(temp) as watch:
        doc = extract(data, "application/pdf")
    assert doc.method is TextMethod.OCR and doc.ocr_pages == 1
    assert "COLONOSCOPY REPORT" in doc.text and "2019-04-02" in doc.text
    assert watch.seen == set(), f"OCR wrote {sorted(watch.seen)} to the temp folder"


def test_tesseract_child_gets_the_page_on_stdin_and_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in tesseract (a real executable) reports what it was given."""
    from PIL import Image

    script = tmp_path / "tesseract"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "page = sys.stdin.buffer.read()\n"
        "secrets = sorted(k for k in os.environ if k.upper().startswith('HEALTHPREP_'))\n"
        "print(sys.argv[1:3], page[:8] == b'\\x89PNG\\r\\n\\x1a\\n',"
        " os.environ.get('OMP_THREAD_LIMIT'), secrets)\n"
    )
    script.chmod(0o700)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setenv("HEALTHPREP_DB_KEY", "not-for-children")
    text = ocr_image(Image.new("L", (200, 60), 255), OcrSettings(tesseract_cmd=str(script)))
    assert text.strip() == "['stdin', 'stdout'] True 1 []"
    assert "OMP_THREAD_LIMIT" not in os.environ  # the child's, not ours
