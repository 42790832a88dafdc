"""Paragraphs that hold right-to-left text: wrapped in logical order, then reordered per line.

The bidi algorithm (UAX #9) reorders a paragraph line by line, after it is broken into lines.
Reordering the whole paragraph first and letting reportlab wrap the visual string put a long
Hebrew or Arabic note's lines in reverse: the first printed line held the end of the note.
reportlab's own RTL support needs rlbidi (a C build of fribidi we do not ship), so this
paragraph breaks the logical text with the same width measure reportlab uses (the font of each
character's run), puts each line in visual order with python-bidi, and hands reportlab the lines
joined by explicit breaks. Paragraphs whose base direction is right-to-left are right-aligned.
Text with no right-to-left character never comes here (sheet_style.para).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from healthprep_desktop.screening.sheet_fonts import (
    SHAPED_FONT,
    text_width,
    visual,
    visual_runs,
)


def is_rtl_paragraph(text: str) -> bool:
    """The paragraph's base direction (UAX #9 rules P2, P3): its first strong character's."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return False
        if kind in ("R", "AL"):
            return True
    return False


def shape_arabic(text: str) -> str:
    """Arabic letters in their joined forms, still in logical order (widths are then right)."""
    if not any(unicodedata.bidirectional(c) == "AL" for c in text):
        return text
    import arabic_reshaper

    return str(arabic_reshaper.reshape(text))


def break_lines(text: str, widths: tuple[float, float], size: float, bold: bool) -> list[str]:
    """Greedy word wrap of logical-order ``text``: (first line, later lines) widths in points.
    A word wider than a line gets a line of its own (reportlab then splits it)."""
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    space = text_width(" ", size, bold)
    for word in text.split():
        width = text_width(word, size, bold)
        room = widths[0] if not lines else widths[1]
        if current and used + space + width > room + 1e-6:
            lines.append(" ".join(current))
            current, used = [word], width
        else:
            used += (space if current else 0.0) + width
            current.append(word)
    if current or not lines:
        lines.append(" ".join(current))
    return lines


def visual_lines(text: str, widths: tuple[float, float], size: float, bold: bool) -> list[str]:
    """Each wrapped line of ``text`` in visual (left to right) order, Arabic joined."""
    from bidi import get_display

    shaped = shape_arabic(text)
    base = "R" if is_rtl_paragraph(text) else "L"
    return [
        str(get_display(line, base_dir=base)) for line in break_lines(shaped, widths, size, bold)
    ]


@functools.cache
def _right_aligned(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)


class BidiParagraph(Paragraph):
    """A Paragraph that re-lays its right-to-left text out for the width it is given.

    Built with ``BidiParagraph.of``. The pieces reportlab makes when it splits one across pages
    are built with frags (no source) and keep the lines already laid out.
    """

    _source: str | None = None
    _bold = False
    _laid_for: float | None = None

    @classmethod
    def of(cls, text: str, style: ParagraphStyle, bold: bool) -> BidiParagraph:
        if is_rtl_paragraph(text) and style.alignment == TA_LEFT:
            style = _right_aligned(style)
        # Until it is wrapped (minWidth, a table sizing its columns) the whole text, one line.
        paragraph = cls(visual_runs(visual(text), bold).markup, style)
        paragraph._source = text
        paragraph._bold = bold
        return paragraph

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._source is not None and availWidth != self._laid_for:
            style = self.style
            later = availWidth - style.leftIndent - style.rightIndent
            widths = (later - style.firstLineIndent, later)
            lines = visual_lines(self._source, widths, style.fontSize, self._bold)
            named = style.fontName == SHAPED_FONT  # every line names its fonts (sheet_style)
            markup = "<br/>".join(visual_runs(line, self._bold, named).markup for line in lines)
            Paragraph.__init__(self, markup, style)
            self._laid_for = availWidth
        size: tuple[Any, Any] = super().wrap(availWidth, availHeight)
        return float(size[0]), float(size[1])
