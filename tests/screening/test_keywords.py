"""OCR-tolerant keyword matching: tolerance table, word boundaries, title weight, negation."""

from __future__ import annotations

import random
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthprep_desktop.screening.keywords import (
    BODY_WEIGHT,
    NEGATED_CAP,
    SUBSTITUTION_PENALTY,
    TITLE_WEIGHT,
    KeywordMatch,
    find_keyword_matches,
)
from healthprep_desktop.screening.record import DocumentText, TextMethod


def doc(text: str, title: str = "") -> DocumentText:
    return DocumentText(
        "DocumentReference/d1", title, None, "text/plain", "0" * 64, text, TextMethod.PLAIN
    )


def matches(text: str, keyword: str, **kwargs: object) -> list[KeywordMatch]:
    return find_keyword_matches(doc(text), [keyword], **kwargs)  # type: ignore[arg-type]


EXACT_BODY = TITLE_WEIGHT * BODY_WEIGHT
ONE_SLIP_BODY = (1 - SUBSTITUTION_PENALTY) * BODY_WEIGHT


@pytest.mark.parametrize(
    ("text", "keyword", "matched", "confidence"),
    [
        ("Hemoglobin A1c 7.2 %", "A1c", "A1c", EXACT_BODY),
        ("Hemoglobin A1C 7.2 %", "A1c", "A1C", EXACT_BODY),  # case is free
        ("Hemoglobin Alc 7.2 %", "A1c", "Alc", ONE_SLIP_BODY),
        ("Hemoglobin AIc 7.2 %", "A1c", "AIc", ONE_SLIP_BODY),
        ("COLONOSCOPY performed", "colonoscopy", "COLONOSCOPY", EXACT_BODY),
        ("co1onoscopy performed", "colonoscopy", "co1onoscopy", ONE_SLIP_BODY),
        ("c0lonoscopy performed", "colonoscopy", "c0lonoscopy", ONE_SLIP_BODY),
        ("colonoscopies x2", "colonoscopy", "colonoscopies", EXACT_BODY),  # plural is free
        ("rnammogram bilateral", "mammogram", "rnammogram", ONE_SLIP_BODY),
        ("eye exarn dilated", "eye exam", "eye exarn", ONE_SLIP_BODY),
        ("cliabetic retinopathy", "diabetic retinopathy", "cliabetic retinopathy", ONE_SLIP_BODY),
        ("Diabetic retinopathy", "cliabetic retinopathy", "Diabetic retinopathy", ONE_SLIP_BODY),
        ("Dexa scan", "DXA", None, None),  # a different word, not an OCR slip
        ("Bone 5can", "bone scan", "Bone 5can", ONE_SLIP_BODY),
        ("HIV-8 antibody", "HIV-B", "HIV-8", ONE_SLIP_BODY),
        (
            "flexible\n  sigmoidoscopy",
            "flexible sigmoidoscopy",
            "flexible\n  sigmoidoscopy",
            EXACT_BODY,
        ),
        ("flexible-sigmoidoscopy", "flexible sigmoidoscopy", "flexible-sigmoidoscopy", EXACT_BODY),
        ("xray of chest", "x-ray", "xray", EXACT_BODY),
        ("depression screening (PHQ9)", "PHQ-9", "PHQ9", EXACT_BODY),
        ("depression screening (PHQ 9)", "PHQ-9", "PHQ 9", EXACT_BODY),
        ("c0l0n0sc0py", "colonoscopy", None, None),  # four slips: beyond the allowance
    ],
)
def test_tolerance_table(
    text: str, keyword: str, matched: str | None, confidence: float | None
) -> None:
    found = matches(text, keyword, threshold=0.0)
    if matched is None:
        assert found == []
        return
    assert [m.matched for m in found] == [matched]
    assert found[0].confidence == pytest.approx(confidence)
    assert text[found[0].start :].startswith(matched)


def test_word_form_variant_costs_a_little() -> None:
    (hit,) = matches("screening mammography bilateral", "mammogram")
    assert hit.matched == "mammography"
    assert ONE_SLIP_BODY < hit.confidence < EXACT_BODY
    (hit,) = matches("screening mammogram bilateral", "mammography")
    assert hit.matched == "mammogram"


def test_line_broken_hyphenation_is_joined_and_offsets_point_at_the_original() -> None:
    text = "History: s/p colono-\n   scopy in 2019 with polyps."
    (hit,) = matches(text, "colonoscopy")
    assert hit.confidence == pytest.approx(EXACT_BODY)
    assert hit.start == text.index("colono-")
    assert hit.matched == "colono-\n   scopy"
    assert "\n" not in hit.snippet and "colono- scopy in 2019" in hit.snippet


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("a woolly mammoth skeleton", "mammo"),
        ("mammogram", "mammo"),  # whole words: the abbreviation is its own keyword
        ("HbA1c 6.1", "A1c"),
        ("precolonoscopy prep", "colonoscopy"),
        ("colonoscopyx", "colonoscopy"),
        ("the FITNESS plan", "FIT"),
        ("HIVE", "HIV"),
    ],
)
def test_word_boundaries(text: str, keyword: str) -> None:
    assert matches(text, keyword, threshold=0.0) == []


def test_whole_word_inside_punctuation_matches() -> None:
    assert [m.matched for m in matches("(mammo), FIT/FOBT; A1c:", "mammo")] == ["mammo"]
    assert [m.matched for m in matches("(mammo), FIT/FOBT; A1c:", "FIT")] == ["FIT"]
    assert [m.matched for m in matches("(mammo), FIT/FOBT; A1c:", "A1c")] == ["A1c"]


