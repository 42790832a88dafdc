"""Document text: PDF text layer, real tesseract OCR, HTML, RTF, plain text, bad files, cache.

OCR costs about a second a page on a loaded machine, so only two pages are OCR'd in the whole
file (one scanned PDF page, and one page of a two-page scan under a one-page cap).
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
from datetime import date
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from healthprep_desktop.screening.documents import (
    ExtractJob,
    ExtractLimits,
    content_hash,
    decode_text,
    extract_text,
    extract_text_job,
    from_cache,
    remember,
)
from healthprep_desktop.screening.keywords import find_keyword_matches
from healthprep_desktop.screening.ocr import (
    TESSERACT_ENV,
    UNAVAILABLE_WARNING,
    OcrSettings,
    find_tesseract,
)
from healthprep_desktop.screening.record import DocumentText, TextMethod

REF = "DocumentReference/doc-1"
DAY = date(2021, 3, 4)
TESSERACT = shutil.which("tesseract")
needs_tesseract = pytest.mark.skipif(TESSERACT is None, reason="tesseract not installed")


def extract(data: bytes, content_type: str = "application/pdf", **kwargs: object) -> DocumentText:
    return extract_text(REF, "Outside report", DAY, content_type, data, **kwargs)  # type: ignore[arg-type]


class CountingCache:
    """A real in-memory TextCache (the store's is the same contract over SQLCipher)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, TextMethod]] = {}
        self.gets = 0
        self.puts = 0

    def get(self, content_hash: str) -> str | None:
        self.gets += 1
        entry = self.entries.get(content_hash)
        return entry[0] if entry else None

    def put(self, content_hash: str, text: str, method: TextMethod) -> None:
        self.puts += 1
        self.entries[content_hash] = (text, method)


class MethodCache(CountingCache):
    def get_method(self, content_hash: str) -> str | None:
        entry = self.entries.get(content_hash)
        return entry[1].value if entry else None


# --- generated documents ---------------------------------------------------------------------


def text_pdf(pages: list[str]) -> bytes:
    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_text((72, 72), text, fontsize=11)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def scan_png(lines: list[str]) -> bytes:
    """A page as a scanner would produce it: a grayscale bitmap, no text layer."""
    image = Image.new("L", (1275, 1650), 255)  # Letter at 150 dpi
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((110, 150 + i * 70), line, fill=0, font=_font(40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def scanned_pdf(pages: list[list[str]]) -> bytes:
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=612, height=792)
        page.insert_image(page.rect, stream=scan_png(lines))
    data: bytes = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def colonoscopy_scan() -> bytes:
    return scanned_pdf(
        [["COLONOSCOPY REPORT", "Procedure date: 2019-04-02", "Hemoglobin A1c 7.2 percent"]]
    )


# --- PDF -------------------------------------------------------------------------------------


def test_text_layer_pdf() -> None:
    data = text_pdf(["Colonoscopy report\nCecum reached.", "Page two: no polyps."])
    doc = extract(data)
    assert doc.method is TextMethod.TEXT_LAYER
    assert (doc.pages, doc.ocr_pages, doc.warning) == (2, 0, None)
    assert "Colonoscopy report" in doc.text and "Page two: no polyps." in doc.text
    assert doc.text.index("Colonoscopy") < doc.text.index("Page two")
    assert doc.content_hash == content_hash(data)
    assert (doc.reference, doc.title, doc.date) == (REF, "Outside report", DAY)


@pytest.mark.ocr
@needs_tesseract
def test_scanned_pdf_is_read_with_tesseract(colonoscopy_scan: bytes) -> None:
    doc = extract(colonoscopy_scan)
    assert doc.method is TextMethod.OCR
    assert (doc.pages, doc.ocr_pages, doc.warning) == (1, 1, None)
    assert "COLONOSCOPY REPORT" in doc.text
    assert "2019-04-02" in doc.text
    # Whatever tesseract makes of "A1c" (often "Alc"), the keyword matcher finds it.
    hits = find_keyword_matches(doc, ["colonoscopy", "A1c"])
    assert {h.keyword for h in hits} == {"colonoscopy", "A1c"}


@pytest.mark.ocr
@needs_tesseract
def test_ocr_page_cap_reads_only_the_first_pages() -> None:
    data = scanned_pdf([["FIRST PAGE MAMMOGRAM"], ["SECOND PAGE COLONOSCOPY"]])
    doc = extract(data, ocr=OcrSettings(max_pages=1))
    assert (doc.pages, doc.ocr_pages) == (2, 1)
    assert "MAMMOGRAM" in doc.text and "COLONOSCOPY" not in doc.text
    assert doc.warning == "OCR limit: 1 of 2 scanned pages read"


def test_ocr_timeout_is_a_warning_not_an_error(colonoscopy_scan: bytes) -> None:
    if TESSERACT is None:
        pytest.skip("tesseract not installed")
    cache = CountingCache()
    doc = extract(colonoscopy_scan, ocr=OcrSettings(page_timeout_s=0.001), cache=cache)
    assert doc.method is TextMethod.NONE
    assert doc.warning is not None and "OCR timed out on 1 page(s)" in doc.warning
    assert cache.puts == 0  # a timeout depends on the machine: read again next time


def test_tesseract_missing_turns_ocr_off_with_a_warning(
    colonoscopy_scan: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(TESSERACT_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_tesseract() is None
    cache = CountingCache()
    doc = extract(colonoscopy_scan, cache=cache)
    assert doc.method is TextMethod.NONE
    assert doc.warning == UNAVAILABLE_WARNING
    assert cache.puts == 0


def test_mixed_pdf_without_tesseract_keeps_the_text_layer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(TESSERACT_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    pdf = pymupdf.open(stream=text_pdf(["Mammogram report, BI-RADS 1, benign findings"]))
    pdf.insert_pdf(pymupdf.open(stream=scanned_pdf([["scanned addendum"]])))
    doc = extract(pdf.tobytes())
    assert doc.method is TextMethod.TEXT_LAYER
    assert "Mammogram report" in doc.text
    assert (doc.pages, doc.ocr_pages, doc.warning) == (2, 0, UNAVAILABLE_WARNING)


def test_tesseract_is_found_through_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if TESSERACT is None:
        pytest.skip("tesseract not installed")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "tesseract").symlink_to(TESSERACT)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH: only the variable can find it
    monkeypatch.setenv(TESSERACT_ENV, str(bundle))
    assert find_tesseract() == str(bundle / "tesseract")
    monkeypatch.setenv(TESSERACT_ENV, str(bundle / "tesseract"))
    assert find_tesseract() == str(bundle / "tesseract")


def test_ocr_off_by_setting_reports_unread_pages(colonoscopy_scan: bytes) -> None:
    doc = extract(colonoscopy_scan, ocr=OcrSettings(enabled=False))
    assert doc.method is TextMethod.NONE
    assert doc.warning == "OCR off: 1 scanned page(s) not read"


def test_text_layer_page_cap() -> None:
    data = text_pdf([f"page {n} colonoscopy" for n in range(1, 4)])
    doc = extract(data, limits=ExtractLimits(max_pages=2))
    assert doc.pages == 3
    assert "page 2" in doc.text and "page 3" not in doc.text
    assert doc.warning == "only the first 2 of 3 pages read"


@pytest.mark.ocr
@needs_tesseract
def test_png_image_is_read_with_tesseract() -> None:
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((30, 30), "MAMMOGRAM BILATERAL", fill=0, font=_font(44))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    doc = extract(buffer.getvalue(), "image/png")
    assert (doc.method, doc.pages, doc.ocr_pages, doc.warning) == (TextMethod.OCR, 1, 1, None)
    assert "MAMMOGRAM BILATERAL" in doc.text


def test_multipage_tiff_counts_pages_even_with_ocr_off() -> None:
    frames = [Image.new("L", (200, 100), 255) for _ in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    doc = extract(buffer.getvalue(), "application/octet-stream", ocr=OcrSettings(enabled=False))
    assert (doc.method, doc.pages, doc.ocr_pages) == (TextMethod.NONE, 3, 0)
    assert doc.warning == "OCR off: image not read"


# --- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "warning"),
    [
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, "application/pdf", "corrupt PDF"),
        (b"this is not a pdf at all", "application/pdf", "corrupt PDF"),
        (b"", "application/pdf", "empty attachment"),
        (b"", "text/plain", "empty attachment"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", "corrupt image"),
        (b"PK\x03\x04 docx", "application/vnd.ms-word", "unsupported content type"),
    ],
)
def test_bad_files_give_warnings_not_exceptions(
    data: bytes, content_type: str, warning: str
) -> None:
    cache = CountingCache()
    doc = extract(data, content_type, cache=cache)
    assert doc.method is TextMethod.NONE
    assert doc.text == ""
    assert doc.warning is not None and doc.warning.startswith(warning)
    assert cache.puts == 0


def test_truncated_pdf_is_corrupt_or_flagged_partial_never_an_exception() -> None:
    data = text_pdf(["Colonoscopy report " * 20] * 3)
    for cut in (200, len(data) // 3, len(data) // 2):
        doc = extract(data[:cut])
        assert doc.method in (TextMethod.NONE, TextMethod.TEXT_LAYER)
        assert doc.warning is not None
        assert "corrupt" in doc.warning or "damaged PDF (repaired)" in doc.warning


def test_encrypted_pdf_needs_a_password() -> None:
    doc = pymupdf.open(stream=text_pdf(["Mammogram: patient name and findings"]))
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u-secret", owner_pw="o")
    result = extract(data)
    assert result.method is TextMethod.NONE
    assert result.warning == "encrypted PDF (password required)"
    assert "Mammogram" not in (result.warning or "")


def test_pdf_encrypted_with_an_empty_user_password_is_read() -> None:
    doc = pymupdf.open(stream=text_pdf(["Mammogram 2020 benign"]))
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="", owner_pw="owner")
    result = extract(data)
    assert result.method is TextMethod.TEXT_LAYER
    assert "Mammogram 2020 benign" in result.text


def test_oversized_file_is_refused_before_parsing() -> None:
    data = b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024)  # just over the default 25 MB
    doc = extract(data)
    assert doc.method is TextMethod.NONE
    assert doc.warning == "over the size limit (25.0 MB > 25 MB)"
    small = extract(b"plain words " * 100, "text/plain", limits=ExtractLimits(max_bytes=1000))
    assert small.warning is not None and small.warning.startswith("over the size limit")


def test_warnings_carry_no_document_content() -> None:
    secret = "Jane Doe colonoscopy"
    for data, ctype in [
        (b"%PDF-1.4 " + secret.encode(), "application/pdf"),
        (secret.encode(), "application/x-unknown"),
    ]:
        doc = extract(data, ctype)
        assert doc.warning is not None
        assert "Jane" not in doc.warning and "colonoscopy" not in doc.warning


# --- HTML, RTF, plain text ------------------------------------------------------------------


def test_html_strips_tags_scripts_and_styles_and_unescapes() -> None:
    html = (
        b"<!DOCTYPE html><html><head><title>Eye exam</title>"
        b"<style>p{color:red}</style><script>var colonoscopy = 1;</script></head>"
        b"<body><h1>Diabetic eye exam</h1><p>Retinopathy: none &amp; stable&nbsp;2020</p>"
        b"<table><tr><td>OD</td><td>20/20</td></tr></table><!-- colonoscopy --></body></html>"
    )
    doc = extract(html, "text/html; charset=utf-8")
    assert doc.method is TextMethod.HTML
    assert doc.text.splitlines() == [
        "Eye exam",
        "Diabetic eye exam",
        "Retinopathy: none & stable 2020",
        "OD 20/20",
    ]
    assert "colonoscopy" not in doc.text and "color" not in doc.text


def test_html_declared_charset_is_honoured() -> None:
    html = "<html><meta charset='windows-1252'><p>Résumé “ok”</p></html>".encode("cp1252")
    assert extract(html, "text/html").text == "Résumé “ok”"


def test_rtf_control_words_and_groups_are_stripped() -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Helvetica;}}"
        rb"{\colortbl;\red255\green0\blue0;}{\*\generator Msftedit 5.41;}"
        rb"{\info{\author Someone}}\viewkind4\uc1\pard\f0\fs20 "
        rb"{\b Colonoscopy} report\par Caf\'e9 \u8364? 10\tab mg\par"
        rb"Brace \{ and backslash \\\par}"
    )
    doc = extract(rtf, "application/rtf")
    assert doc.method is TextMethod.RTF
    assert doc.text.splitlines() == [
        "Colonoscopy report",
        "Café € 10 mg",  # tabs become spaces, like every run of blanks
        "Brace { and backslash \\",
    ]


