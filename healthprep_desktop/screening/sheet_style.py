"""Paragraph styles, status colours and the text helpers every part of the sheet uses.

Status badges carry the status in words as well as in colour, and the colours differ in
lightness too, so a black-and-white printer and a colour-blind reader both see the difference.
"""

from __future__ import annotations

import functools
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph, TableStyle

from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.sheet_bidi import BidiParagraph
from healthprep_desktop.screening.sheet_fonts import (
    SHAPED_FONT,
    font_set,
    has_rtl,
    is_plain,
    needs_shaping,
    runs,
)

BADGE_COLOURS: dict[Status, tuple[colors.Color, colors.Color]] = {
    # (background, text): dark enough for white text except the amber one
    Status.OVERDUE: (colors.HexColor("#B71C1C"), colors.white),
    Status.DUE: (colors.HexColor("#E65100"), colors.white),
    # Done in time but out of range: an action item, never the green of Complete.
    Status.NOT_AT_GOAL: (colors.HexColor("#AD1457"), colors.white),
    Status.FOLLOW_UP_NEEDED: (colors.HexColor("#6A1B9A"), colors.white),
    Status.DECLINED: (colors.HexColor("#5D4037"), colors.white),
    Status.MEDICAL_REASON: (colors.HexColor("#455A64"), colors.white),
    Status.POSTPONED: (colors.HexColor("#00695C"), colors.white),
    Status.DUE_SOON: (colors.HexColor("#F9A825"), colors.black),
    Status.INSUFFICIENT_DATA: (colors.HexColor("#546E7A"), colors.white),
    Status.COMPLETE: (colors.HexColor("#2E7D32"), colors.white),
    Status.NOT_APPLICABLE: (colors.HexColor("#9E9E9E"), colors.white),
}
GRID = colors.HexColor("#B0BEC5")
HEAD_FILL = colors.HexColor("#ECEFF1")
WARN_FILL = colors.HexColor("#FFF8E1")
TODAY_FILL = colors.HexColor("#F5F9FF")
TODAY_EDGE = colors.HexColor("#1565C0")
CELL_SIZE = 7.5
CELL_PAD = 3


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    fonts = font_set()
    regular, bold = fonts.regular, fonts.bold
    base = ParagraphStyle("base", fontName=regular, fontSize=8, leading=9.6, alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.4),
        "muted": ParagraphStyle("muted", parent=base, textColor=colors.HexColor("#455A64")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "cellhead": ParagraphStyle("cellhead", parent=base, fontName=bold, fontSize=7.5, leading=9),
        "badge": ParagraphStyle(
            "badge", parent=base, fontName=bold, fontSize=7.5, leading=9, alignment=1
        ),
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=15, leading=18),
        "clinic": ParagraphStyle("clinic", parent=base, fontSize=9, leading=11),
        "demo": ParagraphStyle(
            "demo", parent=base, fontName=bold, fontSize=9, leading=11, textColor=colors.white
        ),
        # keepWithNext: a heading never ends a page (see also CondPageBreak in sheet.py).
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=bold,
            fontSize=10,
            leading=12,
            spaceBefore=6,
            spaceAfter=2,
            keepWithNext=1,
        ),
        "today-title": ParagraphStyle(
            "today-title", parent=base, fontName=bold, fontSize=11, leading=13
        ),
        "today-group": ParagraphStyle(
            "today-group", parent=base, fontName=bold, fontSize=8, leading=10
        ),
        "today": ParagraphStyle("today", parent=base, fontSize=8, leading=9.8, leftIndent=8),
        "warn": ParagraphStyle("warn", parent=base, fontSize=7.5, leading=9),
        "running": ParagraphStyle(
            "running", parent=base, fontSize=7, leading=8.4, textColor=colors.HexColor("#37474F")
        ),
        "huddle": ParagraphStyle("huddle", parent=base, fontSize=7.5, leading=9),
    }


@functools.cache
def badge_style(status: Status) -> ParagraphStyle:
    return ParagraphStyle(
        f"badge-{status.value}", parent=styles()["badge"], textColor=BADGE_COLOURS[status][1]
    )


@functools.cache
def _shaped(style: ParagraphStyle) -> ParagraphStyle:
    # Devanagari needs harfbuzz: the paragraph's own font is the shapable one and every other
    # run names its font explicitly (sheet_fonts.runs).
    return ParagraphStyle(f"{style.name}-shaped", parent=style, fontName=SHAPED_FONT, shaping=1)


def para(text: str, style: str | ParagraphStyle = "cell", markup: str = "") -> Paragraph:
    """A paragraph of plain ``text`` (escaped; a font per script run), then ``markup`` as is."""
    chosen = styles()[style] if isinstance(style, str) else style
    bold = chosen.fontName == font_set().bold
    if not markup and has_rtl(text):
        # Wrapped first, reordered per line (sheet_bidi); Latin text never pays for this.
        return BidiParagraph.of(text, _shaped(chosen) if needs_shaping(text) else chosen, bold)
    found = runs(text, bold=bold)
    if found.shaped:
        chosen = _shaped(chosen)
    return Paragraph(found.markup + markup, chosen)


def cell(text: str, width: float, style: str = "cell", bold: bool = False) -> str | Paragraph:
    """A plain string when the text fits on one line in the base font, else a Paragraph.

    Plain strings cost a fraction of a Paragraph to lay out; most cells (dates, values,
    statuses) fit, and this is what keeps a sheet fast.
    """
    fonts = font_set()
    font = fonts.bold if bold else fonts.regular
    if (
        "\n" not in text
        and is_plain(text)
        and stringWidth(text, font, CELL_SIZE) <= width - 2 * CELL_PAD
    ):
        return text
    return para(text, "cellhead" if bold else style)


def grid_style(extra: list[tuple[Any, ...]] | None = None) -> TableStyle:
    fonts = font_set()
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        # Plain-string cells take these; Paragraph cells carry their own style.
        ("FONT", (0, 0), (-1, -1), fonts.regular, CELL_SIZE, 9),
        ("FONT", (0, 0), (-1, 0), fonts.bold, CELL_SIZE, 9),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
    ]
    return TableStyle(commands + (extra or []))
