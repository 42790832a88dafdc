"""Matching rules, each with the boundary cases that bite."""

from __future__ import annotations

import pytest

from healthprep_desktop.sources.matching import (
    AMBIGUITY_MARGIN,
    DEFAULT_THRESHOLDS,
    WEIGHTS,
    Thresholds,
    is_typo,
    match_patient,
    score_pair,
    search_parameters,
)
from healthprep_desktop.sources.model import Level, Outcome
from tests.sources.patients import demo

CLINIC = demo("clinic-1")


def outcome(**fields: object) -> Outcome:
    return score_pair(CLINIC, demo("remote", **fields), "hosp").outcome  # type: ignore[arg-type]


def test_identical_demographics_auto_link() -> None:
    found = score_pair(CLINIC, demo("remote"), "hosp")
    assert found.outcome == Outcome.AUTO_LINK
    # Every field at its best, except the previous address, which only a move brings in.
    best = sum(max(w.values()) for f, w in WEIGHTS.items() if f != "previous_address")
    assert found.score == pytest.approx(best)


@pytest.mark.parametrize(
    "fields",
    [
        {"birth": None, "gender": None, "postal": None, "phone": None},
        {"birth": None, "postal": None, "phone": None},  # names and sex: sex is no evidence
        {"birth": "1990-01-01", "postal": "62799", "phone": None},  # all else differs
    ],
)
def test_names_alone_never_link_whatever_the_thresholds(fields: dict[str, object]) -> None:
    local = demo("clinic-1", **{k: v for k, v in fields.items() if v is None})
    remote = demo("remote", **fields)
    found = score_pair(local, remote, "hosp", thresholds=Thresholds(upper=-100, lower=-100))
    assert found.outcome == Outcome.NO_LINK
    assert "names alone" in found.reason


def test_names_and_postal_code_without_birth_date_at_most_ask_a_person() -> None:
    local = demo("clinic-1", birth=None, phone=None)
    remote = demo("remote", birth=None, phone=None)
    loose = Thresholds(upper=-100, lower=-100)
    assert score_pair(local, remote, "hosp", thresholds=loose).outcome == Outcome.CONFIRM


def test_threshold_edges_are_inclusive_at_the_bottom_of_each_band() -> None:
    remote = demo("remote", phone=None)  # agreeing everywhere else: passes every rule
    score = score_pair(CLINIC, remote, "hosp").score
    at_upper = Thresholds(upper=score, lower=score - 5)
    assert score_pair(CLINIC, remote, "hosp", thresholds=at_upper).outcome == Outcome.AUTO_LINK
    just_below_upper = Thresholds(upper=score + 0.01, lower=score)
    found = score_pair(CLINIC, remote, "hosp", thresholds=just_below_upper)
    assert found.outcome == Outcome.CONFIRM
    # (Without the middle initial: given name, middle initial and birth date together reach a
    # person whatever the score; test_matching_households.)
    plain = demo("remote", phone=None, middle=None)
    score = score_pair(CLINIC, plain, "hosp").score
    at_lower = Thresholds(upper=score + 1, lower=score)
    assert score_pair(CLINIC, plain, "hosp", thresholds=at_lower).outcome == Outcome.CONFIRM
    just_below_lower = Thresholds(upper=score + 1, lower=score + 0.01)
    found = score_pair(CLINIC, plain, "hosp", thresholds=just_below_lower)
    assert found.outcome == Outcome.NO_LINK


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="lower threshold"):
        Thresholds(upper=10, lower=11)


def test_twin_is_never_auto_linked() -> None:
    # Same family, birth date, sex, address and phone: only the given name differs.
    twin = score_pair(CLINIC, demo("twin", given="Chidinma"), "hosp")
    assert twin.score >= DEFAULT_THRESHOLDS.upper  # the score alone would have linked
    assert twin.outcome == Outcome.CONFIRM
    assert "twin" in twin.reason


def test_true_copy_beside_a_twin_still_auto_links_when_far_ahead() -> None:
    found = match_patient(CLINIC, [demo("twin", given="Chidinma"), demo("copy")], "hosp")
    assert [(c.remote_id, c.outcome) for c in found] == [
        ("copy", Outcome.AUTO_LINK),
        ("twin", Outcome.CONFIRM),
    ]


def test_close_rivals_both_go_to_confirmation() -> None:
    copy = demo("copy", phone=None)  # scores less than a full copy
    # A second record of maybe the same person (a duplicate with a typo), not a relative.
    rival = demo("dup", given="Ngozy", postal="62799")
    assert abs(score_pair(CLINIC, copy, "h").score - score_pair(CLINIC, rival, "h").score) < (
        AMBIGUITY_MARGIN
    )
    found = match_patient(CLINIC, [rival, copy], "hosp")
    assert {c.outcome for c in found} == {Outcome.CONFIRM}
    assert "look alike" in found[0].reason


def test_same_name_and_birth_date_elsewhere_is_only_a_possible_match() -> None:
    assert outcome(postal="62799", phone="(309) 555-0199") == Outcome.CONFIRM
    # Name, birth date and sex with nothing else known: still a person's call.
    assert outcome(postal=None, phone=None) == Outcome.CONFIRM


