"""Properties of matching over generated demographics (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from healthprep_desktop.sources.matching import Thresholds, score_pair
from healthprep_desktop.sources.model import Outcome
from tests.sources.patients import demo

NAMES = st.sampled_from(["Okafor", "Smith", "Garcia-Lopez", "O'Brien", "Nguyen", "Lee"])
GIVENS = st.sampled_from(["Ngozi", "William", "Bill", "Mary", "José", "Jo"])
DATES = st.sampled_from(["1968-04-09", "1968-09-04", "1990-01-01", None])
SEX = st.sampled_from(["female", "male", None])
LOOSE = Thresholds(upper=-1000, lower=-1000)


@settings(max_examples=300, deadline=None)
@given(NAMES, GIVENS, NAMES, GIVENS, SEX, SEX, DATES)
def test_without_birth_date_phone_or_postal_agreement_nothing_links(
    family_a: str, given_a: str, family_b: str, given_b: str, sex_a: str | None,
    sex_b: str | None, birth_b: str | None,
) -> None:  # fmt: skip
    # The clinic record has no birth date, phone or postal code: only names and sex can agree.
    local = demo("c", family=family_a, given=given_a, gender=sex_a, birth=None, phone=None,
                 postal=None)  # fmt: skip
    remote = demo("r", family=family_b, given=given_b, gender=sex_b, birth=birth_b)
    assert score_pair(local, remote, "h", thresholds=LOOSE).outcome == Outcome.NO_LINK


@settings(max_examples=300, deadline=None)
@given(NAMES, GIVENS, DATES, SEX, NAMES, GIVENS, DATES, SEX)
def test_score_is_symmetric_and_auto_link_needs_the_exact_birth_date(
    family_a: str, given_a: str, birth_a: str | None, sex_a: str | None,
    family_b: str, given_b: str, birth_b: str | None, sex_b: str | None,
) -> None:  # fmt: skip
    a = demo("a", family=family_a, given=given_a, birth=birth_a, gender=sex_a)
    b = demo("b", family=family_b, given=given_b, birth=birth_b, gender=sex_b)
    ab, ba = score_pair(a, b, "h"), score_pair(b, a, "h")
    assert ab.score == ba.score and ab.outcome == ba.outcome
    if ab.outcome == Outcome.AUTO_LINK:
        assert birth_a is not None and birth_a == birth_b
