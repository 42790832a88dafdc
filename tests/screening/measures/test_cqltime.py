"""CQL date/time semantics: precision as uncertainty, null bounds, day-of comparisons."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from healthprep_desktop.screening.measures.cqltime import (
    UNBOUNDED,
    UNKNOWN,
    Point,
    Span,
    add_years,
    age_in_months,
    age_in_years,
    before,
    during,
    ends_during,
    fhir_period,
    in_span,
    on_or_before,
    overlaps,
    parse_point,
    same_day,
    shift_point,
    starts_during,
)

MP = Span(Point.exact(datetime(2026, 1, 1, tzinfo=UTC)), Point.of_day(date(2026, 12, 31)))


def p(text: str) -> Point:
    point = parse_point(text)
    assert point is not None
    return point


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("2026-01-01", True),
        ("2025-12-31", False),
        ("2026-12-31", True),
        ("2027-01-01", False),
        ("2026-01-01T00:00:00Z", True),
        ("2025-12-31T23:59:59.999Z", False),
        ("2026-12-31T23:59:59.999Z", True),
        ("2027-01-01T00:00:00.000Z", False),
        # An offset moves the instant: 19:00 on Dec 31 in New York is Jan 1 in UTC.
        ("2025-12-31T19:00:00-05:00", True),
        ("2025-12-31T18:59:59-05:00", False),
    ],
)
def test_point_in_the_period_by_day(text: str, inside: bool) -> None:
    assert in_span(p(text), MP, day=True) is inside


def test_partial_dates_are_uncertain_at_the_edges() -> None:
    # "2026" lies wholly in the period, "2025" wholly before it; a month that straddles an
    # edge cannot be placed (unknown). CQL itself answers unknown whenever the precisions
    # differ and the values agree as far as both go; here a value wholly inside counts.
    assert in_span(p("2026"), MP, day=True) is True
    assert in_span(p("2025"), MP, day=True) is False
    year_span = Span(p("2025-07-01"), p("2026-06-15"))
    assert in_span(p("2026-06"), year_span, day=True) is None  # June 2026 straddles the end
    assert in_span(p("2026-05"), year_span, day=True) is True
    assert before(p("2026-03"), p("2026-03-15")) is None
    assert before(p("2026-02"), p("2026-03-15")) is True


def test_closed_null_end_is_ongoing_and_open_null_end_unknown() -> None:
    ongoing = Span(p("2020-01-01"), UNBOUNDED)
    unknown_end = Span(p("2020-01-01"), UNKNOWN)
    assert overlaps(ongoing, MP, day=True) is True
    assert overlaps(unknown_end, MP, day=True) is None
    assert starts_during(unknown_end, MP, day=True) is False
    beginning = Span(UNBOUNDED, p("2026-02-01"))
    assert overlaps(beginning, MP, day=True) is True


def test_fhir_period_without_start_has_an_unknown_start() -> None:
    span = fhir_period({"end": "2026-05-01"})
    assert span is not None and span.start is UNKNOWN
    assert ends_during(span, MP, day=True) is True
    assert during(span, MP, day=True) is None
    whole = fhir_period({"start": "2026-05-01"})
    assert whole is not None and whole.end is UNBOUNDED


def test_during_and_overlaps_edges() -> None:
    inside = Span(p("2026-01-01"), p("2026-12-31"))
    assert during(inside, MP, day=True) is True
    late = Span(p("2026-12-31"), p("2027-01-01"))
    assert during(late, MP, day=True) is False
    assert overlaps(late, MP, day=True) is True
    after = Span(p("2027-01-01"), p("2027-01-02"))
    assert overlaps(after, MP, day=True) is False


def test_instant_comparisons_without_day_precision() -> None:
    end = Point.of_day(date(2026, 12, 31))
    assert on_or_before(p("2026-12-31T23:59:59.999Z"), Point.exact(end.hi)) is True
    assert on_or_before(p("2027-01-01T00:00:00.000Z"), Point.exact(end.hi)) is False
    assert same_day(p("2026-03-01T01:00:00Z"), p("2026-03-01")) is True
    assert same_day(p("2026-03-02T01:00:00Z"), p("2026-03-01")) is False


def test_calendar_arithmetic() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert shift_point(p("2026-01-01T00:00:00Z"), years=-1).lo == datetime(2025, 1, 1, tzinfo=UTC)
    assert age_in_years(date(1984, 12, 31), date(2026, 12, 31)) == 42
    assert age_in_years(date(1985, 1, 1), date(2026, 12, 31)) == 41
    assert age_in_years(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert age_in_months(date(2024, 12, 31), date(2026, 12, 30)) == 23
    assert age_in_months(date(2024, 12, 31), date(2026, 12, 31)) == 24


@pytest.mark.parametrize("bad", ["", "2026-13-01", "yesterday", "2026-02-30", None, 5])
def test_unreadable_dates_are_none(bad: object) -> None:
    assert parse_point(bad) is None
