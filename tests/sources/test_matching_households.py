"""Relatives and movers: household members never make the patient's own record ambiguous, and a
former address held by one source tells a mover from a same-name stranger."""

from __future__ import annotations

import pytest

from healthprep_desktop.sources.addresses import split_addresses, street_line
from healthprep_desktop.sources.matching import (
    DEFAULT_THRESHOLDS,
    WEIGHTS,
    match_patient,
    score_pair,
    search_parameters,
)
from healthprep_desktop.sources.model import Level, Outcome
from tests.sources.patients import demo, patient

CLINIC = demo("clinic-1")


def outcomes(found: list) -> list[tuple[str, Outcome]]:  # type: ignore[type-arg]
    return [(c.remote_id, c.outcome) for c in found]


def test_a_twin_scoring_above_the_patients_own_record_does_not_block_it() -> None:
    copy = demo("copy", phone=None, middle=None)  # the registry dropped phone and middle name
    twin = demo("twin", given="Chidinma")  # shares family, birth date, address and phone
    assert score_pair(CLINIC, twin, "h").score > score_pair(CLINIC, copy, "h").score
    found = match_patient(CLINIC, [twin, copy], "iis")
    assert outcomes(found) == [("copy", Outcome.AUTO_LINK), ("twin", Outcome.CONFIRM)]


def test_a_same_named_parent_at_the_address_does_not_block_the_patient() -> None:
    copy = demo("copy", phone=None)
    parent = demo("parent", birth="1941-04-09")  # Jr/Sr: month and day agree, year does not
    found = match_patient(CLINIC, [parent, copy], "iis")
    assert outcomes(found)[0] == ("copy", Outcome.AUTO_LINK)
    assert dict(outcomes(found))["parent"] != Outcome.AUTO_LINK


@pytest.mark.parametrize(
    "rival",
    [
        {"birth": "1968-09-04"},  # transposed: could be the patient recorded badly
        {"birth": None},  # unknown birth date: could be the patient
        {"given": None},  # unknown given name: could be the patient
        {"given": "Ngozy", "postal": "62799"},  # a duplicate with a typo
    ],
)
def test_a_rival_that_could_be_the_patient_still_needs_a_person(rival: dict[str, object]) -> None:
    copy = demo("copy", phone=None)
    found = match_patient(CLINIC, [demo("rival", **rival), copy], "iis")
    kept = dict(outcomes(found))
    assert set(kept) == {"rival", "copy"}
    assert Outcome.AUTO_LINK not in kept.values()


def test_relatives_alone_never_link() -> None:
    # The patient is not in this source; the twin and the parent are only shown.
    found = match_patient(
        CLINIC, [demo("twin", given="Chidinma"), demo("parent", birth="1941-04-09")], "iis"
    )
    assert found and all(c.outcome == Outcome.CONFIRM for c in found)


def test_mover_with_former_address_and_no_phone_auto_links() -> None:
    mover = demo(
        "mover", postal="62799", street="4 Elm Ave", phone=None, former=("12 OAK ST.", "62701-1234")
    )
    found = score_pair(CLINIC, mover, "iis")
    assert {f.field: f.level for f in found.fields}["previous_address"] == Level.ALIAS
    assert found.outcome == Outcome.AUTO_LINK
    # The same record without the history is a person's call: it looks like a stranger.
    stranger = demo("stranger", postal="62799", street="4 Elm Ave", phone=None)
    assert score_pair(CLINIC, stranger, "iis").outcome == Outcome.CONFIRM


def test_former_address_counts_in_both_directions() -> None:
    # The clinic holds the history; the other source the new address.
    local = demo("clinic-1", postal="62799", street="4 Elm Ave", former=("12 Oak Street", "62701"))
    remote = demo("remote", phone=None)
    assert score_pair(local, remote, "iis").outcome == Outcome.AUTO_LINK


@pytest.mark.parametrize(
    "former",
    [
        ("14 Oak Street", "62701"),  # another house on the street
        ("12 Oak Street", "62702"),  # same line, another ZIP
    ],
)
def test_a_former_address_must_match_street_and_zip(former: tuple[str, str]) -> None:
    mover = demo("mover", postal="62799", street="4 Elm Ave", phone=None, former=former)
    found = score_pair(CLINIC, mover, "iis")
    assert {f.field: f.level for f in found.fields}["previous_address"] == Level.MISSING
    assert found.outcome == Outcome.CONFIRM


def test_previous_address_weight_alone_with_names_does_not_reach_auto_link() -> None:
    # Names + former address, birth date unknown: never an auto-link (the birth-date rule).
    mover = demo(
        "mover",
        birth=None,
        postal="62799",
        street="4 Elm Ave",
        phone=None,
        former=("12 Oak Street", "62701"),
    )
    found = score_pair(CLINIC, mover, "iis")
    assert found.outcome == Outcome.CONFIRM
    assert WEIGHTS["previous_address"][Level.ALIAS] < DEFAULT_THRESHOLDS.upper


def test_street_lines_compare_after_usps_abbreviation() -> None:
    assert (
        street_line("12 Oak Street, Apt. 4") == street_line("12 OAK ST APT 4") == "12 oak st apt 4"
    )
    assert street_line("9 North Main Avenue") == "9 n main ave"


def test_an_ended_period_makes_an_address_former() -> None:
    resource = patient("p")
    resource["address"].append(
        {
            "use": "home",
            "line": ["3 Birch Ln"],
            "postalCode": "62704",
            "period": {"end": "2020-01-31"},
        }
    )
    current, former = split_addresses(resource["address"])
    assert current == {("12 oak st", "62701")}
    assert former == {("3 birch ln", "62704")}
    # The postal code compared is the current one, not the ended one.
    assert demo("p").postal_code == "62701"


def test_without_birth_date_each_name_part_is_searched_with_the_sex() -> None:
    searches = search_parameters(demo("clinic-1", birth=None))
    assert {"name": "Okafor"} in searches  # a copy without sex, with a nicknamed given name
    assert {"name": "Ngozi", "gender": "female"} in searches
    dated = search_parameters(CLINIC)
    assert not any("gender" in s for s in dated)


def test_a_marriage_and_a_move_still_reach_a_person() -> None:
    # Former name not kept, moved, new phone: given name, middle initial, birth date, sex left.
    changed = {
        "family": "Adams",
        "postal": "62799",
        "street": "4 Elm Ave",
        "phone": "(309) 555-0188",
    }
    found = score_pair(CLINIC, demo("remote", **changed), "iis")
    assert found.score < DEFAULT_THRESHOLDS.lower
    assert found.outcome == Outcome.CONFIRM and "marriage" in found.reason
    # Without the middle initial, or with another given name, it is not offered.
    assert score_pair(CLINIC, demo("r", middle=None, **changed), "iis").outcome == Outcome.NO_LINK
    assert score_pair(CLINIC, demo("r", given="Ada", **changed), "iis").outcome == Outcome.NO_LINK
    assert score_pair(CLINIC, demo("r", middle="B", **changed), "iis").outcome == Outcome.NO_LINK
    # Another birth date: not offered either.
    assert (
        score_pair(CLINIC, demo("r", birth="1968-04-10", **changed), "iis").outcome
        == Outcome.NO_LINK
    )