def test_rtf_is_sniffed_whatever_the_declared_type() -> None:
    doc = extract(rb"{\rtf1\ansi Mammogram done\par}", "application/octet-stream")
    assert (doc.method, doc.text) == (TextMethod.RTF, "Mammogram done")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("Müller: Koloskopie ½ ok".encode("latin-1"), "text/plain"),
        ("Müller: Koloskopie ½ ok".encode(), "text/plain"),
        ("Müller: Koloskopie ½ ok".encode("utf-16"), "text/plain"),
        ("Müller: Koloskopie ½ ok".encode("utf-16-be"), "text/plain"),
        ("Müller: Koloskopie ½ ok".encode("utf-8-sig"), "text/plain"),
        ("Müller: Koloskopie ½ ok".encode("latin-1"), "text/plain; charset=ISO-8859-1"),
    ],
)
def test_plain_text_encodings(data: bytes, content_type: str) -> None:
    doc = extract(data, content_type)
    assert doc.method is TextMethod.PLAIN
    assert doc.text == "Müller: Koloskopie ½ ok"


def test_decode_falls_back_to_latin1_for_bytes_cp1252_cannot_map() -> None:
    assert decode_text(b"\x81\x8d caf\xe9") == "\x81\x8d café"


# --- cache and process pool ------------------------------------------------------------------


