"""Every script prints: names and notes in Latin, Cyrillic, Greek, CJK, Hebrew, Arabic,
Devanagari and emoji, read back from the PDF (text extraction) and checked against the glyphs
of the font each run was set in (nothing became a box, right-to-left text was not reversed)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import pymupdf
import pytest

from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_fonts import font_set, missing_glyphs, runs, visual
from healthprep_desktop.screening.sheet_model import Appointment, SheetContext

NAMES = {
    "latin": ("Müller-Lüdenscheidt", "Zoë"),
    "cyrillic": ("Иванова", "Мария"),
    "greek": ("Παπαδόπουλος", "Ελένη"),
    "cjk": ("王", "小明"),
    "hebrew": ("כהן", "דוד"),
    "arabic": ("العلي", "محمد"),
    "devanagari": ("शर्मा", "प्रिया"),
}
FONT_OF = {  # script -> the embedded font its characters must be drawn with
    "cjk": "DroidSansFallback",
    "hebrew": "NotoSansHebrew",
    "arabic": "NotoSansArabic",
    "devanagari": "NotoSansDevanagari",
}
REGISTERED = (  # embedded font name -> our registered name (whose glyph map we know)
    ("DejaVuSans-Bold", "HPSans-Bold"),
    ("DejaVuSans", "HPSans"),
    ("NotoSansHebrew", "HPHebrew"),
    ("NotoSansArabic", "HPArabic"),
    ("NotoSansDevanagari", "HPDevanagari"),
    ("DroidSansFallback", "HPCJK"),
    ("Symbola", "HPSymbols"),
)
NOTE = "Bring glucose log 📋 😀 — Диабет 2 типа"


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for word, script in (
        ("CJK", "cjk"),
        ("HEBREW", "hebrew"),
        ("ARABIC", "arabic"),
        ("DEVANAGARI", "devanagari"),
    ):
        if name.startswith(word):
            return script
    if ord(char) >= 0x1F300:
        return "emoji"
    return None


def _sheet(family: str, given: str) -> bytes:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1970-01-01",
    }
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"text": f"{family} {NOTE}"},
        "onsetDateTime": "2020-01-01",
    }
    record = PatientRecord(patient, [condition], fetched_at=datetime(2021, 6, 29, 17, 5))
    ctx = SheetContext(
        record,
        [],
        date(2021, 6, 30),
        Appointment(datetime(2021, 7, 1, 9, 30), "Dr. Ng", None, NOTE),
        "Clinic",
        generated_at=datetime(2021, 6, 30, 8, 0),
    )
    return render_sheet(ctx)


@pytest.mark.parametrize("script", sorted(NAMES))
def test_names_and_notes_print_in_every_script(script: str) -> None:
    family, given = NAMES[script]
    text = f"{family}, {given} {NOTE}"
    assert font_set().unicode and missing_glyphs(text) == []  # a shipped font has each glyph
    with pymupdf.open(stream=_sheet(family, given)) as doc:
        page = doc[0]
        extracted = unicodedata.normalize("NFKC", page.get_text())
        spans = [
            span
            for block in page.get_text("rawdict")["blocks"]
            for line in block.get("lines", [])
            for span in line["spans"]
        ]
    if script == "devanagari":
        # Shaped conjuncts come back from the PDF as ligature glyphs; the consonants remain.
        assert "शमा" in extracted and "या" in extracted and "\ufffd" not in extracted
    else:
        # Logical order: a reversed RTL name would read "ןהכ" / "يلعلا" here.
        assert f"{family}, {given}" in extracted
    assert "📋" in extracted and "😀" in extracted and "Диабет 2 типа" in extracted
    cmaps = font_set().cmaps
    for span in spans:
        registered = next((ours for pdf, ours in REGISTERED if pdf in span["font"]), None)
        assert registered is not None, span["font"]  # never Helvetica's Latin-1
        for char in span["chars"]:
            c = char["c"]
            want = _script(c)
            if want in FONT_OF:
                assert FONT_OF[want] in span["font"], (c, span["font"])
            if script != "devanagari" and not c.isspace():  # (ligatures: see above)
                # The font the run was set in has the glyph: nothing printed as a box.
                code = ord(unicodedata.normalize("NFKC", c)[0]) if want == "arabic" else ord(c)
                assert code in cmaps[registered] or ord(c) in cmaps[registered], (c, span["font"])


def test_right_to_left_is_put_in_visual_order_and_arabic_is_joined() -> None:
    shown = visual("כהן, דוד")
    assert shown == "דוד ,ןהכ"  # visual order, left to right
    arabic = visual("محمد")
    assert arabic != "محمد" and unicodedata.normalize("NFKC", arabic)[::-1] == "محمد"
    assert visual("Smith, John") == "Smith, John"  # left-to-right text untouched


def test_runs_pick_a_font_per_script_and_shape_only_devanagari() -> None:
    mixed = runs("Ng 王 שלום")
    assert 'face="HPCJK"' in mixed.markup and 'face="HPHebrew"' in mixed.markup
    assert not mixed.shaped
    assert runs("प्रिया").shaped
    assert runs("Plain ASCII & <tags>").markup == "Plain ASCII &amp; &lt;tags&gt;"
