"""A right-to-left note that wraps prints its lines top to bottom in reading order.

Read back from the real PDF with pymupdf: each printed line (sorted by height on the page) is
visual order, so reading it right to left gives the logical text; the lines read in turn must
give the note from its first word to its last."""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date, datetime

import pymupdf
import pytest
from reportlab.lib.enums import TA_RIGHT

from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_bidi import BidiParagraph, break_lines, visual_lines
from healthprep_desktop.screening.sheet_model import Appointment, SheetContext
from healthprep_desktop.screening.sheet_style import para

HEBREW = (
    "המטופל מבקש להביא את יומן הסוכר בכל ביקור ולשוחח על תוצאות הבדיקות האחרונות עם הרופא "
    "המטפל לפני תחילת הטיפול החדש ולקבוע תור נוסף בעוד שלושה חודשים"
)
# No lam followed by alef: that pair prints as one ligature glyph, which reads back as two
# letters in an order this word-by-word check cannot tell apart.
ARABIC = (
    "يرجى إحضار سجل السكر في كل زيارة ومناقشة نتائج الفحوصات الحديثة مع الطبيب المختص "
    "قبل بدء الدواء الجديد وتحديد موعد آخر بعد شهرين من اليوم"
)


def _sheet(reason: str) -> bytes:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"use": "official", "family": "Levi", "given": ["Dana"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
    }
    record = PatientRecord(patient, [], fetched_at=datetime(2021, 6, 29, 17, 5))
    ctx = SheetContext(
        record,
        [],
        date(2021, 6, 30),
        Appointment(datetime(2021, 7, 1, 9, 30), "Dr. Ng", None, reason),
        "Clinic",
        generated_at=datetime(2021, 6, 30, 8, 0),
    )
    return render_sheet(ctx)


def _is_rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _printed_rtl_lines(pdf: bytes) -> list[tuple[float, float, str]]:
    """(top, right edge, text in visual order) of each printed line holding right-to-left text.

    Visual order is rebuilt from where each glyph sits (its x), not from the order text
    extraction reports, which reorders right-to-left spans on its own."""
    rows: dict[int, list[tuple[float, float, str]]] = {}
    with pymupdf.open(stream=pdf) as doc:
        for block in doc[0].get_text("rawdict")["blocks"]:
            for line in block.get("lines", []):
                for span in line["spans"]:
                    for char in span["chars"]:
                        x0, y0, x1, _ = char["bbox"]
                        rows.setdefault(round(y0), []).append((x0, x1, char["c"]))
    lines = []
    for top, chars in sorted(rows.items()):
        rtl = [c for c in chars if _is_rtl(unicodedata.normalize("NFKC", c[2]))]
        if not rtl:
            continue
        # The note's cell only: the row also holds other header cells to its left and right.
        left, right = min(c[0] for c in rtl), max(c[1] for c in rtl)
        mine = sorted(c for c in chars if c[0] >= left - 0.5 and c[1] <= right + 0.5)
        # Extraction drops the space glyphs: a gap wider than a point between two glyphs is one.
        text = mine[0][2]
        for before, after in itertools.pairwise(mine):
            text += (" " if after[0] - before[1] > 1.0 else "") + after[2]
        text = unicodedata.normalize("NFKC", text)
        lines.append((float(top), right, text))
    return lines


def _logical(printed: str) -> str:
    # A line of pure right-to-left words: visual order is the logical order reversed.
    return " ".join(printed.split())[::-1]


@pytest.mark.parametrize("note", [HEBREW, ARABIC], ids=["hebrew", "arabic"])
def test_wrapped_right_to_left_note_prints_its_lines_in_reading_order(note: str) -> None:
    assert not any(f"\u0644{alef}" in note for alef in "\u0627\u0623\u0625\u0622")
    lines = _printed_rtl_lines(_sheet(note))
    assert len(lines) >= 3, lines  # the note wraps onto several lines
    words = note.split()
    first = _logical(lines[0][2])
    assert first.startswith(" ".join(words[:2])), first  # the top line starts the note
    assert _logical(lines[-1][2]).endswith(words[-1])
    assert " ".join(_logical(text) for _, _, text in lines) == note
    # Right-aligned: every line ends at the same right edge (the last one too).
    rights = [right for _, right, _ in lines]
    assert max(rights) - min(rights) < 1.0, rights


def test_lines_are_broken_in_logical_order_within_the_width() -> None:
    lines = break_lines(HEBREW, (80.0, 120.0), 7.5, False)
    assert " ".join(lines) == HEBREW and len(lines) >= 3
    assert lines[0].split()[0] == HEBREW.split()[0]
    # Each visual line is one logical line reversed (pure Hebrew); a mixed line keeps its
    # Latin run left to right.
    shown = visual_lines(HEBREW, (80.0, 120.0), 7.5, False)
    assert [s[::-1] for s in shown] == lines
    assert visual_lines("שלום Smith", (500.0, 500.0), 7.5, False) == ["Smith םולש"]


def test_only_right_to_left_text_takes_the_bidi_paragraph() -> None:
    assert type(para("Bring glucose log to every visit")) is not BidiParagraph
    assert type(para("Диабет 2 типа")) is not BidiParagraph
    hebrew = para(HEBREW)
    assert isinstance(hebrew, BidiParagraph) and hebrew.style.alignment == TA_RIGHT
    # A left-to-right paragraph with a Hebrew name keeps its left alignment.
    mixed = para("Patient Cohen (כהן) asks to bring the glucose log")
    assert isinstance(mixed, BidiParagraph) and mixed.style.alignment != TA_RIGHT
    _, tall = hebrew.wrap(120, 1000)
    _, short = hebrew.wrap(600, 1000)
    assert tall > short  # laid out again for each width


def test_a_wrapped_note_mixing_arabic_and_devanagari_keeps_every_script() -> None:
    note = f"{ARABIC} प्रिया शर्मा"
    paragraph = para(note)
    assert isinstance(paragraph, BidiParagraph) and paragraph.style.fontName == "HPDevanagari"
    paragraph.wrap(120, 1000)
    lines = paragraph.blPara.lines
    assert len(lines) >= 3
    # Each line names the font of each of its runs (the paragraph's own font is the shaped one).
    assert 'face="HPArabic"' in paragraph.text and 'face="HPDevanagari"' in paragraph.text
