"""Text formats of attachments: plain text in any common encoding, HTML/XML, and RTF.

`read_text` says when it had to guess the encoding (invalid UTF-8 and no usable declared
charset), so the document carries a one-sentence warning that some characters may be wrong.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

__all__ = ["decode_text", "html_to_text", "read_text", "rtf_to_text"]

# --- text decoding ---------------------------------------------------------------------------

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _declared_charset(content_type: str, head: bytes) -> str | None:
    for source in (content_type.encode("latin-1", "replace"), head):
        m = _CHARSET.search(source)
        if m:
            name = m.group(1).decode("ascii")
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return None


GUESSED_ENCODING = "text is not valid {expected}: read as {used}, some characters may be wrong"


def decode_text(data: bytes, content_type: str = "") -> str:
    """Bytes to text: BOM, then a declared charset, then UTF-8, Windows-1252, Latin-1."""
    return read_text(data, content_type)[0]


def read_text(data: bytes, content_type: str = "") -> tuple[str, str | None]:
    """`decode_text`, plus a one-sentence warning when the encoding had to be guessed."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return _replacing(data, encoding)
    # UTF-16 without a BOM: ASCII text leaves every other byte zero.
    sample = data[:2000]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        odd_zeros = sample[1::2].count(0)
        even_zeros = sample[0::2].count(0)
        return _replacing(data, "utf-16-le" if odd_zeros > even_zeros else "utf-16-be")
    declared = _declared_charset(content_type, data[:2048])
    candidates = [declared] if declared else []
    candidates += ["utf-8", "cp1252"]
    expected = _LABELS.get(candidates[0], candidates[0])
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if encoding == candidates[0]:
            return text, None
        return text, GUESSED_ENCODING.format(expected=expected, used=_LABELS[encoding])
    return data.decode("latin-1"), GUESSED_ENCODING.format(expected=expected, used="Latin-1")


_LABELS = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}


def _replacing(data: bytes, encoding: str) -> tuple[str, str | None]:
    """Decode a Unicode encoding named by its BOM or byte pattern; flag invalid sequences."""
    text = data.decode(encoding, errors="replace")
    if "\ufffd" in text and "\ufffd" not in data.decode(encoding, errors="ignore"):
        label = encoding.upper().replace("-SIG", "").replace("-LE", "").replace("-BE", "")
        return text, f"text is not valid {label}: unreadable characters replaced"
    return text, None


# --- HTML ------------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header"),
        *("footer", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "title"),
        *("dt", "dd", "paragraph", "item", "list", "caption", "component", "content"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


_BLANK_RUNS = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*")
_SPACE_RUNS = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML or XML document: no tags, scripts or styles; entities decoded."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    text = _SPACE_RUNS.sub(" ", "".join(parser.parts))
    return _BLANK_RUNS.sub("\n", text).strip()


# --- RTF -------------------------------------------------------------------------------------

_RTF_TOKEN = re.compile(
    r"\\([a-z]{1,32})(-?\d{1,10})?[ ]?|\\'([0-9a-fA-F]{2})|\\([^a-z])|([{}])|[\r\n]+|(.)",
    re.DOTALL,  # control words are lower case (RTF spec), so \parBrace reads as \par + "Brace"
)
# Groups whose content is not document text.
_RTF_DESTINATIONS = frozenset(
    {
        *("fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer"),
        *("headerl", "headerr", "headerf", "footerl", "footerr", "footerf", "themedata"),
        *("colorschememapping", "latentstyles", "datastore", "xmlnstbl", "listtable"),
        *("listoverridetable", "rsidtbl", "generator", "filetbl", "revtbl", "fldinst"),
        *("author", "operator", "title", "subject", "keywords", "comment", "doccomm"),
        *("bkmkstart", "bkmkend", "field_inst", "shppict", "nonshppict", "private"),
    }
)
_RTF_SPECIAL = {
    "par": "\n",
    "sect": "\n\n",
    "page": "\n\n",
    "line": "\n",
    "row": "\n",
    "cell": " ",
    "tab": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
}
_ANSICPG = re.compile(rb"\\ansicpg(\d+)")


def rtf_to_text(data: bytes) -> str:
    """Plain text of an RTF document: a small stripper for control words and groups."""
    m = _ANSICPG.search(data[:4096])
    codepage = f"cp{int(m.group(1))}" if m else "cp1252"
    try:
        codecs.lookup(codepage)
    except LookupError:
        codepage = "cp1252"
    source = data.decode("latin-1")  # RTF is 7-bit; \'hh escapes carry the 8-bit bytes
    stack: list[tuple[int, bool]] = []
    ignorable = False
    uc_skip = 1  # characters that follow \uN as its fallback, to be skipped
    skip = 0
    out: list[str] = []
    pending: bytearray = bytearray()  # \'hh bytes decoded together (multi-byte codepages)

    def flush() -> None:
        if pending:
            out.append(pending.decode(codepage, errors="replace"))
            pending.clear()

    for word, arg, hexcode, symbol, brace, char in _RTF_TOKEN.findall(source):
        if hexcode:
            if skip:
                skip -= 1
            elif not ignorable:
                pending.append(int(hexcode, 16))
            continue
        flush()
        if brace:
            skip = 0
            if brace == "{":
                stack.append((uc_skip, ignorable))
            elif stack:
                uc_skip, ignorable = stack.pop()
        elif symbol:
            skip = 0
            if symbol == "*":
                ignorable = True
            elif ignorable:
                pass
            elif symbol in "\\{}":
                out.append(symbol)
            elif symbol == "~":
                out.append("\u00a0")
            elif symbol == "_":
                out.append("-")
        elif word:
            skip = 0
            lowered = word.lower()
            if lowered in _RTF_DESTINATIONS:
                ignorable = True
            elif ignorable:
                pass
            elif lowered in _RTF_SPECIAL:
                out.append(_RTF_SPECIAL[lowered])
            elif lowered == "uc" and arg:
                uc_skip = int(arg)
            elif lowered == "u" and arg:
                code = int(arg)
                out.append(chr(code + 0x10000 if code < 0 else code))
                skip = uc_skip
        elif char:
            if skip:
                skip -= 1
            elif not ignorable:
                out.append(char)
    flush()
    text = _SPACE_RUNS.sub(" ", "".join(out))
    return _BLANK_RUNS.sub("\n", text).strip()
