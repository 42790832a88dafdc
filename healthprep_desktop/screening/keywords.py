"""OCR-tolerant keyword matching over extracted document text.

How a keyword matches (every rule here is deliberate; tests/screening/test_keywords.py pins them):

- **Folding.** Text and keyword are lower-cased and the characters OCR confuses are folded to
  one representative (``0->o``, ``1 i | ->l``, ``5->s``, ``8->b``); the two-letter confusions
  ``rn``/``m`` and ``cl``/``d`` become alternatives in the pattern. So "A1c", "Alc" and "AIC"
  all match the keyword "A1c", and "co1onoscopy" matches "colonoscopy".
- **Confidence** starts at 1.0 and loses ``SUBSTITUTION_PENALTY`` per character that only
  matched through folding (case never counts), ``SUFFIX_PENALTY`` when the word form differs
  (mammogram vs mammography), then is multiplied by the location weight: ``TITLE_WEIGHT`` (1.0)
  for a hit in the document title, ``BODY_WEIGHT`` (0.9) for a hit in the body. With the default
  threshold of 0.8 an exact body hit (0.9) and a body hit with one OCR slip (0.81) pass, a body
  hit with two slips (0.72) does not, a title hit with two slips (0.8) does. A hit needing more
  than ``1 + len(keyword) // 4`` substitutions is never reported: short keywords ("A1c") get
  one, "colonoscopy" gets three.
- **Layout.** Inside a phrase any run of whitespace, hyphens or slashes (up to 8, line breaks
  included) separates words, and may be missing where OCR glued two words together. A word
  hyphenated across a line break ("colono-\\nscopy") and soft hyphens are joined first.
- **Word forms.** The keyword's last word may carry a plural or a related suffix: a family of
  endings (-graphy/-gram/-graphic, -scopy/-scope/-scopic, -ectomy/-ectomies, -ology/-ologic, ...)
  or a plain -s/-es/-ies.
- **Whole words.** A hit must not be preceded or followed by a letter or digit: "mammo" does not
  match inside "mammoth" (nor inside "mammogram": add that keyword if you mean it), and "A1c"
  does not match inside "HbA1c" (list "HbA1c" too).
- **Negation** (cheap, NegEx-style): a cue a few words before the hit ("no", "never",
  "declined", "refused", "denies", "due for", ...) or just after it ("declined", "not done",
  "deferred", ...) within the same clause marks the hit ``negated`` and caps its confidence at
  ``NEGATED_CAP`` (0.4). A negated mention is evidence that the screening was *not* done, so it
  must never satisfy a rule at a sane threshold; yet it is worth keeping (Epic and DEQM record
  "patient refused"), so ``include_negated=True`` returns such hits regardless of the threshold.
  Words that close the window ("on", "during", "showed", "found", ...) stop the search, so
  "no polyps found on colonoscopy" is not negated, and a result ("mammogram negative") is
  never a negation.

Patterns are compiled once per keyword tuple (LRU cache); the text is folded once per call.
Matching 1 MB of text against 50 keywords takes a few tens of milliseconds.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from healthprep_desktop.screening.record import DocumentText

SUBSTITUTION_PENALTY = 0.1
SUFFIX_PENALTY = 0.02
TITLE_WEIGHT = 1.0
BODY_WEIGHT = 0.9
NEGATED_CAP = 0.4
SNIPPET_RADIUS = 60
MAX_MATCHES_PER_KEYWORD = 20


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    keyword: str  # as given by the caller
    confidence: float  # 0..1, see the module docstring
    in_title: bool
    snippet: str  # about SNIPPET_RADIUS characters either side, whitespace collapsed
    start: int  # offset of the hit in DocumentText.text (or in the title when in_title)
    matched: str = ""  # the text that matched, as written
    negated: bool = False
    cue: str | None = None  # the negation cue found, e.g. "declined"


# --- folding ---------------------------------------------------------------------------------

# Applied after lower(): every OCR-confusable character maps to one representative.
_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "8": "b"})

# Hyphenated line breaks and soft hyphens are removed before matching ("colono-\nscopy").
_JOIN = re.compile(r"(?<=\w)-[ \t]*\r?\n[ \t]*(?=\w)|\u00ad")

_SEPARATOR = r"[\s\-/]{0,8}"

# Families of interchangeable endings, longest first within the search so "-ographies" wins
# over "-ies". A keyword ending with any member matches any member.
_SUFFIX_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("graphy", "graphies", "graphic", "gram", "grams", "graph", "graphs"),
    ("scopy", "scopies", "scopic", "scope", "scopes"),
    ("ectomy", "ectomies"),
    ("ostomy", "ostomies"),
    ("otomy", "otomies"),
    ("ology", "ologies", "ologic", "ological", "ologist", "ologists"),
    ("ization", "izations"),
    ("ation", "ations"),
    ("y", "ies"),
)
_PLURALS = ("", "s", "es")


@dataclass(frozen=True, slots=True)
class _Normalized:
    """One text prepared for matching, with the offset maps back to the original.

    original --(join hyphenated line breaks)--> lower (also lower-cased)
    lower --(fold confusable characters, then "rn"->"m" and "cl"->"d")--> folded
    Folding the two-letter confusions in the text (not in the pattern) keeps every pattern a
    plain literal at its start, which the regex engine scans for an order of magnitude faster.
    """

    original: str
    lower: str
    folded: str
    join_cuts: tuple[int, ...]  # positions in `lower` where removed characters used to be
    join_removed: tuple[int, ...]  # cumulative count of removed characters at each cut
    pair_cuts: tuple[int, ...]  # positions in `folded` of an "m"/"d" that stands for two chars

    def to_lower(self, pos: int) -> int:
        return pos + bisect.bisect_left(self.pair_cuts, pos)

    def to_original(self, pos: int) -> int:
        i = bisect.bisect_right(self.join_cuts, pos)
        return pos + (self.join_removed[i - 1] if i else 0)


_PAIRS = re.compile("rn|cl")


def _fold(lower: str) -> tuple[str, tuple[int, ...]]:
    single = lower.translate(_FOLD)
    if "rn" not in single and "cl" not in single:
        return single, ()
    cuts = tuple(m.start() - i for i, m in enumerate(_PAIRS.finditer(single)))
    return single.replace("rn", "m").replace("cl", "d"), cuts


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (e.g. "İ") grow when lower-cased; keep offsets aligned by leaving them.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _normalize(text: str) -> _Normalized:
    cuts: list[int] = []
    removed: list[int] = []
    joined = text
    if "-" in text or "\u00ad" in text:
        pieces: list[str] = []
        last = 0
        total = 0
        for m in _JOIN.finditer(text):
            pieces.append(text[last : m.start()])
            cuts.append(m.start() - total)
            total += m.end() - m.start()
            removed.append(total)
            last = m.end()
        if pieces:
            pieces.append(text[last:])
            joined = "".join(pieces)
    lower = _lower_same_length(joined)
    folded, pair_cuts = _fold(lower)
    return _Normalized(text, lower, folded, tuple(cuts), tuple(removed), pair_cuts)


# --- patterns --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """One position of a keyword: a character, or a two-way class for m/rn and d/cl."""

    text: str  # lower-cased as written in the keyword ("m", "rn", "d", "cl" or one char)
    kind: str  # "m", "d" or "c"


@dataclass(frozen=True, slots=True)
class _Compiled:
    keyword: str
    pattern: re.Pattern[str]
    prefix: str  # the literal every hit starts with (folded first word): found with str.find
    words: tuple[tuple[_Unit, ...], ...]  # the stem of the last word excludes its suffix
    suffix: str  # the keyword's own ending ("" when none)
    suffixes: tuple[str, ...]  # all accepted endings, lower-cased
    max_substitutions: int


def _units(word: str) -> tuple[_Unit, ...]:
    units: list[_Unit] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in ("rn", "cl"):
            units.append(_Unit(pair, "m" if pair == "rn" else "d"))
            i += 2
        elif word[i] in "md":
            units.append(_Unit(word[i], word[i]))
            i += 1
        else:
            units.append(_Unit(word[i], "c"))
            i += 1
    return tuple(units)


def _unit_literal(unit: _Unit) -> str:
    """The unit as it reads in folded text (where "rn" is already "m" and "cl" is "d")."""
    if unit.kind in ("m", "d"):
        return unit.kind
    return unit.text.translate(_FOLD)


def _unit_regex(unit: _Unit) -> str:
    return re.escape(_unit_literal(unit))


def _split_suffix(word: str) -> tuple[str, str, tuple[str, ...]]:
    for family in _SUFFIX_FAMILIES:
        for ending in sorted(family, key=len, reverse=True):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                return word[: -len(ending)], ending, family
    return word, "", _PLURALS


def _suffix_regex(suffixes: Sequence[str]) -> str:
    # Longest first so the alternation prefers "graphies" over "graph"; the trailing lookahead
    # then demands a word boundary.
    ordered = sorted(suffixes, key=len, reverse=True)
    body = "|".join("".join(_unit_regex(u) for u in _units(s)) for s in ordered if s)
    optional = "" in suffixes
    if not body:
        return ""
    return f"(?:{body}){'?' if optional else ''}"


def _compile_keyword(keyword: str) -> _Compiled | None:
    words = [w for w in re.split(r"[\s\-/]+", _lower_same_length(keyword.strip())) if w]
    if not words:
        return None
    stem, suffix, family = _split_suffix(words[-1])
    unit_words = [_units(w) for w in words[:-1]] + [_units(stem)]
    parts = ["".join(_unit_regex(u) for u in uw) for uw in unit_words]
    body = _SEPARATOR.join(parts) + _suffix_regex(family) + r"(?![^\W_])"
    n_chars = sum(len(w) for w in words)
    return _Compiled(
        keyword=keyword,
        pattern=re.compile(body),
        prefix="".join(_unit_literal(u) for u in unit_words[0]),
        words=tuple(unit_words),
        suffix=suffix,
        suffixes=family,
        max_substitutions=1 + n_chars // 4,
    )


@lru_cache(maxsize=256)
def _compile_all(keywords: tuple[str, ...]) -> tuple[_Compiled, ...]:
    seen: set[str] = set()
    compiled: list[_Compiled] = []
    for keyword in keywords:
        key = keyword.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        c = _compile_keyword(keyword)
        if c is not None:
            compiled.append(c)
    return tuple(compiled)


# --- scoring ---------------------------------------------------------------------------------


def _is_plural(singular: str, ending: str) -> bool:
    if ending in (singular + "s", singular + "es"):
        return True
    return singular.endswith("y") and ending == singular[:-1] + "ies"


def _score(c: _Compiled, lower: str) -> tuple[int, bool]:
    """Substitutions needed and whether the word form differs, for a hit `lower` (as written)."""
    subs = 0
    j = 0
    n = len(lower)
    for index, word in enumerate(c.words):
        if index:
            while j < n and (lower[j].isspace() or lower[j] in "-/"):
                j += 1
        for unit in word:
            if unit.kind == "c":
                subs += lower[j] != unit.text
                j += 1
            else:
                single, double = ("m", "rn") if unit.kind == "m" else ("d", "cl")
                if lower.startswith(double, j) or (
                    unit.kind == "d"
                    and lower[j] == "c"
                    and lower[j + 1 : j + 2].translate(_FOLD) == "l"
                ):
                    subs += unit.text != double or lower[j : j + 2] != double
                    j += 2
                else:
                    subs += unit.text != single
                    j += 1
    ending = lower[j:]
    if ending == c.suffix or _is_plural(c.suffix, ending):
        return subs, False
    if ending in c.suffixes:
        return subs, True
    # The ending itself matched only through folding: count its differing characters.
    best = min(
        (
            sum(a != b for a, b in zip(ending, s, strict=True))
            for s in c.suffixes
            if len(s) == len(ending)
        ),
        default=1,
    )
    return subs + best, ending not in (c.suffix,)


# --- negation --------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_END = re.compile(r"[.;!?\n]\s*\n|[.;!?](?=\s|$)")

_BEFORE_CUES: dict[tuple[str, ...], str] = {
    ("no",): "no",
    ("not",): "not",
    ("never",): "never",
    ("without",): "without",
    ("declined",): "declined",
    ("declines",): "declined",
    ("decline",): "declined",
    ("refused",): "refused",
    ("refuses",): "refused",
    ("refuse",): "refused",
    ("denies",): "denies",
    ("denied",): "denies",
    ("deferred",): "deferred",
    ("defers",): "deferred",
    ("postponed",): "postponed",
    ("due", "for"): "due for",
    ("overdue", "for"): "overdue for",
    ("needs",): "needs",
    ("recommend",): "recommended",
    ("recommended",): "recommended",
}
_AFTER_CUES: dict[tuple[str, ...], str] = {
    ("declined",): "declined",
    ("refused",): "refused",
    ("deferred",): "deferred",
    ("postponed",): "postponed",
    ("cancelled",): "cancelled",
    ("canceled",): "cancelled",
    ("not", "done"): "not done",
    ("not", "performed"): "not performed",
    ("not", "completed"): "not completed",
    ("never", "done"): "never done",
}
# Words that end the window: what follows/precedes them is about something else.
_BEFORE_STOPS = frozenset(
    {
        *("on", "at", "during", "via", "by", "from", "per", "in", "after", "with"),
        *("but", "however", "showed", "shows", "found", "revealed", "and", "or"),
    }
)
_AFTER_STOPS = frozenset(
    {"but", "however", "repeat", "next", "follow", "followup", "recall", "due", "in", "and", "or"}
)
_WINDOW_WORDS = 4
_WINDOW_CHARS = 60


def _negation(lower: str, start: int, end: int) -> str | None:
    before = lower[max(0, start - _WINDOW_CHARS) : start]
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    if ends:
        before = before[ends[-1] :]
    words = _WORD.findall(before)[-_WINDOW_WORDS:]
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _BEFORE_STOPS:
            break
        for cue, label in _BEFORE_CUES.items():
            if tuple(words[i : i + len(cue)]) == cue:
                return label
    after = lower[end : end + _WINDOW_CHARS]
    stop = re.search(r"[.;!?]", after)
    if stop:
        after = after[: stop.start()]
    words = _WORD.findall(after)[:_WINDOW_WORDS]
    for i, word in enumerate(words):
        if word in _AFTER_STOPS:
            break
        for cue, label in _AFTER_CUES.items():
            if tuple(words[i : i + len(cue)]) == cue:
                return label
    return None


# --- matching --------------------------------------------------------------------------------


def _snippet(text: str, start: int, end: int) -> str:
    lo = max(0, start - SNIPPET_RADIUS)
    hi = min(len(text), end + SNIPPET_RADIUS)
    return " ".join(text[lo:hi].split())


def _hits(
    compiled: _Compiled, norm: _Normalized, weight: float, in_title: bool
) -> Iterator[KeywordMatch]:
    folded = norm.folded
    prefix = compiled.prefix
    match = compiled.pattern.match
    pos = 0
    while (i := folded.find(prefix, pos)) >= 0:
        pos = i + 1
        if i and folded[i - 1].isalnum():
            continue  # inside a longer word ("xcolonoscopy", "HbA1c" for "A1c")
        m = match(folded, i)
        if m is None:
            continue
        pos = m.end()
        s, e = norm.to_lower(i), norm.to_lower(m.end())
        written = norm.lower[s:e]
        subs, variant = _score(compiled, written)
        if subs > compiled.max_substitutions:
            continue
        raw = 1.0 - SUBSTITUTION_PENALTY * subs - (SUFFIX_PENALTY if variant else 0.0)
        confidence = max(0.0, raw) * weight
        cue = _negation(norm.lower, s, e)
        if cue is not None:
            confidence = min(confidence, NEGATED_CAP)
        o_start = norm.to_original(s)
        o_end = norm.to_original(e - 1) + 1
        yield KeywordMatch(
            keyword=compiled.keyword,
            confidence=round(confidence, 4),
            in_title=in_title,
            snippet=_snippet(norm.original, o_start, o_end),
            start=o_start,
            matched=norm.original[o_start:o_end],
            negated=cue is not None,
            cue=cue,
        )


def find_keyword_matches(
    doc: DocumentText,
    keywords: Sequence[str],
    *,
    threshold: float = 0.8,
    include_negated: bool = False,
    max_per_keyword: int = MAX_MATCHES_PER_KEYWORD,
) -> list[KeywordMatch]:
    """Every hit of every keyword in the document's title and text at or above `threshold`.

    Negated hits are dropped unless `include_negated` (then they are kept whatever their
    confidence). Each keyword keeps its best `max_per_keyword` hits. The result is ordered by
    confidence (highest first), then title before body, then position.
    """
    compiled = _compile_all(tuple(keywords))
    if not compiled:
        return []
    targets = []
    if doc.title:
        targets.append((_normalize(doc.title), TITLE_WEIGHT, True))
    if doc.text:
        targets.append((_normalize(doc.text), BODY_WEIGHT, False))
    results: list[KeywordMatch] = []
    for c in compiled:
        kept: list[KeywordMatch] = []
        for norm, weight, in_title in targets:
            for hit in _hits(c, norm, weight, in_title):
                if (hit.negated and include_negated) or (
                    hit.confidence >= threshold and not hit.negated
                ):
                    kept.append(hit)
        kept.sort(key=_order)
        results.extend(kept[:max_per_keyword])
    results.sort(key=_order)
    return results


def _order(m: KeywordMatch) -> tuple[float, bool, int]:
    return (-m.confidence, not m.in_title, m.start)
