"""Fonts for the prep sheet: one font per run of text, so every script prints.

DejaVu Sans (Latin, Cyrillic, Greek, most symbols) is the base. Characters it lacks go to the
first shipped font that has them: Noto Sans Hebrew, Arabic and Devanagari, Droid Sans Fallback
(CJK, subset to the CJK blocks) and Symbola (emoji and symbols, subset). All are TrueType glyf
fonts in resources/fonts/ with their licences: reportlab cannot embed CFF-flavoured OpenType.

Right-to-left text is put in visual order by python-bidi and Arabic letters take their joined
forms from arabic-reshaper (presentation forms every PDF viewer and text extractor maps back).
Devanagari needs real shaping (conjuncts, the i-matra before its consonant), which reportlab
does with uharfbuzz when a paragraph's style asks for it; only paragraphs that hold Devanagari
ask, so Latin sheets pay nothing for it.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from healthprep_desktop.paths import resources_dir

log = logging.getLogger(__name__)

FONT_DIR = resources_dir() / "fonts"  # bundled with the app (packaging/healthprep_desktop.spec)
_SYSTEM_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
_BASE_FILES = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("arial.ttf", "arialbd.ttf"))
# (registered name, file) in the order a missing character is looked for.
SCRIPT_FONTS = (
    ("HPHebrew", "NotoSansHebrew-Regular.ttf"),
    ("HPArabic", "NotoSansArabic-Regular.ttf"),
    ("HPDevanagari", "NotoSansDevanagari-Regular.ttf"),
    ("HPCJK", "DroidSansFallback-CJK.ttf"),
    ("HPSymbols", "SymbolaEmoji.ttf"),
)
SHAPED_FONT = "HPDevanagari"
# Joiners and variation selectors: invisible, kept only when the run's font has a glyph.
_INVISIBLE = {0x200D, 0xFE0E, 0xFE0F, 0x200C}


@dataclass(frozen=True, slots=True)
class FontSet:
    regular: str
    bold: str
    unicode: bool  # False: Helvetica (Latin-1 only), no font was found
    cmaps: dict[str, frozenset[int]]  # registered font name -> code points it draws

    def font_for(self, code: int) -> str | None:
        """The script font for a character (None: the base font, or no font has it). Hebrew,
        Arabic and Devanagari always take their Noto font, which DejaVu's partial coverage of
        them would otherwise pre-empt."""
        preferred = _preferred(code)
        if preferred is not None and code in self.cmaps.get(preferred, frozenset()):
            return preferred
        if code in self.cmaps.get(self.regular, frozenset()):
            return None
        for name, _ in SCRIPT_FONTS:
            if code in self.cmaps.get(name, frozenset()):
                return name
        return None


def _cmap(font: TTFont) -> frozenset[int]:
    # reportlab keeps the font's character map as {code point: glyph index}
    return frozenset(getattr(font.face, "charToGlyph", {}).keys())


def _register(name: str, path: Path, shapable: bool = False) -> TTFont | None:
    try:
        font = TTFont(name, str(path), shapable=shapable)
        pdfmetrics.registerFont(font)
    except Exception as exc:  # a broken font file: the sheet prints without that script
        log.warning("font %s unusable: %s", path.name, type(exc).__name__)
        return None
    return font


_original_to_unicode = ttfonts.makeToUnicodeCMap


def _utf16_hex(code: int) -> str:
    if code <= 0xFFFF:
        return f"{code:04X}"
    return chr(code).encode("utf-16-be").hex().upper()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode map writes characters above U+FFFF as five hex digits, which
    text extraction (copy and paste, search, screen readers) misreads: "📋" came back as "Ὄ".
    PDF wants them as UTF-16 surrogate pairs; everything else is left to reportlab."""
    text: str = _original_to_unicode(fontname, subset)
    if all(not isinstance(v, int) or v <= 0xFFFF for v in subset):
        return text
    for i, v in enumerate(subset):
        if isinstance(v, int) and v > 0xFFFF:
            text = text.replace(f"<{i:02X}> <{v:04X}>", f"<{i:02X}> <{_utf16_hex(v)}>")
    return text


ttfonts.makeToUnicodeCMap = _to_unicode_cmap


@functools.cache
def font_set() -> FontSet:
    cmaps: dict[str, frozenset[int]] = {}
    regular, bold, unicode = "Helvetica", "Helvetica-Bold", False
    for directory in (FONT_DIR, *_SYSTEM_DIRS):
        found = next(
            (
                pair
                for pair in _BASE_FILES
                if (directory / pair[0]).is_file() and (directory / pair[1]).is_file()
            ),
            None,
        )
        if found is None:
            continue
        # Shapable, so a shaped (Devanagari) paragraph shapes its Latin runs with this font
        # too; paragraphs that do not ask for shaping are not shaped whatever the font says.
        base = _register("HPSans", directory / found[0], shapable=True)
        strong = _register("HPSans-Bold", directory / found[1], shapable=True)
        if base is None or strong is None:
            continue
        pdfmetrics.registerFontFamily("HPSans", normal="HPSans", bold="HPSans-Bold")
        regular, bold, unicode = "HPSans", "HPSans-Bold", True
        cmaps[regular] = _cmap(base)
        cmaps[bold] = _cmap(strong)
        break
    if unicode:
        for name, filename in SCRIPT_FONTS:
            path = FONT_DIR / filename
            if path.is_file():
                font = _register(name, path, shapable=name == SHAPED_FONT)
                if font is not None:
                    cmaps[name] = _cmap(font)
    return FontSet(regular, bold, unicode, cmaps)


