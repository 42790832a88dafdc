"""PDF pages to images with pymupdf (no QtPdf needed), and printing them.

Rendering is blocking CPU work: callers run ``render_page`` in a thread and turn the result into
a QImage on the GUI thread. Printing draws page images onto the printer, yielding to the event
loop between pages so a whole day's print never freezes the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymupdf
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrinter

PRINT_DPI_CAP = 300  # more only costs time: sheets are text and simple tables


@dataclass(frozen=True, slots=True)
class PageImage:
    width: int
    height: int
    stride: int
    samples: bytes


def page_count(pdf: bytes) -> int:
    doc: Any = pymupdf.open(stream=pdf, filetype="pdf")
    with doc:
        return int(doc.page_count)


def page_width(pdf: bytes, index: int = 0) -> float:
    """The page's width in points (1/72 in), for fit-to-width zoom."""
    doc: Any = pymupdf.open(stream=pdf, filetype="pdf")
    with doc:
        if not doc.page_count:
            return 612.0
        return float(doc.load_page(min(index, doc.page_count - 1)).rect.width)


def render_page(pdf: bytes, index: int, zoom: float) -> PageImage:
    """One page at ``zoom`` (1.0 = 72 dpi) as RGB samples. Blocking."""
    doc: Any = pymupdf.open(stream=pdf, filetype="pdf")
    with doc:
        page = doc.load_page(index)
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        return PageImage(int(pix.width), int(pix.height), int(pix.stride), bytes(pix.samples))


def to_qimage(page: PageImage) -> QImage:
    image = QImage(page.samples, page.width, page.height, page.stride, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the Python buffer


async def print_pdf(
    pdf: bytes,
    printer: QPrinter,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Print every page; return how many were printed. Page images are rendered in a thread."""
    total = await asyncio.to_thread(page_count, pdf)
    dpi = min(printer.resolution(), PRINT_DPI_CAP)
    zoom = dpi / 72.0
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("the printer could not be opened")
    try:
        for index in range(total):
            page = await asyncio.to_thread(render_page, pdf, index, zoom)
            if index:
                printer.newPage()
            image = to_qimage(page)
            target = painter.viewport()
            size = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QRectF(0, 0, size.width(), size.height()), image)
            if progress is not None:
                progress(index + 1, total)
    finally:
        painter.end()
    return total
