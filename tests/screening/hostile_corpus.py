"""Hostile attachments, generated at test time (nothing large is committed).

Each builder returns the bytes of one file a hostile or broken EHR could serve as a
DocumentReference attachment. `CORPUS` lists them with a content type; `bench/hostile.py` and
`tests/screening/test_hostile_documents.py` both use it. Builders stay cheap (well under a second
each) except `big_frames_tiff`, which deflates real 9000x9000 colour frames.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pymupdf
from PIL import Image, ImageDraw

# --- raster ----------------------------------------------------------------------------------


def big_frames_tiff(frames: int = 6, side: int = 9000) -> bytes:
    """A few MB of deflate TIFF holding `frames` colour frames of side x side (324 MB each)."""
    image = Image.new("RGB", (side, side), "white")
    ImageDraw.Draw(image).text((300, 300), "COLONOSCOPY REPORT", fill="black", font_size=220)
    buffer = io.BytesIO()
    image.save(
        buffer,
        "TIFF",
        save_all=True,
        append_images=[image] * (frames - 1),
        compression="tiff_adobe_deflate",
    )
    return buffer.getvalue()


def _ifd(entries: list[tuple[int, int, int]], next_offset: int) -> bytes:
    """A little-endian TIFF directory; every value is a SHORT (3) or LONG (4) held inline."""
    out = struct.pack("<H", len(entries))
    for tag, kind, value in sorted(entries):
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    return out + struct.pack("<I", next_offset)


def _tiff(frames: list[tuple[int, int]]) -> bytes:
    """A white uncompressed grey TIFF whose directories declare these sizes.

    Frames up to a megapixel carry all their bytes (frames of one size share them); larger
    ones carry 16 (cut short).
    """
    header = b"II*\x00" + struct.pack("<I", 8)
    ifd_size = 2 + 9 * 12 + 4
    data = bytearray(header)
    lengths = [w * h if w * h <= 1_000_000 else 16 for w, h in frames]
    strips: dict[tuple[int, int], int] = {}  # size -> offset of its strip after the IFDs
    end = 8 + ifd_size * len(frames)
    for size, length in zip(frames, lengths, strict=True):
        if size not in strips:
            strips[size] = end
            end += length
    starts = [strips[size] for size in frames]
    for index, (width, height) in enumerate(frames):
        last = index == len(frames) - 1
        next_offset = 0 if last else 8 + ifd_size * (index + 1)
        data += _ifd(
            [
                (256, 4, width),
                (257, 4, height),
                (258, 3, 8),  # bits per sample
                (259, 3, 1),  # no compression
                (262, 3, 1),  # black is zero
                (273, 4, starts[index]),  # strip offset
                (277, 3, 1),  # samples per pixel
                (278, 4, height),  # rows per strip
                (279, 4, lengths[index]),  # strip byte count
            ],
            next_offset,
        )
    unique = {size: length for size, length in zip(frames, lengths, strict=True)}
    return bytes(data) + b"\xff" * sum(unique.values())


def tiff_bomb_later_frame() -> bytes:
    """Page 1 is 400x200; page 2 declares 100,000 x 100,000 (Pillow checks the first only)."""
    return _tiff([(400, 200), (100_000, 100_000)])


def tiff_bomb_first_frame() -> bytes:
    return _tiff([(100_000, 100_000), (400, 200)])


def tiff_many_pages(pages: int = 3_000) -> bytes:
    return _tiff([(400, 200)] * pages)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_giant(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring a giant grey image, followed by a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_over_bomb_warning() -> bytes:
    """10,000 x 10,000: over Pillow's warning limit (89 M pixels), under its error limit."""
    return png_giant(10_000, 10_000)


# --- PDF -------------------------------------------------------------------------------------


def _scan_png(width: int = 400, height: int = 500) -> bytes:
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).text((20, 20), "SCAN", fill=0, font_size=40)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pdf_huge_page(side_pt: float = 5_000_000.0) -> bytes:
    """A scanned page declared 69,000 inches square (MuPDF accepts it; the spec stops at 200)."""
    doc = pymupdf.open()
    page = doc.new_page(width=side_pt, height=side_pt)
    page.insert_image(page.rect, stream=_scan_png())
    data: bytes = doc.tobytes()
    doc.close()
    return data


def pdf_image_bomb(side: int = 100_000) -> bytes:
    """A Letter page drawing one grey image that declares side x side pixels (10 G for 100,000).

    The image stream holds a few bytes only: MuPDF would still allocate the full bitmap to
    render the page.
    """
    stream = zlib.compress(b"\0" * 64)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (side, side, len(stream), stream),
        b"<< /Length 33 >>\nstream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream",
    ]
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_many_pages(pages: int = 2_000) -> bytes:
    doc = pymupdf.open()
    for number in range(pages):
        doc.new_page().insert_text((72, 72), f"page {number + 1}", fontsize=11)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def pdf_encrypted() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Mammogram report", fontsize=11)
    data: bytes = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user-pw", owner_pw="owner-pw"
    )
    doc.close()
    return data


def pdf_corrupt() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 64


def text_invalid_utf8() -> bytes:
    return b"Colonoscopy 2019 \xc3\x28 caf\xe9 \x80\x81 done\n" * 50


# name -> (builder, content type, start of the expected one-sentence warning)
CORPUS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "tiff-bomb-later-frame": (tiff_bomb_later_frame, "image/tiff", "page 2 is too large"),
    "tiff-bomb-first-frame": (tiff_bomb_first_frame, "image/tiff", "image too large to read"),
    "tiff-3000-pages": (tiff_many_pages, "image/tiff", "OCR limit: 10 of 3000 pages read"),
    "png-giant": (png_giant, "image/png", "image too large to read"),
    "png-over-bomb-warning": (png_over_bomb_warning, "image/png", "image too large to read"),
    "pdf-huge-page": (
        pdf_huge_page,
        "application/pdf",
        "page 1 is larger than the PDF format allows",
    ),
    "pdf-image-bomb": (pdf_image_bomb, "application/pdf", "page 1 holds an image too large"),
    "pdf-2000-pages": (pdf_many_pages, "application/pdf", "only the first 300 of 2000 pages"),
    "pdf-encrypted": (pdf_encrypted, "application/pdf", "encrypted PDF"),
    "pdf-corrupt": (pdf_corrupt, "application/pdf", "corrupt PDF"),
    "text-invalid-utf8": (text_invalid_utf8, "text/plain; charset=utf-8", "text is not valid"),
}
