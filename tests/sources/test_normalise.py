"""Normalisation: folding, nicknames, phones, postal codes, dates and Patient demographics."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop.sources.normalise import (
    are_nicknames,
    birth_date,
    demographics,
    fold,
    name_parts,
    phone_digits,
    postal,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [("José", "jose"), ("O'Brien", "obrien"), ("  MÜLLER ", "muller"), ("Nguyễn", "nguyen")],
)
def test_fold_drops_accents_case_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_hyphenated_family_names_yield_their_parts() -> None:
    assert name_parts("García-López") == ["garcia", "lopez"]
    assert name_parts("van der Berg") == ["van", "der", "berg"]


def test_nicknames_are_symmetric_and_only_within_a_group() -> None:
    assert are_nicknames("bill", "william") and are_nicknames("william", "bill")
    assert are_nicknames("sam", "samantha") and are_nicknames("sam", "samuel")
    assert not are_nicknames("samuel", "samantha")  # share a nickname, not a name
    assert not are_nicknames("bob", "william")
    assert not are_nicknames("zelda", "zelda")  # not in the table: equality is checked elsewhere


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("(217) 555-0123", "2175550123"),
        ("+1 217 555 0123", "2175550123"),
        ("217.555.0123 ext", "2175550123"),
        ("555-01", None),
    ],
)
def test_phone_digits(text: str, digits: str | None) -> None:
    assert phone_digits(text) == digits


def test_postal_codes() -> None:
    assert postal("62701-1234") == "62701"
    assert postal("62701") == "62701"
    assert postal("sw1a 1aa") == "SW1A1AA"
    assert postal(" ") is None


def test_only_full_valid_birth_dates_compare() -> None:
    assert birth_date("1970-05-06") == date(1970, 5, 6)
    assert birth_date("1970-05") is None
    assert birth_date("1970-02-30") is None
    assert birth_date(None) is None


def test_demographics_reads_official_old_names_and_birthsex_extension() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [
            {"use": "old", "family": "Smith", "given": ["Mary"]},
            {"use": "official", "family": "Jones-Smith", "given": ["MARY", "K"]},
        ],
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                "valueCode": "F",
            }
        ],
        "gender": "unknown",
        "telecom": [
            {"system": "email", "value": "x@example.org"},
            {"system": "phone", "value": "217-555-0101"},
        ],
        "address": [
            {"use": "work", "postalCode": "99999"},
            {"use": "home", "postalCode": "62701-0001"},
        ],
        "identifier": [{"system": "urn:mrn", "value": " 42 "}, {"value": "no-system"}],
    }
    found = demographics(patient)
    assert found.primary_family == "jonessmith"
    assert found.families == {"jonessmith", "smith"}
    assert found.family_tokens == {"jones", "smith"}
    assert found.given == "mary"
    assert (found.family_text, found.given_text) == ("Jones-Smith", "MARY")  # for searches
    assert found.middle_initial == "k"
    assert found.sex == "female"
    assert found.phones == {"2175550101"}
    assert found.postal_code == "62701"
    assert found.identifiers == {("urn:mrn", "42")}


def test_demographics_of_an_empty_patient_is_all_unknown() -> None:
    found = demographics({"resourceType": "Patient", "id": "x", "name": "not a list"})
    assert (found.given, found.primary_family, found.birth_date, found.sex) == ("", "", None, None)
    assert not found.phones and found.postal_code is None
