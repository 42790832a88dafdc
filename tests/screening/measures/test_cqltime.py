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
    after,
    age_in_months,
    age_in_years,
    before,
    during,
    ends_during,
    fhir_period,
    in_span,
    not3,
    on_or_after,
    on_or_before,
    overlaps,
    parse_date,
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
    # CQL DateTime has millisecond precision: finer digits are dropped, not rounded up.
    assert on_or_before(p("2026-12-31T23:59:59.9995Z"), Point.exact(end.hi)) is True
    assert on_or_before(p("2026-12-31T23:59:59.999999+00:00"), Point.exact(end.hi)) is True
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


# --- three-valued edges: each assertion kills a boundary mutant of the comparisons ----------


def exact(text: str) -> Point:
    point = p(text)
    assert point.lo == point.hi
    return point


def test_equal_points_are_not_before_each_other() -> None:
    t = exact("2026-03-01T08:00:00Z")
    assert before(t, t) is False and on_or_before(t, t) is True
    assert before(p("2026-03-01"), p("2026-03-01"), day=True) is False


def test_uncertain_comparisons_are_unknown_not_false() -> None:
    # A whole day against its own midnight: could be equal or later.
    assert on_or_before(p("2026-03-01"), exact("2026-03-01T00:00:00Z")) is None
    # A month against its first day, at day precision.
    assert on_or_before(p("2026-03"), p("2026-03-01"), day=True) is None
    assert on_or_before(p("2026-03"), p("2026-03-31"), day=True) is True


def test_day_precision_ignores_the_time_of_day() -> None:
    morning, evening = exact("2026-03-01T08:00:00Z"), exact("2026-03-01T20:00:00Z")
    assert on_or_before(evening, morning) is False
    assert on_or_before(evening, morning, day=True) is True
    assert after(evening, morning) is True and after(evening, morning, day=True) is False
    assert on_or_after(morning, evening) is False
    assert on_or_after(morning, evening, day=True) is True
    assert before(morning, evening) is True and before(morning, evening, day=True) is False
    later = Span(evening, exact("2026-03-02T08:00:00Z"))
    window = Span(exact("2026-02-01T00:00:00Z"), morning)
    assert overlaps(later, window) is False and overlaps(later, window, day=True) is True
    assert starts_during(later, window) is False
    assert starts_during(later, window, day=True) is True
    inner = Span(morning, evening)
    assert during(inner, Span(evening, evening)) is False
    assert during(Span(evening, evening), Span(morning, morning), day=True) is True
    assert ends_during(inner, Span(morning, morning)) is False
    assert ends_during(inner, Span(morning, morning), day=True) is True
    assert in_span(evening, Span(morning, morning)) is False
    assert in_span(evening, Span(morning, morning), day=True) is True


def test_a_missing_side_is_unknown() -> None:
    t = exact("2026-03-01T08:00:00Z")
    assert before(None, t) is None and before(t, None, day=True) is None
    assert on_or_before(None, t) is None and on_or_before(t, None, day=True) is None
    assert same_day(None, t) is None and same_day(t, None) is None
    assert in_span(None, MP) is None and in_span(t, None) is None
    assert during(None, MP) is None and during(Span.at(t), None) is None
    assert overlaps(None, MP) is None and overlaps(Span.at(t), None) is None
    assert ends_during(None, MP) is None and starts_during(None, MP) is None
    assert not3(None) is None and not3(True) is False and not3(False) is True


def test_same_day_edges() -> None:
    assert same_day(p("2026-03-01"), p("2026-03-02")) is False
    assert same_day(p("2026-03-02"), p("2026-03-01")) is False
    assert same_day(p("2026-03"), p("2026-03-05")) is None  # the month may or may not be it
    assert same_day(p("2026-03"), p("2026-04-01")) is False
    assert same_day(p("2026-04-01"), p("2026-03")) is False


def test_closed_null_bounds_and_dates() -> None:
    span = Span.closed(None, p("2026-01-01"))
    assert span.start is UNBOUNDED and Span.closed(p("2026-01-01"), None).end is UNBOUNDED
    assert parse_date("1970-05-05T10:00:00Z") == date(1970, 5, 5)
    assert parse_date("garbage") is None and parse_date("1970-05") is None
    assert age_in_months(date(2024, 3, 15), date(2026, 1, 14)) == 21


def test_the_start_and_end_comparisons_each_honour_day_precision() -> None:
    morning, evening = exact("2026-03-01T08:00:00Z"), exact("2026-03-01T20:00:00Z")
    # during: the outer start is compared with the inner start at day precision too.
    assert during(Span(morning, morning), Span(evening, evening), day=True) is True
    assert during(Span(morning, morning), Span(evening, evening)) is False
    # overlaps: the second start is compared with the first end at day precision too.
    assert overlaps(Span(morning, morning), Span(evening, evening), day=True) is True
    assert overlaps(Span(morning, morning), Span(evening, evening)) is False


def test_same_day_with_a_partial_date_at_the_month_edges() -> None:
    assert same_day(p("2026-03"), p("2026-03-31")) is None
    assert same_day(p("2026-03-01"), p("2026-03")) is None


def test_same_day_with_the_partial_date_second() -> None:
    assert same_day(p("2026-03-31"), p("2026-03")) is None
    assert same_day(p("2026-04-01"), p("2026-03")) is False
