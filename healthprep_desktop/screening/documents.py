"""Text from DocumentReference attachments: PDF text layer, OCR, HTML, RTF and plain text.

`extract_text` never raises for a bad document: corrupt, encrypted, empty, oversized or
unsupported attachments come back as a DocumentText with method NONE (or a partial result) and a
short `warning` that names the problem, never the content, so it can go on a printed sheet.

Extraction is pure and picklable for the batch's process pool: `extract_text_job(ExtractJob)`
does the work without a cache; the caller checks `from_cache` first and `remember`s the result
afterwards (the cache lives in the encrypted store, which stays in the main process).

What is cached: complete, repeatable results only. A result that depends on this machine's
state (tesseract missing, OCR switched off, a page that timed out or failed) is not cached, so a
later run with OCR working reads the document properly. A result cut at the page cap is cached:
the cap gives the same text every time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from PIL import Image

from healthprep_desktop.screening.images import (
    MAX_RENDER_SIDE,
    BudgetSpent,
    FrameSkipped,
    ImageRefused,
    PixelBudget,
    bomb_limit,
    megapixels,
    open_raster,
)
from healthprep_desktop.screening.ocr import (
    UNAVAILABLE_WARNING,
    OcrFailed,
    OcrSettings,
    OcrTimeout,
    OcrUnavailable,
    ocr_image,
)
from healthprep_desktop.screening.record import DocumentText, TextMethod
from healthprep_desktop.screening.textformats import (
    decode_text,
    html_to_text,
    read_text,
    rtf_to_text,
)

__all__ = [
    "ExtractJob",
    "ExtractLimits",
    "OcrSettings",
    "TextCache",
    "content_hash",
    "decode_text",
    "extract_text",
    "extract_text_job",
    "from_cache",
    "html_to_text",
    "remember",
    "rtf_to_text",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024


class TextCache(Protocol):
    """Extracted text by sha256 of the attachment bytes; the store implements it.

    An implementation may also offer ``get_method(content_hash) -> str | None`` so a cache hit
    reports how the text was first read; without it the method is inferred from the format.
    """

    def get(self, content_hash: str) -> str | None: ...

    def put(self, content_hash: str, text: str, method: TextMethod) -> None: ...


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    max_bytes: int = 25 * MB
    max_pages: int = 300  # PDF pages whose text layer is read
    max_chars: int = 2_000_000  # text kept per document (keyword matching stays fast)
    # Pixels decoded per document: image frames, images inside scanned PDF pages and rendered
    # pages all count. 400 M is twelve 600 dpi Letter scans or four 9000x9000 frames.
    max_pixels: int = 400_000_000
    # One decoded frame at most (a 9000x9000 colour frame is 309 MB): bounds peak memory.
    max_frame_bytes: int = 320 * MB


@dataclass(frozen=True, slots=True)
class ExtractJob:
    """Everything one extraction needs; picklable for a process pool."""

    reference: str
    title: str
    date: date | None
    content_type: str
    data: bytes
    ocr: OcrSettings = field(default_factory=OcrSettings)
    limits: ExtractLimits = field(default_factory=ExtractLimits)


@dataclass(slots=True)
class _Outcome:
    text: str = ""
    method: TextMethod = TextMethod.NONE
    pages: int = 0
    ocr_pages: int = 0
    warnings: list[str] = field(default_factory=list)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_text(
    reference: str,
    title: str,
    date: date | None,
    content_type: str,
    data: bytes,
    *,
    cache: TextCache | None = None,
    ocr: OcrSettings | None = None,
    limits: ExtractLimits | None = None,
) -> DocumentText:
    """The document's text, read once ever when a cache is given."""
    job = ExtractJob(
        reference,
        title,
        date,
        content_type,
        data,
        ocr or OcrSettings(),
        limits or ExtractLimits(),
    )
    if cache is not None:
        hit = from_cache(job, cache)
        if hit is not None:
            return hit
    doc = extract_text_job(job)
    if cache is not None:
        remember(doc, cache)
    return doc


def from_cache(job: ExtractJob, cache: TextCache, digest: str | None = None) -> DocumentText | None:
    if not job.data:
        return None
    digest = digest or content_hash(job.data)
    text = cache.get(digest)
    if text is None:
        return None
    method = _method_of_hit(cache, digest, _kind(job.content_type, job.data))
    return DocumentText(job.reference, job.title, job.date, job.content_type, digest, text, method)


def remember(doc: DocumentText, cache: TextCache) -> None:
    """Put a fresh extraction in the cache if it is complete and repeatable."""
    if doc.method is TextMethod.NONE or not _repeatable(doc):
        return
    cache.put(doc.content_hash, doc.text, doc.method)


