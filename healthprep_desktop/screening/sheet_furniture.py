"""What every page of a prep sheet carries: the footer, the running header and, for the demo
clinic, the "DEMO: synthetic patients" watermark.

The footer says when the data was fetched (clinic time, never "UTC") and from where; the source
label is elided so the line never runs into "Page N of M", whatever the connection is called.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfdoc import PDFCatalog, PDFText
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from healthprep_desktop.screening.sheet_card import CARD_KEY
from healthprep_desktop.screening.sheet_fonts import font_set, is_plain
from healthprep_desktop.screening.sheet_model import CONFIDENTIAL, DEMO_BANNER, SheetContent
from healthprep_desktop.screening.sheet_style import para

MARGIN = 0.5 * inch
FOOTER_HEIGHT = 0.45 * inch
FOOTER_SIZE = 6.5
GRID = colors.HexColor("#B0BEC5")
INK = colors.HexColor("#37474F")
ELLIPSIS = "\u2026"


def elide(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so it is at most ``width`` points wide."""
    if stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if stringWidth(text[:mid] + ELLIPSIS, font, size) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ELLIPSIS


def footer_line(content: SheetContent, font: str, width: float) -> str:
    """ "Data fetched Fri 4 Dec 2026, 07:55 from <source> · Printed ...", the source elided."""
    fetched = f"Data fetched {content.fetched_at} from "
    printed = f"  \u00b7  Printed {content.generated_at}"
    room = width - stringWidth(fetched + printed, font, FOOTER_SIZE)
    source = content.source if is_plain(content.source) else "the EHR"
    return fetched + elide(source, font, FOOTER_SIZE, max(room, 30.0)) + printed


class Furniture:
    def __init__(self, content: SheetContent, width: float, height: float) -> None:
        fonts = font_set()
        self.page_label_room = 60.0  # "Page 12 of 12" at 7 pt bold, with a gap
        self.left = footer_line(content, fonts.regular, width - 2 * MARGIN - self.page_label_room)
        h = content.header
        # One line at the top of later pages, however long the name: it must not run into
        # the page's content.
        name = h.name if len(h.name) <= 60 else h.name[:59] + ELLIPSIS
        self.running = f"{name}  \u00b7  MRN {h.mrn}  \u00b7  DOB {h.birth_date} (continued)"
        self.demo = content.demo
        self.width = width
        self.height = height

    def draw(self, c: canvas.Canvas, page: int, total: int) -> None:
        fonts = font_set()
        c.saveState()
        if self.demo:
            watermark(c, self.width, self.height)
        y = MARGIN - 0.22 * inch
        c.setStrokeColor(GRID)
        c.setLineWidth(0.5)
        c.line(MARGIN, y + 10, self.width - MARGIN, y + 10)
        c.setFont(fonts.regular, FOOTER_SIZE)
        c.setFillColor(INK)
        c.drawString(MARGIN, y, self.left)
        c.setFont(fonts.bold, 7)
        c.drawRightString(self.width - MARGIN, y, f"Page {page} of {total}")
        c.setFillColor(colors.HexColor("#B71C1C"))
        c.drawCentredString(self.width / 2, y - 9, CONFIDENTIAL)
        if page > 1:
            running: Paragraph = para(self.running, "running")
            running.wrapOn(c, self.width - 2 * MARGIN, 20)
            running.drawOn(c, MARGIN, self.height - MARGIN + 8)
        c.restoreState()


def watermark(c: canvas.Canvas, width: float, height: float) -> None:
    """A large, light diagonal "DEMO: synthetic patients" behind nothing important: drawn in a
    pale grey at low opacity, so it shows in greyscale yet leaves the text readable."""
    fonts = font_set()
    c.saveState()
    c.setFillColor(colors.HexColor("#9E9E9E"))
    c.setFillAlpha(0.16)
    c.translate(width / 2, height / 2)
    c.rotate(35)
    c.setFont(fonts.bold, 44)
    c.drawCentredString(0, 0, DEMO_BANNER)
    c.restoreState()


class NumberedCanvas(canvas.Canvas):
    """Defers each page so the footer can say "Page N of M" once M is known."""

    def __init__(
        self, *args: Any, furniture: Furniture, card: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._card = card
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._furniture.draw(self, self._pageNumber, total)
            super().showPage()
        if self._card is not None:
            # The huddle card (sheet_card.py) goes into the catalog as the PDF is written:
            # reopening the finished PDF to add it cost about a tenth of a sheet's render time.
            catalog = self._doc.Catalog
            catalog.__Defaults__ = {**PDFCatalog.__Defaults__, CARD_KEY: PDFText(self._card)}
        super().save()
