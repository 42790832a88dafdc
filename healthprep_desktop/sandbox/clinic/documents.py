"""Attachments for DocumentReferences: text-layer PDFs, scanned image-only PDFs, plain text, HTML.

Every format is byte-for-byte reproducible: reportlab runs in invariant mode (fixed dates and
document id), scans get their speckle noise from a seeded generator (never Pillow's own noise,
which is not seedable) and are wrapped into a PDF written here, with no dates or random ids.
Scans cost about 0.1 s each, so identical pages are rendered once (a content-keyed cache).
"""

from __future__ import annotations

import html
import io
import random
import textwrap
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import pymupdf
from PIL import Image, ImageChops
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

PAGE_WIDTH, PAGE_HEIGHT = letter  # points
SCAN_DPI = 150
_WRAP = 88


class DocFormat(StrEnum):
    TEXT_PDF = "text-pdf"
    SCANNED_PDF = "scanned-pdf"
    PLAIN = "plain"
    HTML = "html"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]


_CONTENT_TYPES = {
    DocFormat.TEXT_PDF: "application/pdf",
    DocFormat.SCANNED_PDF: "application/pdf",
    DocFormat.PLAIN: "text/plain",
    DocFormat.HTML: "text/html",
}


@dataclass(frozen=True, slots=True)
class Note:
    """What a document says: a heading and its lines (already worded, dates included)."""

    title: str
    lines: tuple[str, ...]


def render(note: Note, fmt: DocFormat) -> bytes:
    if fmt is DocFormat.TEXT_PDF:
        return text_pdf(note)
    if fmt is DocFormat.SCANNED_PDF:
        return scanned_pdf(note)
    if fmt is DocFormat.HTML:
        return html_note(note)
    return plain_note(note)


def _wrapped(note: Note) -> list[str]:
    lines: list[str] = []
    for line in note.lines:
        lines.extend(textwrap.wrap(line, _WRAP) or [""])
    return lines


def plain_note(note: Note) -> bytes:
    return ("\n".join([note.title.upper(), "", *note.lines]) + "\n").encode("utf-8")


def html_note(note: Note) -> bytes:
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in note.lines if line)
    title = html.escape(note.title)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
    ).encode()


def text_pdf(note: Note) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, invariant=1, pageCompression=1)
    pdf.setTitle(note.title)
    y = PAGE_HEIGHT - 72
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(72, y, note.title)
    y -= 28
    pdf.setFont("Helvetica", 11)
    for line in _wrapped(note):
        if y < 72:
            pdf.showPage()
            pdf.setFont("Helvetica", 11)
            y = PAGE_HEIGHT - 72
        pdf.drawString(72, y, line)
        y -= 15
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _speckle_tile() -> Image.Image:
    """A 256x256 tile of sparse dark specks and faint grain, from a fixed seed."""
    rng = random.Random("healthprep-clinic/scan-noise")
    raw = rng.randbytes(256 * 256)
    # ~0.4% dark specks; the rest faint grain between 240 and 255 (paper texture).
    table = bytes(70 if b < 1 else 240 + (b % 16) for b in range(256))
    return Image.frombytes("L", (256, 256), raw.translate(table))


def _noisy(image: Image.Image, angle: float) -> Image.Image:
    tile = _speckle_tile()
    noise = Image.new("L", image.size)
    for x in range(0, image.width, tile.width):
        for y in range(0, image.height, tile.height):
            noise.paste(tile, (x, y))
    page = ImageChops.darker(image, noise)
    # A slightly skewed feed, as from a sheet-fed office scanner.
    # Nearest-neighbour: 4x cheaper than bilinear, and its jagged edges look like a cheap scanner.
    return page.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=235)


@lru_cache(maxsize=128)
def scanned_pdf(note: Note) -> bytes:
    """One page rendered to a grayscale image (no text layer), as a document scanner makes."""
    doc = pymupdf.open()  # type: ignore[no-untyped-call]
    page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    page.insert_text((72, 80), note.title, fontsize=15, fontname="hebo")
    page.insert_text(
        (72, 112), "\n".join(_wrapped(note)), fontsize=11.5, fontname="helv", lineheight=1.35
    )
    pixmap = page.get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY, alpha=False)
    image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    doc.close()  # type: ignore[no-untyped-call]
    # The skew is a function of the text, so the same page always scans the same way.
    angle = ((sum(note.title.encode()) + len(note.lines)) % 17 - 8) / 8.0
    scanned = _noisy(image, angle)
    jpeg = io.BytesIO()
    scanned.save(jpeg, format="JPEG", quality=45, optimize=False)
    return image_pdf(jpeg.getvalue(), scanned.width, scanned.height)


def image_pdf(jpeg: bytes, width: int, height: int) -> bytes:
    """A one-page PDF holding one grayscale JPEG over the whole page, and nothing else."""
    content = f"q {PAGE_WIDTH:.2f} 0 0 {PAGE_HEIGHT:.2f} 0 0 cm /Im0 Do Q".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH:.2f} {PAGE_HEIGHT:.2f}] "
            "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"
        ).encode("ascii"),
        (
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
            f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length {len(jpeg)} >>"
        ).encode("ascii")
        + b"\nstream\n"
        + jpeg
        + b"\nendstream",
        f"<< /Length {len(content)} >>".encode("ascii") + b"\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode("ascii")
    return bytes(out)