def extract_text_job(job: ExtractJob) -> DocumentText:
    """Extract without a cache: a top-level function a ProcessPoolExecutor can run."""
    digest = content_hash(job.data)
    try:
        outcome = _extract(job)
    except Exception as exc:  # untrusted bytes through third-party parsers: never sink a batch
        log.warning("document %s unreadable: %s", job.reference, type(exc).__name__)
        outcome = _Outcome(warnings=[_UNREADABLE])
    text = outcome.text
    if len(text) > job.limits.max_chars:
        text = text[: job.limits.max_chars]
        outcome.warnings.append(f"text cut at {job.limits.max_chars:,} characters")
    if outcome.method is not TextMethod.NONE and not text.strip():
        outcome.warnings.append("no text found")
    return DocumentText(
        reference=job.reference,
        title=job.title,
        date=job.date,
        content_type=job.content_type,
        content_hash=digest,
        text=text,
        method=outcome.method,
        pages=outcome.pages,
        ocr_pages=outcome.ocr_pages,
        warning="; ".join(outcome.warnings) or None,
    )


_UNREADABLE = "could not read the document"
# Warnings that depend on this machine's state rather than on the document: such results are
# not cached, so a later run (tesseract installed, OCR on, a less loaded machine) reads again.
_TRANSIENT = (UNAVAILABLE_WARNING, "OCR off", "OCR timed out", "OCR failed", _UNREADABLE)


def _repeatable(doc: DocumentText) -> bool:
    return not (doc.warning and any(marker in doc.warning for marker in _TRANSIENT))


# --- dispatch --------------------------------------------------------------------------------

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"GIF87a",
    b"GIF89a",
)
_DECLARED = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/xml": "html",
    "application/xml": "html",
    "application/hl7-v3+xml": "html",  # C-CDA: the tags go, the narrative stays
    "text/rtf": "rtf",
    "application/rtf": "rtf",
    "text/plain": "plain",
}


def _kind(content_type: str, data: bytes) -> str:
    head = data[:1024]
    if head.startswith(b"%PDF") or b"%PDF-" in head:
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    declared = content_type.split(";")[0].strip().lower()
    if declared in _DECLARED:
        return _DECLARED[declared]
    if declared.startswith("image/"):
        return "image"
    if declared.startswith("text/"):
        return "plain"
    sniff = head.lstrip().lower()
    if sniff.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "unsupported"


_INFERRED_METHOD = {
    "pdf": TextMethod.TEXT_LAYER,
    "image": TextMethod.OCR,
    "html": TextMethod.HTML,
    "rtf": TextMethod.RTF,
    "plain": TextMethod.PLAIN,
}


def _method_of_hit(cache: TextCache, digest: str, kind: str) -> TextMethod:
    get_method: Callable[[str], str | None] | None = getattr(cache, "get_method", None)
    if get_method is not None:
        stored = get_method(digest)
        if stored is not None and stored in TextMethod._value2member_map_:
            return TextMethod(stored)
    return _INFERRED_METHOD.get(kind, TextMethod.PLAIN)


def _extract(job: ExtractJob) -> _Outcome:
    size = len(job.data)
    if size == 0:
        return _Outcome(warnings=["empty attachment"])
    if size > job.limits.max_bytes:
        return _Outcome(
            warnings=[
                f"over the size limit ({size / MB:.1f} MB > {job.limits.max_bytes / MB:.0f} MB)"
            ]
        )
    kind = _kind(job.content_type, job.data)
    if kind == "pdf":
        return _pdf(job.data, job.ocr, job.limits)
    if kind == "image":
        return _image(job.data, job.ocr, job.limits)
    if kind == "rtf":
        return _Outcome(rtf_to_text(job.data), TextMethod.RTF)
    if kind in ("html", "plain"):
        text, warning = read_text(job.data, job.content_type)
        if kind == "html":
            return _Outcome(html_to_text(text), TextMethod.HTML, warnings=_listed(warning))
        return _Outcome(text, TextMethod.PLAIN, warnings=_listed(warning))
    declared = job.content_type.split(";")[0].strip().lower() or "unknown"
    # The content type is metadata, not content: safe to show.
    return _Outcome(warnings=[f"unsupported content type ({declared[:60]})"])


def _listed(warning: str | None) -> list[str]:
    return [warning] if warning else []


# --- PDF -------------------------------------------------------------------------------------


def _pymupdf() -> Any:
    """pymupdf, imported on first use (a worker that never sees a PDF does not pay for it).

    Typed as Any: pymupdf ships partial annotations that strict mypy rejects call by call.
    """
    import pymupdf

    return pymupdf