_PREFERRED = (
    (0x0590, 0x05FF, "HPHebrew"),
    (0xFB1D, 0xFB4F, "HPHebrew"),
    (0x0600, 0x06FF, "HPArabic"),
    (0x0750, 0x077F, "HPArabic"),
    (0xFB50, 0xFDFF, "HPArabic"),
    (0xFE70, 0xFEFF, "HPArabic"),
    (0x0900, 0x097F, "HPDevanagari"),
    (0xA8E0, 0xA8FF, "HPDevanagari"),
)


def _preferred(code: int) -> str | None:
    if code < 0x0590:
        return None
    for low, high, name in _PREFERRED:
        if low <= code <= high:
            return name
    return None


def _is_rtl(code: int) -> bool:
    return unicodedata.bidirectional(chr(code)) in ("R", "AL")


def is_plain(text: str) -> bool:
    """True when the base font draws every character and nothing needs reordering: the text
    can go to the canvas (or a table cell) as a plain string."""
    if text.isascii():
        return True
    fonts = font_set()
    base = fonts.cmaps.get(fonts.regular, frozenset())
    return all(
        (ord(c) in base and _preferred(ord(c)) is None and not _is_rtl(ord(c))) or c in "\n\t"
        for c in text
    )


def visual(text: str) -> str:
    """Right-to-left runs in visual order, Arabic joined; other text as is."""
    if text.isascii() or not any(_is_rtl(ord(c)) for c in text):
        return text
    import arabic_reshaper
    from bidi import get_display

    if any(unicodedata.bidirectional(c) == "AL" for c in text):
        text = arabic_reshaper.reshape(text)
    return str(get_display(text))


@dataclass(frozen=True, slots=True)
class Runs:
    markup: str  # paragraph markup: escaped text, script runs in <font face=...>
    shaped: bool  # holds Devanagari: the paragraph's style must ask for shaping


def runs(text: str, bold: bool = False) -> Runs:
    """Paragraph markup for ``text`` with a font per run of characters the base font lacks."""
    if is_plain(text):
        return Runs(escape(text), False)
    return visual_runs(visual(text), bold)


def visual_runs(text: str, bold: bool = False, name_base: bool = False) -> Runs:
    """Like ``runs`` for text already in visual order (one line of a wrapped paragraph).
    ``name_base``: the paragraph's style is the shaped one, so base-font runs name their font."""
    fonts = font_set()
    pieces: list[tuple[str | None, list[str]]] = []
    for char in text:
        code = ord(char)
        font = fonts.font_for(code)
        if code in _INVISIBLE or unicodedata.combining(char):
            if pieces:  # a mark or joiner belongs to the run before it
                owner = pieces[-1][0] or fonts.regular
                if code in fonts.cmaps.get(owner, frozenset()):
                    pieces[-1][1].append(char)
                continue
            continue
        if pieces and pieces[-1][0] == font:
            pieces[-1][1].append(char)
        elif (
            pieces
            and pieces[-1][0] == SHAPED_FONT
            and not char.isalpha()
            and code in fonts.cmaps.get(SHAPED_FONT, frozenset())
        ):
            # Punctuation right after Devanagari stays in its font: reportlab shapes a word
            # as one piece, and a font change inside it garbles the punctuation.
            pieces[-1][1].append(char)
        else:
            pieces.append((font, [char]))
    shaped = name_base or any(font == SHAPED_FONT for font, _ in pieces)
    base = fonts.bold if bold else fonts.regular
    out: list[str] = []
    for font, chars in pieces:
        chunk = escape("".join(chars))
        if font is not None:
            out.append(f'<font face="{font}">{chunk}</font>')
        elif shaped:  # the paragraph's own font is the shaped one: name the base explicitly
            out.append(f'<font face="{base}">{chunk}</font>')
        else:
            out.append(chunk)
    return Runs("".join(out), shaped)


def has_rtl(text: str) -> bool:
    return not text.isascii() and any(_is_rtl(ord(c)) for c in text)


def needs_shaping(text: str) -> bool:
    """Holds Devanagari: ``runs`` would ask for a shaped paragraph."""
    if text.isascii():
        return False
    fonts = font_set()  # (and its font was found: else that text prints unshaped, as in runs)
    return any(
        _preferred(ord(c)) == SHAPED_FONT and fonts.font_for(ord(c)) == SHAPED_FONT for c in text
    )


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Printed width of ``text`` with each character in the font ``runs`` would give it."""
    fonts = font_set()
    base = fonts.bold if bold else fonts.regular
    total = 0.0
    for char in text:
        code = ord(char)
        if code in _INVISIBLE or unicodedata.combining(char):
            continue  # drawn with no advance (or dropped)
        total += pdfmetrics.stringWidth(char, fonts.font_for(code) or base, size)
    return total


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` no shipped font can draw (a test and a log use this)."""
    fonts = font_set()
    return [
        c
        for c in text
        if not c.isspace()
        and ord(c) not in _INVISIBLE
        and not unicodedata.combining(c)
        and ord(c) not in fonts.cmaps.get(fonts.regular, frozenset())
        and fonts.font_for(ord(c)) is None
    ]
