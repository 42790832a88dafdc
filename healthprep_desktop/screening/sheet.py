"""The printable prep sheet (reportlab platypus) and the combined PDF for a clinic day.

Page 1, in order: the header (patient, appointment; "DEMO: synthetic patients" on demo
sheets), data warnings, the "Today" box (what this visit should do, grouped by who does it:
provider, rooming, vaccines), then the quality checklist (status in words and in colour, so it
survives a black-and-white printer). Then active problems, medications, recent labs and the
other data sections (the empty ones collapse into one line), and notes with signature lines.
Headings never end a page. Every page carries a footer with the data's freshness in clinic time,
the confidentiality marker and "Page N of M"; pages after the first repeat the patient's name
and MRN at the top so a dropped page finds its way back.

What the sheet says is decided in sheet_data.py; this module only lays it out. Output is
deterministic for a given context (reportlab's invariant mode), so a sheet's hash is stable.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.sheet_card import card_for
from healthprep_desktop.screening.sheet_data import (
    CONFIDENTIAL,
    Appointment,
    DataSection,
    SectionCutoffs,
    SheetContent,
    SheetContext,
    build_content,
)
from healthprep_desktop.screening.sheet_fonts import font_set, runs
from healthprep_desktop.screening.sheet_furniture import (
    FOOTER_HEIGHT,
    MARGIN,
    Furniture,
    NumberedCanvas,
)
from healthprep_desktop.screening.sheet_model import DASH, DEMO_BANNER
from healthprep_desktop.screening.sheet_style import (
    BADGE_COLOURS,
    GRID,
    TODAY_EDGE,
    TODAY_FILL,
    WARN_FILL,
    badge_style,
    cell,
    grid_style,
    para,
    styles,
)
from healthprep_desktop.screening.sheet_text import render_sheet_text
from healthprep_desktop.screening.sheet_today import GROUPS, clip

__all__ = [
    "BADGE_COLOURS",
    "CONFIDENTIAL",
    "Appointment",
    "SectionCutoffs",
    "SheetContext",
    "fonts",
    "render_content",
    "render_day",
    "render_sheet",
    "render_sheet_text",
]

EVIDENCE_LIMIT = 170  # characters; the viewer shows the whole explanation
ROW = 11.0  # points: one single-line table row, for "does the start of a table fit" checks


def fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode): kept for callers that draw on a canvas themselves."""
    found = font_set()
    return found.regular, found.bold, found.unicode


def _p(text: str, style: str = "cell") -> Paragraph:
    return para(text, style)


# --- header ----------------------------------------------------------------------------------


