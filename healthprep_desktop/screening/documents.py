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

import codecs
import hashlib
import io
import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any, Protocol

from PIL import Image, ImageSequence

from healthprep_desktop.screening.ocr import (
    UNAVAILABLE_WARNING,
    OcrFailed,
    OcrSettings,
    OcrTimeout,
    OcrUnavailable,
    ocr_image,
)
from healthprep_desktop.screening.record import DocumentText, TextMethod

__all__ = [
    "ExtractJob",
    "ExtractLimits",
    "OcrSettings",
    "TextCache",
    "content_hash",
    "extract_text",
    "extract_text_job",
    "from_cache",
    "remember",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_RENDER_SIDE = 5000  # pixels; a poster-sized "page" must not become a 1 GB bitmap


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
        return _image(job.data, job.ocr)
    if kind == "html":
        return _Outcome(html_to_text(decode_text(job.data, job.content_type)), TextMethod.HTML)
    if kind == "rtf":
        return _Outcome(rtf_to_text(job.data), TextMethod.RTF)
    if kind == "plain":
        return _Outcome(decode_text(job.data, job.content_type), TextMethod.PLAIN)
    declared = job.content_type.split(";")[0].strip().lower() or "unknown"
    # The content type is metadata, not content: safe to show.
    return _Outcome(warnings=[f"unsupported content type ({declared[:60]})"])


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
            _ocr_pdf_pages(doc, scanned, texts, ocr, out)
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
    doc: Any, scanned: list[int], texts: list[str], ocr: OcrSettings, out: _Outcome
) -> None:
    pymupdf = _pymupdf()
    if not ocr.enabled:
        out.warnings.append(f"OCR off: {len(scanned)} scanned page(s) not read")
        return
    todo = scanned[: ocr.max_pages]
    if len(todo) < len(scanned):
        out.warnings.append(f"OCR limit: {len(todo)} of {len(scanned)} scanned pages read")

    def render(number: int) -> Image.Image:
        page = doc.load_page(number)
        longest = max(page.rect.width, page.rect.height, 1.0)
        dpi = min(ocr.dpi, int(MAX_RENDER_SIDE * 72 / longest))
        # Never upscale a scan beyond its own resolution: the extra pixels carry no detail
        # and tesseract's time grows with them (a 150 dpi fax read at 250 dpi costs 2x).
        native = _scan_dpi(page)
        if native is not None:
            dpi = min(dpi, max(native, MIN_OCR_DPI))
        pix = page.get_pixmap(dpi=max(dpi, 36), colorspace=pymupdf.csGRAY, alpha=False)
        return Image.frombuffer(
            "L", (pix.width, pix.height), pix.samples, "raw", "L", pix.stride, 1
        )

    def ocr_page(number: int) -> str:
        return ocr_image(render(number), ocr)

    for number, text in _run_ocr(todo, ocr_page, out):
        texts[number] = text


def _run_ocr(items: list[int], read: Callable[[int], str], out: _Outcome) -> list[tuple[int, str]]:
    """OCR each item, counting outcomes into `out`; stops at the first 'unavailable'."""
    done: list[tuple[int, str]] = []
    timeouts = failures = 0
    for item in items:
        try:
            done.append((item, read(item)))
            out.ocr_pages += 1
        except OcrUnavailable:
            out.warnings.append(UNAVAILABLE_WARNING)
            break
        except OcrTimeout:
            timeouts += 1
        except OcrFailed:
            failures += 1
    if timeouts:
        out.warnings.append(f"OCR timed out on {timeouts} page(s)")
    if failures:
        out.warnings.append(f"OCR failed on {failures} page(s)")
    return done


# --- images ----------------------------------------------------------------------------------


def _image(data: bytes, ocr: OcrSettings) -> _Outcome:
    out = _Outcome(method=TextMethod.OCR)
    try:
        with warnings.catch_warnings():
            # Big scans are legitimate; we shrink them below instead of refusing them.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = [f.copy() for f in ImageSequence.Iterator(image)]
            out.pages = len(frames)
    except Image.DecompressionBombError:
        return _Outcome(warnings=["image too large to read"])
    except Exception:
        return _Outcome(warnings=["corrupt image"])
    if not ocr.enabled:
        out.warnings.append("OCR off: image not read")
        out.method = TextMethod.NONE
        return out
    todo = list(range(min(len(frames), ocr.max_pages)))
    if len(todo) < len(frames):
        out.warnings.append(f"OCR limit: {len(todo)} of {len(frames)} pages read")

    def ocr_frame(number: int) -> str:
        frame = frames[number].convert("L")
        if max(frame.size) > MAX_RENDER_SIDE:
            frame.thumbnail((MAX_RENDER_SIDE, MAX_RENDER_SIDE))
        return ocr_image(frame, ocr)

    done = _run_ocr(todo, ocr_frame, out)
    out.text = "\n\f".join(text.strip("\n") for _, text in done)
    if not done:
        out.method = TextMethod.NONE
    return out


