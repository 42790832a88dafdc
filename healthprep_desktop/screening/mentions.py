"""What the sentence around a keyword hit says: a test done, or only planned, and when.

A keyword hit in a document is evidence that a screening was *done* only when its sentence
says so. Referral letters, orders and scheduling notes name the test too ("Referred to
gastroenterology for screening colonoscopy"; "FIT kit ordered"; "mammogram scheduled for
May"), yet nothing was performed, and counting them would mark a screening complete that is
still due. The keyword matcher already drops negated mentions ("declined", "not done"); this
module recognises mentions of intent, which are not negations.

A sentence may also state when the test was done: an outside-records summary filed this year
that says "Colonoscopy 2016-12-06: normal" reports a colonoscopy of 2016, not of the filing
date. ``stated_date`` reads that date (ISO, US numeric, or month-name forms) so the engine can
date the evidence by it instead of by the document.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

# Cues that a sentence is about a test to come, not one done. Whole words, lower case.
_INTENT = re.compile(
    r"\b(?:"
    r"refer(?:s|red|ral|rals|ring)?"
    r"|(?:re-?)?schedul(?:e|ed|es|ing)"
    r"|order(?:s|ed|ing)?"
    r"|requisition"
    r"|will\s+(?:call|schedule|book|arrange|return|come)"
    r"|to\s+be\s+(?:scheduled|done|performed|arranged|booked)"
    r"|not\s+yet"
    r"|(?:has|have)\s+not\s+been"
    r"|pending"
    r"|awaiting"
    r")\b"
)
# Sentence ends: a full stop, question or exclamation mark, semicolon or line break.
_BOUNDARY = re.compile(r"[.!?;\n]")

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = re.compile(
    r"(?P<iso>\b(?P<iy>\d{4})[-/](?P<im>\d{1,2})[-/](?P<id>\d{1,2})\b)"
    r"|(?P<us>\b(?P<um>\d{1,2})/(?P<ud>\d{1,2})/(?P<uy>\d{4})\b)"
    rf"|(?P<mdy>\b(?P<mm>{_MONTH_WORD})\.?\s+(?P<md>\d{{1,2}}),?\s+(?P<my>\d{{4}})\b)"
    rf"|(?P<dmy>\b(?P<dd>\d{{1,2}})\s+(?P<dm>{_MONTH_WORD})\.?,?\s+(?P<dy>\d{{4}})\b)"
    rf"|(?P<my2>\b(?P<ym>{_MONTH_WORD})\.?,?\s+(?P<yy>\d{{4}})\b)",
    re.IGNORECASE,
)
# A date right after these words is someone's birth date, not the test's.
_BIRTH = re.compile(r"(?:dob|d\.o\.b|birth|born)\W{0,3}$", re.IGNORECASE)


def sentence_bounds(text: str, start: int) -> tuple[int, int]:
    """[lo, hi) of the sentence (or line) of ``text`` holding the character at ``start``."""
    if not 0 <= start < len(text):
        return start, start
    lo = 0
    for m in _BOUNDARY.finditer(text, 0, start):
        if _ends_sentence(text, m.start()):
            lo = m.end()
    hi = len(text)
    for m in _BOUNDARY.finditer(text, start):
        if _ends_sentence(text, m.start()):
            hi = m.start()
            break
    return lo, hi


def sentence_at(text: str, start: int) -> str:
    """The sentence (or line) of ``text`` holding the character at ``start``."""
    lo, hi = sentence_bounds(text, start)
    return text[lo:hi]


def _ends_sentence(text: str, i: int) -> bool:
    """A dot between digits ("7.2", "E11.9") or after a month abbreviation is no sentence end."""
    if text[i] != ".":
        return True
    if 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
        return False
    word = re.search(r"([A-Za-z]+)$", text[max(0, i - 4) : i])
    return not (word and word.group(1).lower() in _MONTHS and len(word.group(1)) == 3)


def reports_intent(sentence: str) -> bool:
    """True when the sentence speaks of a referral, an order, a booking or a pending test."""
    return _INTENT.search(sentence.lower()) is not None


def stated_dates(sentence: str) -> list[date]:
    """Every calendar date the sentence states, in order (birth dates and impossible dates
    skipped). A month and year ("March 2019") stands for the month's last day, as a FHIR
    partial date does in the engine."""
    return [day for _, day in _dates_at(sentence)]


def date_of_mention(sentence: str, offset: int, *, not_after: date | None = None) -> date | None:
    """The date the sentence gives the test mentioned at ``offset``: the first date after the
    mention ("Colonoscopy 2016-12-06: normal"), else the last one before it ("On 2019-04-02
    colonoscopy ..."). Dates after ``not_after`` (the document's own date) are plans
    ("repeat 2031-03-08"), never the test's."""
    found = [
        (pos, day) for pos, day in _dates_at(sentence) if not_after is None or day <= not_after
    ]
    after = [day for pos, day in found if pos >= offset]
    if after:
        return after[0]
    before = [day for pos, day in found if pos < offset]
    return before[-1] if before else None


def _dates_at(sentence: str) -> list[tuple[int, date]]:
    out: list[tuple[int, date]] = []
    for m in _DATES.finditer(sentence):
        if _BIRTH.search(sentence[: m.start()]):
            continue
        try:
            if m.group("iso"):
                day = date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
            elif m.group("us"):
                day = date(int(m.group("uy")), int(m.group("um")), int(m.group("ud")))
            elif m.group("mdy"):
                month = _MONTHS[m.group("mm").lower()]
                day = date(int(m.group("my")), month, int(m.group("md")))
            elif m.group("dmy"):
                month = _MONTHS[m.group("dm").lower()]
                day = date(int(m.group("dy")), month, int(m.group("dd")))
            else:
                year, month = int(m.group("yy")), _MONTHS[m.group("ym").lower()]
                day = date(year, month, calendar.monthrange(year, month)[1])
        except ValueError:
            continue  # "2019-13-40": an OCR slip, not a date
        if day.year >= 1900:
            out.append((m.start(), day))
    return out


__all__ = [
    "date_of_mention",
    "reports_intent",
    "sentence_at",
    "sentence_bounds",
    "stated_dates",
]
