"""The printable prep sheet (reportlab platypus) and the combined PDF for a clinic day.

Layout, in order: header (patient, appointment), data warnings, quality checklist (status badge
in colour and in words, so it survives a black-and-white printer), active problems, medications,
recent labs, imaging, specialist consults, hospital stays, recent documents, pre-visit checklist,
notes and signature lines. Every page carries a footer with the data's freshness, the
confidentiality marker and "Page N of M"; pages after the first repeat the patient's name and
MRN at the top so a dropped page finds its way back.

What the sheet says is decided in sheet_data.py; this module only lays it out. Output is
deterministic for a given context (reportlab's invariant mode), so a sheet's hash is stable.
"""

from __future__ import annotations

import functools
import importlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.sheet_data import (
    CONFIDENTIAL,
    Appointment,
    DataSection,
    SectionCutoffs,
    SheetContent,
    SheetContext,
    build_content,
)
from healthprep_desktop.screening.sheet_text import render_sheet_text

__all__ = [
    "CONFIDENTIAL",
    "Appointment",
    "SectionCutoffs",
    "SheetContext",
    "render_content",
    "render_day",
    "render_sheet",
    "render_sheet_text",
]

log = logging.getLogger(__name__)

MARGIN = 0.5 * inch
FOOTER_HEIGHT = 0.45 * inch

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


# --- fonts -----------------------------------------------------------------------------------

_FONT_DIRS = (
    Path(__file__).resolve().parents[2] / "resources" / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
_FONT_FILES = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("arial.ttf", "arialbd.ttf"))