def _pdf(data: bytes, ocr: OcrSettings, limits: ExtractLimits) -> _Outcome:
    pymupdf = _pymupdf()
    pymupdf.TOOLS.mupdf_display_errors(False)  # MuPDF would print to stderr on bad files
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception:  # FileDataError, EmptyFileError, RuntimeError...: all mean "corrupt"
        return _Outcome(warnings=["corrupt PDF"])
    with doc:
        if doc.needs_pass and not doc.authenticate(""):
            return _Outcome(warnings=["encrypted PDF (password required)"])
        try:
            page_count = doc.page_count
        except Exception:
            return _Outcome(warnings=["corrupt PDF"])
        if page_count == 0:
            return _Outcome(warnings=["corrupt PDF (no pages)"])
        out = _Outcome(method=TextMethod.TEXT_LAYER, pages=page_count)
        if doc.is_repaired:  # MuPDF rebuilt a broken cross-reference table: maybe truncated
            out.warnings.append("damaged PDF (repaired): text may be incomplete")
        read = min(page_count, limits.max_pages)
        if read < page_count:
            out.warnings.append(f"only the first {read} of {page_count} pages read")
        texts: list[str] = []
        scanned: list[int] = []
        damaged = 0
        for number in range(read):
            try:
                page = doc.load_page(number)
                text = page.get_text("text")
                if _looks_scanned(page, text, ocr):
                    scanned.append(number)
            except Exception:
                damaged += 1
                text = ""
            texts.append(text)
        if damaged:
            out.warnings.append(f"{damaged} damaged page(s) skipped")
        if scanned:
            budget = PixelBudget(limits.max_pixels)
            _ocr_pdf_pages(doc, scanned, texts, ocr, budget, limits.max_frame_bytes, out)
        out.text = "\n\f".join(t.strip("\n") for t in texts)
        if out.ocr_pages:
            out.method = TextMethod.OCR
        elif not out.text.strip() and scanned and out.warnings:
            out.method = TextMethod.NONE
        return out


SCAN_COVERAGE = 0.5  # an image over half the page makes it a scan even with a little text
SCAN_MAX_CHARS = 200  # ... such as a fax header; above this the text layer is the document


def _looks_scanned(page: Any, text: str, ocr: OcrSettings) -> bool:
    """A page worth OCR: (almost) no text layer, and an image that could hold the text.

    A page with little text and no image has nothing more to read; a scan often carries a
    fax header or a stamped page number as real text, so a page-sized image with fewer than
    SCAN_MAX_CHARS characters of text is still treated as a scan.
    """
    chars = sum(not c.isspace() for c in text)
    if chars >= SCAN_MAX_CHARS:
        return False
    images = page.get_image_info()
    if not images:
        return False
    if chars < ocr.min_text_chars:
        return True
    area = abs(page.rect) or 1.0
    covered = max(abs(page.rect & _rect(info["bbox"])) for info in images)
    return bool(covered / area >= SCAN_COVERAGE)


MAX_PDF_PAGE_PT = 14_400  # 200 inches: the largest page the PDF format allows
MIN_OCR_DPI = 150  # below this tesseract misreads small print; upscale low-resolution scans


def _scan_dpi(page: Any) -> int | None:
    """The resolution of the image that covers the page (a scan), if there is one."""
    try:
        infos = page.get_image_info()
    except (RuntimeError, ValueError):
        return None
    best: int | None = None
    for info in infos:
        bbox = _rect(info["bbox"])
        if abs(page.rect & bbox) / (abs(page.rect) or 1.0) < SCAN_COVERAGE or bbox.width <= 0:
            continue
        dpi = int(info.get("width", 0) * 72 / bbox.width)
        best = dpi if best is None else max(best, dpi)
    return best


def _rect(bbox: Any) -> Any:
    return _pymupdf().Rect(bbox)


def _ocr_pdf_pages(
    doc: Any,
    scanned: list[int],
    texts: list[str],
    ocr: OcrSettings,
    budget: PixelBudget,
    max_image_bytes: int,
    out: _Outcome,
) -> None:
    pymupdf = _pymupdf()
    if not ocr.enabled:
        out.warnings.append(f"OCR off: {len(scanned)} scanned page(s) not read")
        return
    todo = scanned[: ocr.max_pages]
    if len(todo) < len(scanned):
        out.warnings.append(f"OCR limit: {len(todo)} of {len(scanned)} scanned pages read")
    oversized: list[int] = []

    def render(number: int) -> Image.Image:
        page = doc.load_page(number)
        # MuPDF decodes every image the page draws at full size before scaling it: check the
        # declared sizes first, so a page claiming a 100,000-pixel-square image is skipped.
        embedded = _check_page_images(page, number, max_image_bytes)
        longest = max(page.rect.width, page.rect.height, 1.0)
        if longest > MAX_PDF_PAGE_PT:
            oversized.append(number)
        dpi = float(ocr.dpi)
        # Never upscale a scan beyond its own resolution: the extra pixels carry no detail
        # and tesseract's time grows with them (a 150 dpi fax read at 250 dpi costs 2x).
        native = _scan_dpi(page)
        if native is not None:
            dpi = min(dpi, max(native, MIN_OCR_DPI))
        # At least 36 dpi, but never past MAX_RENDER_SIDE, however large the page claims to be.
        zoom = min(max(dpi, 36.0) / 72, MAX_RENDER_SIDE / longest)
        width = max(1, round(page.rect.width * zoom))
        height = max(1, round(page.rect.height * zoom))
        budget.take(embedded + width * height)
        matrix = pymupdf.Matrix(zoom, zoom)
        try:
            pix = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
        finally:
            pymupdf.TOOLS.store_shrink(100)  # drop the decoded scan MuPDF keeps cached
        return Image.frombuffer(
            "L", (pix.width, pix.height), pix.samples, "raw", "L", pix.stride, 1
        )

    def ocr_page(number: int) -> str:
        return ocr_image(render(number), ocr)

    for number, text in _run_ocr(todo, ocr_page, out, len(scanned)):
        texts[number] = text
    if oversized:
        first = f"page {oversized[0] + 1}" if len(oversized) == 1 else f"{len(oversized)} pages"
        verb = "is" if len(oversized) == 1 else "are"
        out.warnings.append(
            f"{first} {verb} larger than the PDF format allows: read at reduced resolution"
        )


