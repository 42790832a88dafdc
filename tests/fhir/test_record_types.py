"""The chart fetch and the SMART scopes cover every type the library and the measures read."""

from __future__ import annotations

import dataclasses

from healthprep_desktop.fhir.presets import READ_TYPES, user_read_scopes
from healthprep_desktop.fhir.record import RECORD_TYPES, SEARCH_TYPES
from healthprep_desktop.screening.library import Criterion, default_library
from healthprep_desktop.screening.measures.chart import MEASURE_TYPES
from healthprep_desktop.screening.needs import criteria, library_types, record_types


def test_every_library_criterion_type_is_fetched() -> None:
    library = default_library()
    found = list(criteria(library.screenings))
    assert len(found) > 50  # the walker reaches nested criteria, not only the top level
    missing = {(c.label, t) for c in found for t in (c.resources or ()) if t not in RECORD_TYPES}
    assert missing == set()


def test_every_measure_retrieve_type_is_fetched_and_scoped() -> None:
    assert set(MEASURE_TYPES) <= set(RECORD_TYPES)
    assert set(RECORD_TYPES) <= set(READ_TYPES)
    scopes = set(user_read_scopes())
    assert all(f"user/{t}.read" in scopes for t in RECORD_TYPES)
    # Medication is read by reference, never searched by patient.
    assert "Medication" in RECORD_TYPES and "Medication" not in SEARCH_TYPES


def test_a_criterion_on_a_new_type_widens_the_fetch() -> None:
    library = default_library()
    screening = library.screenings[0]
    extra = Criterion(label="specimen", sets=("x",), resources=frozenset({"Specimen"}))
    changed = dataclasses.replace(
        library,
        screenings=(dataclasses.replace(screening, exclusions=(extra,)), *library.screenings[1:]),
    )
    assert "Specimen" in library_types(changed)
    assert "Specimen" in record_types(changed)
    assert "Specimen" not in record_types(library)