def test_cache_is_hit_the_second_time() -> None:
    cache = CountingCache()
    data = text_pdf(["Colonoscopy 2019-04-02"])
    first = extract(data, cache=cache)
    assert (cache.gets, cache.puts) == (1, 1)
    assert cache.entries[content_hash(data)] == (first.text, TextMethod.TEXT_LAYER)
    second = extract(data, cache=cache)
    assert (cache.gets, cache.puts) == (2, 1)
    assert second.text == first.text
    assert second.content_hash == first.content_hash
    assert second.method is TextMethod.TEXT_LAYER


def test_cache_hit_reports_the_stored_method_when_the_cache_knows_it() -> None:
    cache = MethodCache()
    digest = content_hash(b"%PDF-1.4 anything")
    cache.put(digest, "COLONOSCOPY REPORT", TextMethod.OCR)
    doc = extract(b"%PDF-1.4 anything", cache=cache)
    assert (doc.text, doc.method) == ("COLONOSCOPY REPORT", TextMethod.OCR)


def test_cache_is_keyed_by_content_not_reference() -> None:
    cache = CountingCache()
    data = b"Mammogram benign"
    extract_text("DocumentReference/a", "A", None, "text/plain", data, cache=cache)
    again = extract_text("DocumentReference/b", "B", None, "text/plain", data, cache=cache)
    assert cache.puts == 1
    assert (again.reference, again.title, again.text) == (
        "DocumentReference/b",
        "B",
        "Mammogram benign",
    )