@functools.cache
def fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode): DejaVu Sans (or Arial) when found, else Helvetica (Latin-1)."""
    for directory in _FONT_DIRS:
        for regular, bold in _FONT_FILES:
            if (directory / regular).is_file() and (directory / bold).is_file():
                try:
                    pdfmetrics.registerFont(TTFont("HPSans", str(directory / regular)))
                    pdfmetrics.registerFont(TTFont("HPSans-Bold", str(directory / bold)))
                except Exception as exc:  # a broken font file: try the next candidate
                    log.warning("font %s unusable: %s", regular, type(exc).__name__)
                    continue
                pdfmetrics.registerFontFamily("HPSans", normal="HPSans", bold="HPSans-Bold")
                return "HPSans", "HPSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = fonts()
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
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=bold, fontSize=10, leading=12, spaceBefore=7, spaceAfter=3
        ),
        "warn": ParagraphStyle("warn", parent=base, fontSize=7.5, leading=9),
    }


@functools.cache
def _badge_style(status: Status) -> ParagraphStyle:
    return ParagraphStyle(
        f"badge-{status.value}", parent=_styles()["badge"], textColor=BADGE_COLOURS[status][1]
    )


def _p(text: str, style: str = "cell") -> Paragraph:
    return Paragraph(escape(text), _styles()[style])


# --- page furniture --------------------------------------------------------------------------


class _NumberedCanvas(canvas.Canvas):
    """Defers each page so the footer can say "Page N of M" once M is known."""

    def __init__(self, *args: Any, furniture: _Furniture, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
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
        super().save()


class _Furniture:
    def __init__(self, content: SheetContent, width: float, height: float) -> None:
        self.left = (
            f"Data fetched {content.fetched_at} from {content.source}"
            f"  \u00b7  Printed {content.generated_at}"
        )
        h = content.header
        self.running = f"{h.name}  \u00b7  MRN {h.mrn}  \u00b7  DOB {h.birth_date} (continued)"
        self.width = width
        self.height = height

    def draw(self, c: canvas.Canvas, page: int, total: int) -> None:
        regular, bold, _ = fonts()
        c.saveState()
        y = MARGIN - 0.22 * inch
        c.setStrokeColor(GRID)
        c.setLineWidth(0.5)
        c.line(MARGIN, y + 10, self.width - MARGIN, y + 10)
        c.setFont(regular, 6.5)
        c.setFillColor(colors.HexColor("#37474F"))
        c.drawString(MARGIN, y, self.left)
        c.setFont(bold, 7)
        c.drawRightString(self.width - MARGIN, y, f"Page {page} of {total}")
        c.setFillColor(colors.HexColor("#B71C1C"))
        c.drawCentredString(self.width / 2, y - 9, CONFIDENTIAL)
        if page > 1:
            c.setFillColor(colors.HexColor("#37474F"))
            c.setFont(regular, 7)
            c.drawString(MARGIN, self.height - MARGIN + 8, self.running)
        c.restoreState()


# --- flowables -------------------------------------------------------------------------------


def _header(content: SheetContent, width: float) -> list[Flowable]:
    h = content.header
    title = "Pre-visit prep sheet" + (f"  \u00b7  {content.clinic}" if content.clinic else "")
    story: list[Flowable] = [_p(title, "clinic"), _p(h.name, "title"), Spacer(1, 3)]
    born = f"{h.birth_date} ({h.age})" if h.age else h.birth_date
    facts = [
        ("Born", born),
        ("Sex", h.sex),
        ("MRN", h.mrn),
        ("Appointment", h.appointment or "\u2014"),
        ("Provider", h.provider or "\u2014"),
        ("Location", h.location or "\u2014"),
    ]
    if h.reason:
        facts.append(("Reason", h.reason))
    cells: list[list[Flowable]] = []
    row: list[Flowable] = []
    for label, value in facts:
        row += [_p(label, "cellhead"), _p(value)]
        if len(row) == 6:
            cells.append(row)
            row = []
    if row:
        cells.append(row + [_p("")] * (6 - len(row)))
    table = Table(cells, colWidths=[w * width for w in (0.14, 0.22, 0.1, 0.2, 0.1, 0.24)])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FAFAFA")),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story.append(table)
    return story


def _warnings(content: SheetContent, width: float) -> list[Flowable]:
    if not content.warnings:
        return []
    lines = [_p("Data warnings", "cellhead")] + [
        _p(f"\u2022 {w}", "warn") for w in content.warnings
    ]
    table = Table([[line] for line in lines], colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), WARN_FILL),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#FFB300")),
                ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
            ]
        )
    )
    return [Spacer(1, 5), table]


CELL_SIZE = 7.5
CELL_PAD = 3


def _grid_style(extra: list[tuple[Any, ...]] | None = None) -> TableStyle:
    regular, bold, _ = fonts()
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        # Plain-string cells take these; Paragraph cells carry their own style.
        ("FONT", (0, 0), (-1, -1), regular, CELL_SIZE, 9),
        ("FONT", (0, 0), (-1, 0), bold, CELL_SIZE, 9),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
    ]
    return TableStyle(commands + (extra or []))


def _cell(text: str, width: float, style: str = "cell", bold: bool = False) -> str | Paragraph:
    """A plain string when the text fits on one line, else a wrapping Paragraph.

    Plain strings cost a fraction of a Paragraph to lay out; most cells (dates, values,
    statuses) fit, and this is what keeps a sheet near 30 ms.
    """
    regular, bold_font, _ = fonts()
    font = bold_font if bold else regular
    if "\n" not in text and stringWidth(text, font, CELL_SIZE) <= width - 2 * CELL_PAD:
        return text
    return _p(text, "cellhead" if bold else style)


def _checklist(content: SheetContent, width: float) -> list[Flowable]:
    story: list[Flowable] = [_p("Quality checklist", "h2")]
    if content.checklist:
        widths = [w * width for w in (0.2, 0.12, 0.1, 0.1, 0.12, 0.36)]
        head = ["Screening", "Status", "Last done", "Next due", "Frequency", "Evidence"]
        rows: list[list[str | Paragraph]] = [list(head)]
        extra: list[tuple[Any, ...]] = [("ALIGN", (1, 1), (1, -1), "CENTER")]
        for i, item in enumerate(content.checklist, start=1):
            fill, ink = BADGE_COLOURS[item.status]
            label = item.status.label
            badge = _cell(label, widths[1], bold=True)
            if isinstance(badge, Paragraph):
                badge = Paragraph(escape(label), _badge_style(item.status))
            cells = (item.name, item.last_done, item.next_due, item.frequency)
            rows.append(
                [
                    _cell(cells[0], widths[0]),
                    badge,
                    _cell(cells[1], widths[2]),
                    _cell(cells[2], widths[3]),
                    _cell(cells[3], widths[4]),
                    _cell(item.evidence, widths[5], "small"),
                ]
            )
            extra += [
                ("BACKGROUND", (1, i), (1, i), fill),
                ("TEXTCOLOR", (1, i), (1, i), ink),
                ("FONT", (1, i), (1, i), fonts()[1], CELL_SIZE, 9),
            ]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(_grid_style(extra))
        story.append(table)
    else:
        story.append(_p("No screenings evaluated.", "muted"))
    if content.not_applicable:
        label = Status.NOT_APPLICABLE.label
        listed = "; ".join(f"{name} ({reason})" for name, reason in content.not_applicable)
        story += [Spacer(1, 2), _p(f"{label}: {listed}", "small")]
    return story


def _section(section: DataSection, width: float) -> list[Flowable]:
    title = section.title + (f" ({section.window})" if section.window else "")
    heading = _p(title, "h2")
    if not section.rows:
        return [heading, _p("None on record.", "muted")]
    total = sum(section.widths)
    widths = [w / total * width for w in section.widths]
    rows = [[_cell(c, w, bold=True) for c, w in zip(section.columns, widths, strict=True)]]
    rows += [[_cell(c, w) for c, w in zip(row, widths, strict=True)] for row in section.rows]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_grid_style())
    story: list[Flowable] = [heading, table]
    if section.more:
        story.append(_p(f"\u2026 and {section.more} more not shown", "muted"))
    # Keep a short section's heading with its table; long ones split across pages.
    return [KeepTogether(story)] if len(section.rows) <= 8 else story


def _previsit(content: SheetContent) -> list[Flowable]:
    _, _, unicode = fonts()
    box = "\u2610" if unicode else "[ ]"
    story: list[Flowable] = [_p("Pre-visit checklist", "h2")]
    if not content.previsit:
        story.append(_p("Nothing due.", "muted"))
    story += [_p(f"{box} {item}", "base") for item in content.previsit]
    return story


def _notes(width: float) -> list[Flowable]:
    lines = Table([[""] for _ in range(4)], colWidths=[width], rowHeights=[16] * 4)
    lines.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.5, GRID)]))
    signature = Table(
        [
            [_p("Prepared by", "muted"), "", _p("Date", "muted"), ""],
            [_p("Reviewed by (provider)", "muted"), "", _p("Date", "muted"), ""],
        ],
        colWidths=[w * width for w in (0.2, 0.45, 0.07, 0.28)],
        rowHeights=[18, 18],
    )
    signature.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
                ("LINEBELOW", (3, 0), (3, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ]
        )
    )
    return [KeepTogether([_p("Notes", "h2"), lines, Spacer(1, 6), signature])]


# --- rendering -------------------------------------------------------------------------------


def render_content(content: SheetContent, page_size: str = "letter") -> bytes:
    """The PDF for already-built sheet content."""
    size = A4 if page_size.lower() == "a4" else LETTER
    width = size[0] - 2 * MARGIN
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + FOOTER_HEIGHT * 0.6,
        title="Pre-visit prep sheet",  # the metadata stays free of the patient's name
        author=content.clinic or "HealthPrep Desktop",
        creator="HealthPrep Desktop",
        invariant=True,
    )
    story: list[Flowable] = []
    story += _header(content, width)
    story += _warnings(content, width)
    story += _checklist(content, width)
    for section in content.sections:
        story += _section(section, width)
    story += _previsit(content)
    story += _notes(width)
    furniture = _Furniture(content, size[0], size[1])
    doc.build(story, canvasmaker=functools.partial(_NumberedCanvas, furniture=furniture))
    return buffer.getvalue()


def render_sheet(ctx: SheetContext) -> bytes:
    """One patient's prep sheet as PDF bytes."""
    return render_content(build_content(ctx), ctx.page_size)


def render_day(sheets: Sequence[bytes] | Sequence[SheetContext]) -> bytes:
    """One PDF with every sheet of a clinic day, in the order given (for printing)."""
    pymupdf: Any = importlib.import_module("pymupdf")
    rendered = [s if isinstance(s, bytes) else render_sheet(s) for s in sheets]
    if not rendered:
        return render_content_empty()
    combined: Any = pymupdf.open()
    with combined:
        for pdf in rendered:
            source: Any = pymupdf.open(stream=pdf, filetype="pdf")
            with source:
                combined.insert_pdf(source)
        data: bytes = combined.tobytes(garbage=1, deflate=True)
    return data


def render_content_empty() -> bytes:
    """A one-page PDF saying there is nothing to print (a day with no sheets)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=LETTER, invariant=True, title="Pre-visit prep sheets")
    doc.build([_p("No prep sheets for this day.", "title")])
    return buffer.getvalue()
