"""The sandbox's Patient value index only narrows: every search answers exactly as a full scan
does (birth dates full and partial, prefixes, identifiers with and without a system), and a
Patient stored later is found."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from healthprep_desktop.sandbox.config import SandboxClock
from healthprep_desktop.sandbox.datastore import Criterion, ResourceStore
from healthprep_desktop.sandbox.value_index import Indexed, PatientValueIndex, Query

PATIENTS = [
    {"id": "a", "birthDate": "1968-04-09", "identifier": [{"system": "urn:mrn", "value": "7"}]},
    {"id": "b", "birthDate": "1968-04-09", "identifier": [{"system": "urn:other", "value": "7"}]},
    {"id": "c", "birthDate": "1968-04", "identifier": [{"system": "urn:mrn", "value": "8"}]},
    {"id": "d", "birthDate": "1968", "identifier": [{"value": "9"}]},
    {
        "id": "e",
        "birthDate": "1970-01-01",
        "telecom": [{"system": "phone", "value": "(217) 555-0142"}],
    },
    {"id": "f", "name": [{"family": "Okafor"}]},  # no birth date, no identifier
    {
        "id": "g",
        "name": [{"family": "González", "given": ["Tomás"]}, {"use": "old", "family": "Ruiz"}],
    },
]


class _NoIndex(PatientValueIndex):
    def narrow(
        self, criteria: Iterable[Query], patients: Callable[[], Iterable[Indexed]]
    ) -> set[str] | None:
        return None  # always the full scan: the reference answer


def _store(index: PatientValueIndex | None = None) -> ResourceStore:
    store = ResourceStore(SandboxClock())
    if index is not None:
        store._patient_values = index
    for p in PATIENTS:
        store.put({"resourceType": "Patient", **p})
    return store


@pytest.mark.parametrize(
    "criteria",
    [
        [Criterion("birthdate", None, ["1968-04-09"])],
        [Criterion("birthdate", None, ["1968-04-09", "1970-01-01"])],  # values are ORed
        [Criterion("birthdate", None, ["1968-04"])],  # partial: not narrowed
        [Criterion("birthdate", None, ["1968"])],
        [Criterion("birthdate", None, ["ge1968-04-09"])],  # a prefix: not narrowed
        [Criterion("birthdate", None, ["1999-12-31"])],  # nobody
        [Criterion("identifier", None, ["urn:mrn|7"])],
        [Criterion("identifier", None, ["7"])],  # any system
        [Criterion("identifier", None, ["urn:mrn|"])],  # any code of a system: not narrowed
        [Criterion("identifier", None, ["|9"])],
        [Criterion("identifier", "not", ["urn:mrn|7"])],  # a modifier: not narrowed
        [Criterion("birthdate", None, ["1968-04-09"]), Criterion("identifier", None, ["8"])],
        [Criterion("family", None, ["Okafor"])],
        [Criterion("family", None, ["oka"])],  # a prefix
        [Criterion("family", None, ["O"])],  # one letter: not narrowed
        [Criterion("family", None, ["gonzalez"])],  # accents folded
        [Criterion("name", None, ["ruiz"])],  # a former name
        [Criterion("name", None, ["TOMAS"]), Criterion("family", None, ["Gon"])],
        [Criterion("family", "exact", ["Okafor"])],  # a modifier: not narrowed
        [Criterion("family", "contains", ["kaf"])],
        [Criterion("phone", None, ["2175550142"])],  # digits find the number however written
        [Criterion("phone", None, ["(217) 555-0142"])],
        [Criterion("phone", None, ["5550142"])],  # not a whole number: nobody
    ],
)
def test_every_search_answers_as_a_full_scan(criteria: list[Criterion]) -> None:
    indexed = [s.id for s in _store().search("Patient", criteria)]
    scanned = [s.id for s in _store(_NoIndex()).search("Patient", criteria)]
    assert indexed == scanned


def test_the_index_narrows_and_a_patient_stored_later_is_found() -> None:
    store = _store()
    assert [
        s.id for s in store.search("Patient", [Criterion("birthdate", None, ["1968-04-09"])])
    ] == [
        "a",
        "b",
    ]
    store.put({"resourceType": "Patient", "id": "g", "birthDate": "1968-04-09"})
    found = store.search("Patient", [Criterion("birthdate", None, ["1968-04-09"])])
    assert [s.id for s in found] == ["a", "b", "g"]
    # A changed birth date leaves the old day's answer.
    store.put({"resourceType": "Patient", "id": "a", "birthDate": "1968-09-04"})
    found = store.search("Patient", [Criterion("birthdate", None, ["1968-04-09"])])
    assert [s.id for s in found] == ["b", "g"]


def test_an_equality_on_a_full_date_or_an_identifier_uses_the_index() -> None:
    store = _store()
    patients = store._by_type["Patient"].values
    index = store._patient_values
    assert index.narrow([Criterion("birthdate", None, ["1968-04-09"])], patients) == {"a", "b"}
    assert index.narrow([Criterion("identifier", None, ["urn:mrn|7"])], patients) == {"a", "b"}
    assert index.narrow([Criterion("phone", None, ["2175550142"])], patients) == {"e"}
    assert index.narrow([Criterion("birthdate", None, ["1968"])], patients) is None
    assert index.narrow([Criterion("family", None, ["Okafor"])], patients) == {"f"}
    assert index.narrow([Criterion("family", None, ["O"])], patients) is None