def _check_page_images(page: Any, number: int, max_bytes: int) -> int:
    """Pixels of the images a page draws; FrameSkipped if one is over a limit."""
    limit = bomb_limit()
    total = 0
    for info in page.get_image_info():
        width, height = int(info.get("width", 0)), int(info.get("height", 0))
        pixels = width * height
        if limit is not None and pixels > limit:
            raise FrameSkipped(
                f"page {number + 1} holds an image too large to read "
                f"({megapixels(pixels)}, limit {megapixels(limit)})"
            )
        decoded = pixels * max(1, int(info.get("colorspace", 1) or 1))
        if decoded > max_bytes:
            raise FrameSkipped(
                f"page {number + 1} holds an image too large to read "
                f"({decoded / MB:,.0f} MB decoded, limit {max_bytes / MB:,.0f} MB)"
            )
        total += pixels
    return total


def _run_ocr(
    items: list[int], read: Callable[[int], str], out: _Outcome, of: int | None = None
) -> list[tuple[int, str]]:
    """OCR each item, counting outcomes into `out`; stops at 'unavailable' or a spent budget."""
    done: list[tuple[int, str]] = []
    timeouts = failures = 0
    skipped: list[str] = []
    for position, item in enumerate(items):
        try:
            done.append((item, read(item)))
            out.ocr_pages += 1
        except OcrUnavailable:
            out.warnings.append(UNAVAILABLE_WARNING)
            break
        except BudgetSpent:
            out.warnings.append(
                f"pixel limit reached: {position} of {of or len(items)} pages decoded"
            )
            break
        except FrameSkipped as exc:
            skipped.append(str(exc))
        except OcrTimeout:
            timeouts += 1
        except OcrFailed:
            failures += 1
    if len(skipped) == 1:
        out.warnings.append(skipped[0])
    elif skipped:
        out.warnings.append(f"{len(skipped)} pages not read (too large or damaged)")
    if timeouts:
        out.warnings.append(f"OCR timed out on {timeouts} page(s)")
    if failures:
        out.warnings.append(f"OCR failed on {failures} page(s)")
    return done


# --- images ----------------------------------------------------------------------------------


def _image(data: bytes, ocr: OcrSettings, limits: ExtractLimits) -> _Outcome:
    """OCR of a raster attachment, one frame at a time (see images.py for the limits)."""
    try:
        raster = open_raster(data, limits.max_frame_bytes)
    except ImageRefused as exc:
        return _Outcome(warnings=[str(exc)])
    out = _Outcome(method=TextMethod.OCR, pages=raster.frames)
    total = f"over {raster.frames:,}" if raster.more_frames else f"{raster.frames}"
    if not ocr.enabled:
        out.warnings.append("OCR off: image not read")
        out.method = TextMethod.NONE
        return out
    todo = list(range(min(raster.frames, ocr.max_pages)))
    if len(todo) < raster.frames:
        out.warnings.append(f"OCR limit: {len(todo)} of {total} pages read")
    budget = PixelBudget(limits.max_pixels)

    def ocr_frame(number: int) -> str:
        try:
            page = raster.page(number, budget)
        except (FrameSkipped, BudgetSpent):
            raise
        except Exception:  # a damaged frame: the others may still be fine
            raise FrameSkipped(f"page {number + 1} is damaged") from None
        return ocr_image(page, ocr)

    done = _run_ocr(todo, ocr_frame, out, raster.frames)
    out.text = "\n\f".join(text.strip("\n") for _, text in done)
    if not done:
        out.method = TextMethod.NONE
    return out
