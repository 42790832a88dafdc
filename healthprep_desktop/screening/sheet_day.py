"""The day print: one PDF for the morning huddle and the day's sheets.

First a huddle list per provider (one line per patient: time, name, age and sex, visit type, the
top actions), each provider on a page of their own; then the sheets sorted by provider and
time. One bookmark per patient (under their provider). With ``duplex`` every part is padded to
an even page count, so a patient's sheet never lands on the back of the previous one's.

The result stays vector text: sheets are copied page by page (pymupdf), never rasterised, so
174 patients make a few MB rather than the hundreds a rasterised print job takes.
"""

from __future__ import annotations

import functools
import importlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

from healthprep_desktop.screening.sheet_card import HuddleCard, read_card
from healthprep_desktop.screening.sheet_fonts import font_set
from healthprep_desktop.screening.sheet_furniture import MARGIN, watermark
from healthprep_desktop.screening.sheet_model import CONFIDENTIAL, DEMO_BANNER
from healthprep_desktop.screening.sheet_style import cell, grid_style, para
from healthprep_desktop.screening.sheet_units import fmt_local

NO_PROVIDER = "No provider recorded"
Progress = Callable[[int, int], bool]  # (done, total) -> keep going


class PrintCancelled(Exception):
    """The user cancelled the day print while it was being put together."""


@dataclass(frozen=True, slots=True)
class DaySheet:
    pdf: bytes
    pages: int
    card: HuddleCard | None
    index: int  # position in the input: the order for sheets without a card

    @property
    def provider(self) -> str:
        return (self.card.provider if self.card else "") or NO_PROVIDER

    @property
    def sort_key(self) -> tuple[bool, str, str, str, int]:
        card = self.card
        return (
            self.provider == NO_PROVIDER,
            self.provider,
            card.start if card else "",
            card.name if card else "",
            self.index,
        )


@dataclass(frozen=True, slots=True)
class DayPrint:
    pdf: bytes
    patients: int
    pages: int
    providers: tuple[str, ...]


def _pymupdf() -> Any:
    return importlib.import_module("pymupdf")


def read_sheets(pdfs: Sequence[bytes]) -> list[DaySheet]:
    pymupdf = _pymupdf()
    found: list[DaySheet] = []
    for n, pdf in enumerate(pdfs):
        doc: Any = pymupdf.open(stream=pdf, filetype="pdf")
        with doc:
            found.append(DaySheet(pdf, doc.page_count, read_card(doc), n))
    return found


def providers_of(sheets: Sequence[DaySheet]) -> list[str]:
    """The day's providers in print order (the choices of "one provider")."""
    return sorted({s.provider for s in sheets}, key=lambda p: (p == NO_PROVIDER, p))


def _label(sheet: DaySheet) -> str:
    card = sheet.card
    if card is None:
        return f"Sheet {sheet.index + 1}"
    return f"{card.time or '--:--'}  {card.name}"


@functools.cache
def _huddle_widths(width: float) -> tuple[float, ...]:
    return tuple(w * width for w in (0.07, 0.24, 0.08, 0.19, 0.42))


def huddle_pdf(sheets: Sequence[DaySheet], title: str, page_size: tuple[float, float]) -> bytes:
    """The huddle list: per provider one page (or more), a line per patient."""
    width = page_size[0] - 2 * MARGIN
    widths = _huddle_widths(width)
    story: list[Any] = []
    providers = providers_of(sheets)
    for n, provider in enumerate(providers):
        mine = [s for s in sheets if s.provider == provider]
        if n:
            story.append(PageBreak())
        story += [
            para(title, "clinic"),
            para(f"Huddle list: {provider} ({len(mine)} patients)", "title"),
            Spacer(1, 4),
        ]
        rows: list[list[str | Paragraph]] = [["Time", "Patient", "Age/sex", "Visit", "Top actions"]]
        for s in mine:
            card = s.card
            if card is None:
                rows.append(["", cell(_label(s), widths[1]), "", "", "see the sheet"])
                continue
            rows.append(
                [
                    card.time or "\u2014",
                    cell(card.name, widths[1]),
                    cell(card.age_sex, widths[2]),
                    cell(card.visit or "\u2014", widths[3]),
                    cell(card.actions, widths[4], "small"),
                ]
            )
        table = Table(rows, colWidths=list(widths), repeatRows=1)
        table.setStyle(
            grid_style(
                [("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F7F9FA")])]
            )
        )
        story.append(table)
    demo = any(s.card is not None and s.card.demo for s in sheets)

    def furniture(canvas: Any, _doc: Any) -> None:
        fonts = font_set()
        canvas.saveState()
        if demo:
            watermark(canvas, page_size[0], page_size[1])
        canvas.setFont(fonts.regular, 6.5)
        canvas.setFillColor(colors.HexColor("#B71C1C"))
        canvas.drawCentredString(page_size[0] / 2, MARGIN - 0.3 * 72, CONFIDENTIAL)
        if demo:
            canvas.setFillColor(colors.HexColor("#37474F"))
            canvas.drawString(MARGIN, MARGIN - 0.3 * 72, DEMO_BANNER)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Huddle list",
        creator="HealthPrep Desktop",
        invariant=True,
    )
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return buffer.getvalue()