# --- text decoding ---------------------------------------------------------------------------

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _declared_charset(content_type: str, head: bytes) -> str | None:
    for source in (content_type.encode("latin-1", "replace"), head):
        m = _CHARSET.search(source)
        if m:
            name = m.group(1).decode("ascii")
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return None


def decode_text(data: bytes, content_type: str = "") -> str:
    """Bytes to text: BOM, then a declared charset, then UTF-8, Windows-1252, Latin-1."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    # UTF-16 without a BOM: ASCII text leaves every other byte zero.
    sample = data[:2000]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        odd_zeros = sample[1::2].count(0)
        even_zeros = sample[0::2].count(0)
        return data.decode("utf-16-le" if odd_zeros > even_zeros else "utf-16-be", "replace")
    declared = _declared_charset(content_type, data[:2048])
    candidates = [declared] if declared else []
    candidates += ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


# --- HTML ------------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header"),
        *("footer", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "title"),
        *("dt", "dd", "paragraph", "item", "list", "caption", "component", "content"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


_BLANK_RUNS = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*")
_SPACE_RUNS = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML or XML document: no tags, scripts or styles; entities decoded."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    text = _SPACE_RUNS.sub(" ", "".join(parser.parts))
    return _BLANK_RUNS.sub("\n", text).strip()


# --- RTF -------------------------------------------------------------------------------------

_RTF_TOKEN = re.compile(
    r"\\([a-z]{1,32})(-?\d{1,10})?[ ]?|\\'([0-9a-fA-F]{2})|\\([^a-z])|([{}])|[\r\n]+|(.)",
    re.DOTALL,  # control words are lower case (RTF spec), so \parBrace reads as \par + "Brace"
)
# Groups whose content is not document text.
_RTF_DESTINATIONS = frozenset(
    {
        *("fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer"),
        *("headerl", "headerr", "headerf", "footerl", "footerr", "footerf", "themedata"),
        *("colorschememapping", "latentstyles", "datastore", "xmlnstbl", "listtable"),
        *("listoverridetable", "rsidtbl", "generator", "filetbl", "revtbl", "fldinst"),
        *("author", "operator", "title", "subject", "keywords", "comment", "doccomm"),
        *("bkmkstart", "bkmkend", "field_inst", "shppict", "nonshppict", "private"),
    }
)
_RTF_SPECIAL = {
    "par": "\n",
    "sect": "\n\n",
    "page": "\n\n",
    "line": "\n",
    "row": "\n",
    "cell": " ",
    "tab": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
}
_ANSICPG = re.compile(rb"\\ansicpg(\d+)")


def rtf_to_text(data: bytes) -> str:
    """Plain text of an RTF document: a small stripper for control words and groups."""
    m = _ANSICPG.search(data[:4096])
    codepage = f"cp{int(m.group(1))}" if m else "cp1252"
    try:
        codecs.lookup(codepage)
    except LookupError:
        codepage = "cp1252"
    source = data.decode("latin-1")  # RTF is 7-bit; \'hh escapes carry the 8-bit bytes
    stack: list[tuple[int, bool]] = []
    ignorable = False
    uc_skip = 1  # characters that follow \uN as its fallback, to be skipped
    skip = 0
    out: list[str] = []
    pending: bytearray = bytearray()  # \'hh bytes decoded together (multi-byte codepages)

    def flush() -> None:
        if pending:
            out.append(pending.decode(codepage, errors="replace"))
            pending.clear()

    for word, arg, hexcode, symbol, brace, char in _RTF_TOKEN.findall(source):
        if hexcode:
            if skip:
                skip -= 1
            elif not ignorable:
                pending.append(int(hexcode, 16))
            continue
        flush()
        if brace:
            skip = 0
            if brace == "{":
                stack.append((uc_skip, ignorable))
            elif stack:
                uc_skip, ignorable = stack.pop()
        elif symbol:
            skip = 0
            if symbol == "*":
                ignorable = True
            elif ignorable:
                pass
            elif symbol in "\\{}":
                out.append(symbol)
            elif symbol == "~":
                out.append("\u00a0")
            elif symbol == "_":
                out.append("-")
        elif word:
            skip = 0
            lowered = word.lower()
            if lowered in _RTF_DESTINATIONS:
                ignorable = True
            elif ignorable:
                pass
            elif lowered in _RTF_SPECIAL:
                out.append(_RTF_SPECIAL[lowered])
            elif lowered == "uc" and arg:
                uc_skip = int(arg)
            elif lowered == "u" and arg:
                code = int(arg)
                out.append(chr(code + 0x10000 if code < 0 else code))
                skip = uc_skip
        elif char:
            if skip:
                skip -= 1
            elif not ignorable:
                out.append(char)
    flush()
    text = _SPACE_RUNS.sub(" ", "".join(out))
    return _BLANK_RUNS.sub("\n", text).strip()