def test_pool_path_jobs_pickle_and_cache_separately() -> None:
    cache = CountingCache()
    job = ExtractJob(REF, "t", DAY, "text/html", b"<p>Tdap given 2018</p>")
    assert from_cache(job, cache) is None
    # What a ProcessPoolExecutor does: pickle the job and the function, run, pickle back.
    function = pickle.loads(pickle.dumps(extract_text_job))  # noqa: S301 (our own bytes)
    doc = pickle.loads(pickle.dumps(function(pickle.loads(pickle.dumps(job)))))  # noqa: S301
    assert doc.text == "Tdap given 2018"
    remember(doc, cache)
    hit = from_cache(job, cache)
    assert hit is not None and hit.text == "Tdap given 2018" and hit.method is TextMethod.HTML


def test_omp_thread_limit_is_set_for_tesseract_without_touching_our_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The conftest sets it too; the module must not depend on that. The child gets the limit
    # (see test_hostile_documents.py, which reads it back from a stand-in tesseract); this
    # process's environment is not modified.
    if TESSERACT is None:
        pytest.skip("tesseract not installed")
    from healthprep_desktop.screening.ocr import ocr_image, tesseract_environment

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    assert tesseract_environment(TESSERACT)["OMP_THREAD_LIMIT"] == "1"
    ocr_image(Image.new("L", (200, 60), 255), OcrSettings())
    assert "OMP_THREAD_LIMIT" not in os.environ