def _pad(doc: Any, pages: int, size: tuple[float, float]) -> None:
    if pages % 2:
        doc.new_page(width=size[0], height=size[1])


def render_day_print(
    pdfs: Sequence[bytes],
    *,
    provider: str | None = None,
    selected: Sequence[int] | None = None,
    duplex: bool = False,
    huddle: bool = True,
    title: str = "Clinic day",
    progress: Progress | None = None,
) -> DayPrint:
    """The day PDF for ``pdfs`` (stored sheets): all of them, one provider's, or the
    ``selected`` input positions. ``progress(done, total)`` returning False cancels
    (PrintCancelled)."""
    pymupdf = _pymupdf()
    sheets = read_sheets(pdfs)
    if selected is not None:
        wanted = set(selected)
        sheets = [s for s in sheets if s.index in wanted]
    if provider is not None:
        sheets = [s for s in sheets if s.provider == provider]
    sheets.sort(key=lambda s: s.sort_key)
    if not sheets:
        return DayPrint(nothing_to_print(), 0, 1, ())
    out: Any = pymupdf.open()
    with out:
        first: Any = pymupdf.open(stream=sheets[0].pdf, filetype="pdf")
        with first:
            rect = first[0].rect
        size = (float(rect.width), float(rect.height))
        toc: list[list[Any]] = []
        if huddle:
            listing: Any = pymupdf.open(stream=huddle_pdf(sheets, title, size), filetype="pdf")
            with listing:
                out.insert_pdf(listing)
            toc.append([1, "Huddle list", 1])
            if duplex:
                _pad(out, out.page_count, size)
        current = ""
        for done, sheet in enumerate(sheets, start=1):
            if progress is not None and not progress(done - 1, len(sheets)):
                raise PrintCancelled
            if sheet.provider != current:
                current = sheet.provider
                toc.append([1, current, out.page_count + 1])
            toc.append([2, _label(sheet), out.page_count + 1])
            source: Any = pymupdf.open(stream=sheet.pdf, filetype="pdf")
            with source:
                out.insert_pdf(source)
            if duplex:
                _pad(out, sheet.pages, size)
        out.set_toc(toc)
        out.set_metadata({"title": "Pre-visit prep sheets", "creator": "HealthPrep Desktop"})
        pages = out.page_count
        data: bytes = out.tobytes(garbage=3, deflate=True, no_new_id=True)
    if progress is not None:
        progress(len(sheets), len(sheets))
    return DayPrint(data, len(sheets), pages, tuple(providers_of(sheets)))


def day_title(clinic: str, start: Any = None) -> str:
    """ "Main Street Family Medicine · Fri 4 Dec 2026" for the huddle list's first line."""
    day = ""
    if start is not None:
        day = f"{start:%a} {start.day} {start:%b %Y}"
    return "  \u00b7  ".join(x for x in (clinic, day) if x) or "Clinic day"


__all__ = [
    "NO_PROVIDER",
    "DayPrint",
    "DaySheet",
    "PrintCancelled",
    "day_title",
    "fmt_local",
    "huddle_pdf",
    "providers_of",
    "read_sheets",
    "render_day_print",
]


def nothing_to_print() -> bytes:
    """A one-page PDF saying there is nothing to print (a day with no sheets)."""
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import getSampleStyleSheet

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=LETTER, invariant=True, title="Pre-visit prep sheets")
    doc.build([Paragraph("No prep sheets for this day.", getSampleStyleSheet()["Title"])])
    return buffer.getvalue()
