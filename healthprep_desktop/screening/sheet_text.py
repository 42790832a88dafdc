"""The prep sheet as plain text: what Epic's clinical-note write-back accepts (text/plain).

Same content as the PDF (both come from sheet_data.build_content), laid out for a fixed-width
note viewer: the Today actions first, then headings, one line per item, at most about 100
characters wide.
"""

from __future__ import annotations

import textwrap

from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.sheet_data import (
    CONFIDENTIAL,
    SheetContent,
    SheetContext,
    build_content,
)
from healthprep_desktop.screening.sheet_today import GROUPS

WIDTH = 100


def _wrap(text: str, indent: str = "  ", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def render_content_text(content: SheetContent) -> str:
    h = content.header
    out: list[str] = []
    title = "PRE-VISIT PREP SHEET" + (f" - {content.clinic}" if content.clinic else "")
    out += [title, CONFIDENTIAL, ""]
    born = f"{h.birth_date} ({h.age})" if h.age else h.birth_date
    out.append(f"Patient: {h.name}")
    out.append(f"Born: {born}   Sex: {h.sex}   MRN: {h.mrn}")
    visit = [
        f"Appointment: {h.appointment}" if h.appointment else "",
        f"Provider: {h.provider}" if h.provider else "",
        f"Location: {h.location}" if h.location else "",
    ]
    if any(visit):
        out.append("   ".join(v for v in visit if v))
    if h.reason:
        out.append(f"Reason: {h.reason}")
    if content.warnings:
        out += ["", "DATA WARNINGS"]
        for warning in content.warnings:
            out += _wrap(warning, first="  ! ")
    out += ["", "TODAY"]
    if not content.today:
        out.append("  Nothing to do for screenings at this visit.")
    for group in GROUPS:
        items = [i for i in content.today if i.group == group]
        if items:
            out.append(f"  {group}")
        for todo in items:
            line = f"{todo.action}: {todo.fact}" if todo.fact else todo.action
            out += _wrap(line, first="    [ ] ", indent="        ")
    out += ["", "QUALITY CHECKLIST"]
    if content.undecidable:
        out += _wrap(content.undecidable, first="  ! ")
    if not content.checklist and not content.undecidable:
        out.append("  No screenings evaluated.")
    for item in content.checklist:
        out.append(f"  [{item.status.label}] {item.name}")
        out.append(f"      last done {item.last_done}; next due {item.next_due}; {item.frequency}")
        out += _wrap(item.evidence, indent="      ")
    if content.not_applicable:
        listed = "; ".join(f"{n} ({r})" for n, r in content.not_applicable)
        out += _wrap(f"{Status.NOT_APPLICABLE.label}: {listed}")
    for section in content.sections:
        heading = section.title.upper() + (f" ({section.window})" if section.window else "")
        out += ["", heading]
        if not section.rows:
            out.append("  None on record.")
        for row in section.rows:
            out += _wrap(" | ".join(row), first="  - ", indent="    ")
        if section.more:
            out.append(f"  ... and {section.more} more not shown")
    out += [
        "",
        f"Data fetched {content.fetched_at} from {content.source}; printed {content.generated_at}",
        CONFIDENTIAL,
    ]
    return "\n".join(out) + "\n"


def render_sheet_text(ctx: SheetContext) -> str:
    """The sheet as plain text (no notes or signature lines: a written note has its author)."""
    return render_content_text(build_content(ctx))