def _header(content: SheetContent, width: float) -> list[Flowable]:
    h = content.header
    story: list[Flowable] = []
    if content.demo:
        banner = Table([[_p(f"{DEMO_BANNER}: not real people", "demo")]], colWidths=[width])
        banner.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#37474F")),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        story += [banner, Spacer(1, 3)]
    title = "Pre-visit prep sheet" + (f"  \u00b7  {content.clinic}" if content.clinic else "")
    story += [_p(title, "clinic"), _p(h.name, "title"), Spacer(1, 2)]
    born = f"{h.birth_date} ({h.age})" if h.age else h.birth_date
    facts = [
        ("Born", born),
        ("Sex", h.sex),
        ("MRN", h.mrn),
        ("Appointment", h.appointment or DASH),
        ("Provider", h.provider or DASH),
        ("Location", h.location or DASH),
    ]
    if h.reason:
        facts.append(("Reason", h.reason))
    cells: list[list[Flowable | str]] = []
    row: list[Flowable | str] = []
    widths = [w * width for w in (0.13, 0.23, 0.09, 0.2, 0.09, 0.26)]
    for label, value in facts:
        row += [cell(label, widths[len(row)], bold=True), _p(value)]
        if len(row) == 6:
            cells.append(row)
            row = []
    if row:
        cells.append(row + [""] * (6 - len(row)))
    table = Table(cells, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FAFAFA")),
                ("FONT", (0, 0), (-1, -1), font_set().bold, 7.5, 9),
                ("TOPPADDING", (0, 0), (-1, -1), 1.2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
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
    return [Spacer(1, 4), table]


# --- today -----------------------------------------------------------------------------------


def _today_line(action: str, fact: str) -> Paragraph:
    box = "\u2610" if font_set().unicode else "[ ]"
    strong = runs(action, bold=True)
    detail = runs(fact) if fact else None
    markup = f"{box} <b>{strong.markup}</b>"
    if detail is not None:
        markup += f' <font color="#455A64">\u2014 {detail.markup}</font>'
    style = styles()["today"]
    if strong.shaped or (detail is not None and detail.shaped):
        return para("", style, markup)
    return Paragraph(markup, style)


def _today(content: SheetContent, width: float) -> list[Flowable]:
    rows: list[list[Flowable]] = [[_p("Today", "today-title")]]
    if not content.today:
        rows.append([_p("Nothing to do for screenings at this visit.", "today")])
    for group in GROUPS:
        items = [i for i in content.today if i.group == group]
        if not items:
            continue
        rows.append([_p(group, "today-group")])
        rows += [[_today_line(i.action, i.fact)] for i in items]
    table = Table(rows, colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), TODAY_FILL),
                ("BOX", (0, 0), (-1, -1), 1.2, TODAY_EDGE),
                ("TOPPADDING", (0, 0), (-1, -1), 0.6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.6),
                ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return [Spacer(1, 5), table]


# --- checklist -------------------------------------------------------------------------------


def _evidence(text: str, frequency: str) -> str:
    if frequency and frequency != DASH:
        text = f"{text}; {frequency}"
    return clip(text, EVIDENCE_LIMIT)


def _checklist(content: SheetContent, width: float) -> list[Flowable]:
    story: list[Flowable] = [_p("Quality checklist", "h2")]
    if content.undecidable:
        story.append(_p(content.undecidable, "warn"))
    if content.checklist:
        widths = [w * width for w in (0.21, 0.12, 0.1, 0.1, 0.47)]
        head = ["Screening", "Status", "Last done", "Next due", "Evidence"]
        rows: list[list[str | Paragraph]] = [list(head)]
        extra: list[tuple[Any, ...]] = [("ALIGN", (1, 1), (1, -1), "CENTER")]
        for i, item in enumerate(content.checklist, start=1):
            fill, ink = BADGE_COLOURS[item.status]
            label = item.status.label
            badge = cell(label, widths[1], bold=True)
            if isinstance(badge, Paragraph):
                badge = Paragraph(label, badge_style(item.status))
            rows.append(
                [
                    cell(item.name, widths[0]),
                    badge,
                    cell(item.last_done, widths[2]),
                    cell(item.next_due, widths[3]),
                    cell(_evidence(item.evidence, item.frequency), widths[4], "small"),
                ]
            )
            extra += [
                ("BACKGROUND", (1, i), (1, i), fill),
                ("TEXTCOLOR", (1, i), (1, i), ink),
                ("FONT", (1, i), (1, i), font_set().bold, 7.5, 9),
            ]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(grid_style(extra))
        story.append(table)
    elif not content.undecidable:
        story.append(_p("No screenings evaluated.", "muted"))
    if content.not_applicable:
        count = len(content.not_applicable)
        names = "; ".join(f"{n} ({r})" for n, r in content.not_applicable)
        line = f"{Status.NOT_APPLICABLE.label} ({count}): {names}"
        story += [Spacer(1, 1.5), _p(clip(line, 230), "small")]
    return story


# --- data sections ---------------------------------------------------------------------------

_EMPTY_NAMES = {
    "problems": "active problems",
    "medications": "medications",
    "labs": "labs",
    "imaging": "imaging",
    "consults": "consults",
    "hospital_stays": "hospital stays",
    "documents": "documents",
}


def _empty_line(empty: list[DataSection]) -> list[Flowable]:
    """ "No imaging, consults or hospital stays in their windows": one line, not a heading
    and "None on record." per section."""
    if not empty:
        return []
    names = [_EMPTY_NAMES.get(s.key, s.title.lower()) for s in empty]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    windowed = any(s.window for s in empty)
    tail = " in their windows" if windowed and len(empty) > 1 else ""
    if windowed and len(empty) == 1 and empty[0].window:
        tail = f" ({empty[0].window})"
    return [Spacer(1, 4), _p(f"No {listed} on record{tail}.", "muted")]


def _section(section: DataSection, width: float) -> list[Flowable]:
    title = section.title + (f" ({section.window})" if section.window else "")
    heading = _p(title, "h2")
    total = sum(section.widths)
    widths = [w / total * width for w in section.widths]
    rows = [[cell(c, w, bold=True) for c, w in zip(section.columns, widths, strict=True)]]
    rows += [[cell(c, w) for c, w in zip(row, widths, strict=True)] for row in section.rows]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(grid_style())
    story: list[Flowable] = [heading, table]
    if section.more:
        story.append(_p(f"\u2026 and {section.more} more not shown", "muted"))
    if len(section.rows) <= 6:
        return [KeepTogether(story)]
    # A long table may split, but its heading never ends a page: room for the heading, the
    # column titles and three rows, or a new page first.
    return [CondPageBreak(24 + 4 * ROW), *story]


class NotesBox(Flowable):
    """Notes and signature lines that take the room left on the last page (up to four lines)
    instead of pushing a sheet onto a page of its own: a full box when there is room, a
    single signature line when little is left, a new page only when not even that fits."""

    FULL = 4 * 15.0 + 16 + 2 * 17
    LINE = 15.0
    COMPACT = 20.0

    def __init__(self, width: float) -> None:
        super().__init__()
        self.width: float = width
        self.height: float = self.FULL

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        if avail_height >= 16 + self.LINE + 2 * 17:
            self.height = min(self.FULL, avail_height)
        elif avail_height >= self.COMPACT:
            self.height = self.COMPACT  # at the foot of a page: one line of signatures
        else:
            self.height = 0.0  # a page of its own for blank lines is paper wasted
        return self.width, self.height

    def draw(self) -> None:
        if not self.height:
            return
        c = self.canv
        fonts = font_set()
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(0.5)
        c.setFillColor(colors.HexColor("#455A64"))
        c.setFont(fonts.regular, 8)
        if self.height == self.COMPACT:
            self._signatures(c, 4, fonts.regular)
            c.restoreState()
            return
        signatures = 2 * 17
        c.setFont(fonts.bold, 10)
        c.setFillColor(colors.black)
        c.drawString(0, self.height - 11, "Notes")
        lines = int((self.height - 16 - signatures) // self.LINE)
        y = self.height - 16
        for _ in range(lines):
            y -= self.LINE
            c.line(0, y, self.width, y)
        c.setFillColor(colors.HexColor("#455A64"))
        c.setFont(fonts.regular, 8)
        self._signatures(c, 17 + 3, fonts.regular, "Reviewed by (provider)")
        self._signatures(c, 3, fonts.regular, "Prepared by")
        c.restoreState()

    def _signatures(self, c: Any, y: float, font: str, who: str = "") -> None:
        c.setStrokeColor(colors.black)
        if who:
            c.drawString(0, y + 2, who)
            c.line(0.2 * self.width, y, 0.65 * self.width, y)
            c.drawString(0.67 * self.width, y + 2, "Date")
            c.line(0.72 * self.width, y, self.width, y)
            return
        c.drawString(0, y + 2, "Prepared by")
        c.line(0.12 * self.width, y, 0.4 * self.width, y)
        c.drawString(0.42 * self.width, y + 2, "Reviewed by")
        c.line(0.54 * self.width, y, 0.82 * self.width, y)
        c.drawString(0.84 * self.width, y + 2, "Date")
        c.line(0.89 * self.width, y, self.width, y)


PAIR_ROWS = 9  # sections this short go two to a row: most charts then fit on one page
PAIR_GAP = 8.0


_DATE_COLUMNS = {"Since", "Ordered", "Date", "Admitted", "Discharged"}
DATE_WIDTH = 50.0  # "2026-10-30" at 7.5 pt with the cell padding, on one line


def _half(section: DataSection, width: float) -> list[Flowable]:
    title = section.title + (f" ({section.window})" if section.window else "")
    dates = [c in _DATE_COLUMNS for c in section.columns]
    rest = width - DATE_WIDTH * sum(dates)
    total = sum(w for w, d in zip(section.widths, dates, strict=True) if not d) or 1.0
    widths = [
        DATE_WIDTH if d else w / total * rest for w, d in zip(section.widths, dates, strict=True)
    ]
    rows = [[cell(c, w, bold=True) for c, w in zip(section.columns, widths, strict=True)]]
    rows += [[cell(c, w) for c, w in zip(row, widths, strict=True)] for row in section.rows]
    table = Table(rows, colWidths=widths)
    table.setStyle(grid_style())
    story: list[Flowable] = [_p(title, "h2"), table]
    if section.more:
        story.append(_p(f"\u2026 and {section.more} more not shown", "muted"))
    return story


def _data_sections(sections: list[DataSection], width: float) -> list[Flowable]:
    """Short sections side by side (a row of two never splits, so neither heading can end a
    page); long ones full width, free to run over to the next page."""
    story: list[Flowable] = []
    half = (width - PAIR_GAP) / 2
    waiting: DataSection | None = None
    for section in sections:
        short = (
            len(section.rows) + (1 if section.more else 0) <= PAIR_ROWS
            and len(section.columns) <= 4  # five columns at half width wrap every cell
        )
        if not short:
            if waiting is not None:
                story += _section(waiting, width)
                waiting = None
            story += _section(section, width)
            continue
        if waiting is None:
            waiting = section
            continue
        pair = Table(
            [[_half(waiting, half), "", _half(section, half)]],
            colWidths=[half, PAIR_GAP, half],
        )
        pair.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        story.append(pair)
        waiting = None
    if waiting is not None:
        story += _section(waiting, width)
    return story


def _notes(width: float) -> list[Flowable]:
    return [Spacer(1, 4), NotesBox(width)]


# --- rendering -------------------------------------------------------------------------------


def page_size(name: str) -> tuple[float, float]:
    chosen = A4 if name.lower() == "a4" else LETTER
    return float(chosen[0]), float(chosen[1])


def sheet_story(content: SheetContent, width: float) -> list[Flowable]:
    story: list[Flowable] = []
    story += _header(content, width)
    story += _warnings(content, width)
    story += _today(content, width)
    story += _checklist(content, width)
    empty = [s for s in content.sections if not s.rows]
    story += _data_sections([s for s in content.sections if s.rows], width)
    story += _empty_line(empty)
    story += _notes(width)
    return story


def render_content(content: SheetContent, page_size_name: str = "letter") -> bytes:
    """The PDF for already-built sheet content."""
    size = page_size(page_size_name)
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
    furniture = Furniture(content, size[0], size[1])
    doc.build(
        sheet_story(content, width),
        canvasmaker=functools.partial(
            NumberedCanvas, furniture=furniture, card=card_for(content).to_json()
        ),
    )
    return buffer.getvalue()


def render_sheet(ctx: SheetContext) -> bytes:
    """One patient's prep sheet as PDF bytes."""
    return render_content(build_content(ctx), ctx.page_size)


def render_day(sheets: Sequence[bytes] | Sequence[SheetContext], **options: Any) -> bytes:
    """One PDF for a clinic day: the huddle list per provider, then every sheet (sorted by
    provider and time), one bookmark per patient. Options: see sheet_day.render_day_print."""
    from healthprep_desktop.screening.sheet_day import render_day_print

    rendered = [s if isinstance(s, bytes) else render_sheet(s) for s in sheets]
    return render_day_print(rendered, **options).pdf


def render_content_empty() -> bytes:
    """A one-page PDF saying there is nothing to print (a day with no sheets)."""
    from healthprep_desktop.screening.sheet_day import nothing_to_print

    return nothing_to_print()
