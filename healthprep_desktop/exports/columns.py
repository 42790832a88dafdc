"""Typed column lists of every table an export writes; the writers (writers.py) turn the kinds
into CSV text, JSON values and Arrow types.

A row is a plain dict keyed by column name. Keeping the schema beside the rows (not inferred
from the first rows) gives a Parquet file the same types whether it holds 3 rows or 20,000, and
a column that is empty throughout still has its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Row = dict[str, Any]


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    DATE = "date"  # datetime.date; Arrow date32
    TEXT_LIST = "text_list"  # list[str]; Arrow list<string>


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: the file stem and its columns."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _cols(*spec: tuple[str, Kind]) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in spec)


T, N, F, D, L = Kind.TEXT, Kind.INT, Kind.FLOAT, Kind.DATE, Kind.TEXT_LIST

# One row per patient per screening, identified: for the clinic's own outreach.
RESULTS = Table(
    "results",
    _cols(
        ("patient_id", T),
        ("mrn", T),
        ("name", T),
        ("birth_date", D),
        ("phone", T),
        ("age", N),
        ("sex", T),
        ("postal_code", T),
        ("screening_id", T),
        ("screening", T),
        ("status", T),
        ("reason", T),
        ("last_done", D),
        ("next_due", D),
        ("flags", L),
        ("source", T),
        ("as_of", D),
    ),
)

# The same rows under HIPAA Safe Harbor (deidentify.py): no direct identifiers, dates as years,
# ages over 89 as "90+", ZIP codes to three digits, free text dropped.
DEIDENTIFIED_RESULTS = Table(
    "results",
    _cols(
        ("patient_key", T),
        ("age", T),
        ("sex", T),
        ("zip3", T),
        ("screening_id", T),
        ("screening", T),
        ("status", T),
        ("last_done_year", N),
        ("next_due_year", N),
        ("flag_count", N),
        ("source", T),
        ("as_of_year", N),
    ),
)

STATUS_SUMMARY = Table(
    "summary-status",
    _cols(("screening_id", T), ("status", T), ("patients", N)),
)

MEASURE_SUMMARY = Table(
    "summary-measures",
    _cols(
        ("cms", T),
        ("title", T),
        ("year", T),
        ("group", T),
        ("initial_population", N),
        ("denominator", N),
        ("denominator_exclusion", N),
        ("denominator_exception", N),
        ("numerator", N),
        ("numerator_exclusion", N),
        ("performance_rate", F),
    ),
)

COMPLETENESS = Table(
    "completeness",
    _cols(
        ("resource_type", T),
        ("source", T),
        ("patients_with_data", N),
        ("patients", N),
        ("share", F),
        ("newest_median", D),
        ("newest_oldest", D),
    ),
)

# Aggregates hold no identifier, but "the oldest of the newest dates" is one patient's date:
# the de-identified report gives years.
DEIDENTIFIED_COMPLETENESS = Table(
    "completeness",
    _cols(
        ("resource_type", T),
        ("source", T),
        ("patients_with_data", N),
        ("patients", N),
        ("share", F),
        ("newest_median_year", N),
        ("newest_oldest_year", N),
    ),
)

__all__ = [
    "COMPLETENESS",
    "DEIDENTIFIED_COMPLETENESS",
    "DEIDENTIFIED_RESULTS",
    "MEASURE_SUMMARY",
    "RESULTS",
    "STATUS_SUMMARY",
    "Column",
    "Kind",
    "Row",
    "Table",
]