def test_title_hit_counts_more_than_body_hit() -> None:
    d = doc("Procedure: colonoscopy to the cecum.", title="Colonoscopy report")
    found = find_keyword_matches(d, ["colonoscopy"])
    assert [(m.in_title, m.start) for m in found] == [(True, 0), (False, 11)]
    title, body = found
    assert title.confidence == pytest.approx(TITLE_WEIGHT)
    assert body.confidence == pytest.approx(BODY_WEIGHT)
    assert title.confidence > body.confidence
    assert title.snippet == "Colonoscopy report"


def test_two_slips_pass_in_the_title_but_not_in_the_body() -> None:
    garbled = "co1onoscopv"  # not a fold (v/y): one slip is "1", the other is no match
    assert matches(garbled, "colonoscopy", threshold=0.0) == []
    garbled = "c0l0noscopy"  # two folds
    assert matches(garbled, "colonoscopy") == []
    assert [m.in_title for m in find_keyword_matches(doc("", title=garbled), ["colonoscopy"])] == [
        True
    ]


def test_threshold_filters() -> None:
    assert matches("Hemoglobin Alc 7.2", "A1c", threshold=0.85) == []
    assert len(matches("Hemoglobin Alc 7.2", "A1c", threshold=0.8)) == 1


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Patient has had no colonoscopy to date.", "no"),
        ("Patient declined mammogram today.", "declined"),
        ("She refused the screening mammogram.", "refused"),
        ("Never had a colonoscopy.", "never"),
        ("Colonoscopy: patient refused.", "refused"),
        ("Colonoscopy not done this year.", "not done"),
        ("Due for colonoscopy.", "due for"),
    ],
)
def test_negated_mentions_are_flagged_and_dropped_by_default(text: str, cue: str) -> None:
    keyword = "mammogram" if "mammogram" in text else "colonoscopy"
    assert matches(text, keyword) == []
    (hit,) = matches(text, keyword, include_negated=True)
    assert hit.negated and hit.cue == cue
    assert hit.confidence <= NEGATED_CAP


@pytest.mark.parametrize(
    "text",
    [
        "No polyps found on colonoscopy.",
        "Colonoscopy negative for malignancy.",
        "No complaints. Colonoscopy 2019 normal.",
        "Colonoscopy normal, repeat in 10 years, declined flu shot.",
        "Screening mammogram: BI-RADS 1, negative.",
    ],
)
def test_results_and_other_clauses_are_not_negations(text: str) -> None:
    keyword = "mammogram" if "mammogram" in text else "colonoscopy"
    (hit,) = matches(text, keyword)
    assert not hit.negated


def test_snippet_is_about_sixty_characters_each_side_and_collapsed() -> None:
    before = "word " * 30
    after = " tail" * 30
    text = before + "colonoscopy\n\n\twas done" + after
    (hit,) = matches(text, "colonoscopy")
    assert "colonoscopy was done" in hit.snippet
    assert 100 <= len(hit.snippet) <= 60 * 2 + len("colonoscopy")
    assert "  " not in hit.snippet


def test_several_keywords_and_duplicates() -> None:
    d = doc("Fecal immunochemical test (FIT) negative. Cologuard 2020.")
    found = find_keyword_matches(d, ["FIT", "fecal immunochemical", "Cologuard", "fit", ""])
    assert sorted(m.keyword for m in found) == ["Cologuard", "FIT", "fecal immunochemical"]


def test_unicode_text_keeps_offsets() -> None:
    text = "İİİ Ärztlicher Bericht: Koloskopie und colonoscopy"
    (hit,) = matches(text, "colonoscopy")
    assert text[hit.start : hit.start + len("colonoscopy")] == "colonoscopy"


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet=string.ascii_letters + "0123456789.,;", max_size=12), max_size=20
    ),
    at=st.integers(min_value=0, max_value=20),
    keyword=st.sampled_from(["colonoscopy", "mammogram", "A1c", "pap smear", "DXA"]),
)
def test_an_inserted_keyword_is_always_found_where_it_was_put(
    words: list[str], at: int, keyword: str
) -> None:
    at = min(at, len(words))
    prefix = " ".join(words[:at])
    text = (prefix + " " if prefix else "") + keyword + " " + " ".join(words[at:])
    found = find_keyword_matches(doc(text), [keyword], threshold=0.0, include_negated=True)
    assert len(prefix) + (1 if prefix else 0) in {m.start for m in found}


def test_one_megabyte_against_fifty_keywords_is_fast() -> None:
    # Not a timed benchmark (bench/ has that): a generous bound that catches a pathological
    # (quadratic or backtracking) regression on a shared machine.
    rng = random.Random(5)
    vocabulary = [
        "patient",
        "seen",
        "today",
        "follow",
        "up",
        "hypertension",
        "diabetes",
        "stable",
        "reviewed",
        "plan",
    ]
    text = " ".join(rng.choice(vocabulary) for _ in range(120_000))[:1_000_000]
    keywords = [f"{w}{i}" for i, w in enumerate(vocabulary * 5)][:48]
    keywords += ["colonoscopy", "A1c"]
    started = time.perf_counter()
    find_keyword_matches(doc(text + " colonoscopy"), keywords)
    assert time.perf_counter() - started < 2.0