def test_same_name_at_same_address_other_birth_year_is_not_auto_linked() -> None:
    # A parent and child of one name (Jr/Sr): month and day agree, the year does not.
    assert outcome(birth="1941-04-09") != Outcome.AUTO_LINK


@pytest.mark.parametrize(
    "fields",
    [
        {"given": "Ngozy"},  # typo
        {"family": "Okafro"},  # typo
        {"family": "OKAFOR", "given": "NGOZI"},
        {"family": "Adams", "old_family": "Okafor"},  # married, former name kept
        {"family": "Okafor-Adams"},  # married, hyphenated
        {"phone": None},
        {"phone": "217.555.0142", "postal": "62701-4410"},
    ],
)
def test_realistic_differences_still_auto_link(fields: dict[str, object]) -> None:
    assert outcome(**fields) == Outcome.AUTO_LINK


def test_nickname_auto_links() -> None:
    local = demo("c", family="Smith", given="William", gender="male")
    remote = demo("r", family="Smith", given="Bill", gender="male")
    found = score_pair(local, remote, "hosp")
    assert found.outcome == Outcome.AUTO_LINK
    assert dict((f.field, f.level) for f in found.fields)["given"] == Level.ALIAS


def test_married_name_without_the_former_one_needs_confirmation() -> None:
    found = score_pair(CLINIC, demo("r", family="Adams"), "hosp")
    assert found.outcome == Outcome.CONFIRM


def test_transposed_birth_day_and_month_needs_confirmation() -> None:
    found = score_pair(CLINIC, demo("r", birth="1968-09-04"), "hosp")
    assert dict((f.field, f.level) for f in found.fields)["birth_date"] == Level.TRANSPOSED
    assert found.outcome == Outcome.CONFIRM


def test_missing_birth_date_never_auto_links() -> None:
    local = demo("c", birth=None)
    assert score_pair(local, demo("r"), "hosp").outcome == Outcome.CONFIRM


def test_shared_identifier_links_despite_a_name_typo_and_missing_fields() -> None:
    mrn = ("urn:clinic:mrn", "1001")
    local = demo("c", identifiers=[mrn])
    remote = demo("r", given="Ngozy", phone=None, postal=None, identifiers=[mrn, ("urn:h", "9")])
    found = score_pair(local, remote, "hosp")
    assert found.outcome == Outcome.AUTO_LINK
    assert found.shared_identifier == mrn


def test_shared_identifier_with_contradicting_demographics_goes_to_a_person() -> None:
    mrn = ("urn:clinic:mrn", "1001")
    local = demo("c", identifiers=[mrn])
    stranger = demo(
        "r", family="Baker", given="Tom", birth="1990-02-02", gender="male", postal="62799",
        phone=None, identifiers=[mrn],
    )  # fmt: skip
    assert score_pair(local, stranger, "hosp").outcome == Outcome.CONFIRM


def test_same_identifier_value_in_another_system_is_not_shared() -> None:
    unknown = {"birth": None, "phone": None, "postal": None}
    local = demo("c", identifiers=[("urn:a", "1001")], **unknown)
    remote = demo("r", identifiers=[("urn:b", "1001")], **unknown)
    assert score_pair(local, remote, "hosp").outcome == Outcome.NO_LINK


def test_enterprise_identifier_preferred_over_other_shared_ids() -> None:
    ids = [("urn:aaa", "1"), ("urn:mpi", "E-7")]
    found = score_pair(demo("c", identifiers=ids), demo("r", identifiers=ids), "h",
                       enterprise_systems=["urn:mpi"])  # fmt: skip
    assert found.shared_identifier == ("urn:mpi", "E-7")


def test_rejected_pairs_are_never_proposed_again() -> None:
    assert match_patient(CLINIC, [demo("r")], "hosp", rejected=["r"]) == []


def test_no_link_candidates_are_not_returned() -> None:
    stranger = demo("s", family="Baker", given="Tom", birth="1990-02-02", phone=None)
    assert match_patient(CLINIC, [stranger], "hosp") == []


def test_search_parameters_ask_identifier_birth_dates_and_names() -> None:
    local = demo("c", identifiers=[("urn:mrn", "7")])
    assert search_parameters(local) == [
        {"identifier": "urn:mrn|7"},
        {"birthdate": "1968-04-09", "name": "Okafor"},  # US Core birthdate+name (SHALL)
        {"birthdate": "1968-04-09", "name": "Ngozi"},
        {"birthdate": "1968-04-09"},  # where a server takes a birth date alone
        {"birthdate": "1968-09-04", "name": "Okafor"},  # the transposed day/month
        {"family": "Okafor", "given": "Ngozi"},
        {"phone": "2175550142"},
    ]


@pytest.mark.parametrize(
    ("a", "b", "typo"),
    [
        ("carter", "carrer", True),  # one substitution in a long name
        ("david", "duvid", True),
        ("joyce", "joyec", True),  # neighbours swapped
        ("ian", "ina", True),  # a swap is a typo even in a short name
        ("jon", "jan", False),  # in a short name one substitution is another name
        ("joe", "jie", False),
        ("smith", "smyth", True),
        ("maria", "marta", True),  # a real risk, which is why a typo weighs little
        ("garcia", "gomez", False),
    ],
)
def test_typo_rule(a: str, b: str, typo: bool) -> None:
    assert is_typo(a, b) is typo
