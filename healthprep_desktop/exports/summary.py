"""Per-screening and per-measure summaries of stored results, for exports and the Panel view.

Both functions take iterables and keep only counters, so a 20,000-patient panel streamed from
``scope.panel.iter`` is summarised without holding it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from healthprep_desktop.screening.measures.report import measure_defs
from healthprep_desktop.store.repos.panel_results import MeasureCounts, PanelResult

NUMERATOR = "numerator"
DENOMINATOR = "denominator"
# Removed from the denominator before the rate is taken (eCQM proportion measures).
DENOMINATOR_REMOVALS = ("denominator-exclusion", "denominator-exception")


@dataclass(frozen=True, slots=True)
class MeasureLine:
    cms: str
    title: str
    year: str
    group: str
    populations: dict[str, int]  # population code -> patients
    performance_rate: float | None  # None when no patient is left in the denominator


class StatusCounter:
    """Screening id -> status -> patients, fed one envelope at a time (a streamed export
    counts as it writes)."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, envelope: dict[str, Any]) -> None:
        # A patient counts once per screening and status even if a screening is listed twice.
        seen: set[tuple[str, str]] = set()
        for result in _results(envelope):
            screening = str(result.get("screening_id") or "")
            status = str(result.get("status") or "")
            if screening and status and (screening, status) not in seen:
                seen.add((screening, status))
                self._counts[screening][status] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        return {s: dict(sorted(by.items())) for s, by in sorted(self._counts.items())}


class MeasureTotals:
    """Population counts summed per year, measure and group, fed one patient at a time."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def add(self, measures: MeasureCounts) -> None:
        for year, by_cms in measures.items():
            for cms, groups in by_cms.items():
                for group, populations in groups.items():
                    bucket = self._totals[(str(year), cms, group)]
                    for code, count in populations.items():
                        bucket[code] += int(count)

    def years(self) -> list[str]:
        """The measurement years seen, newest first."""
        return sorted({year for year, _, _ in self._totals}, reverse=True)

    def lines(self, year: str) -> list[MeasureLine]:
        titles = {cms: d.title for cms, d in measure_defs().items()}
        lines = [
            MeasureLine(
                cms=cms,
                title=titles.get(cms, cms),
                year=year,
                group=group,
                populations=dict(populations),
                performance_rate=performance_rate(populations),
            )
            for (line_year, cms, group), populations in self._totals.items()
            if line_year == year
        ]
        return sorted(lines, key=lambda line: (_cms_number(line.cms), line.cms, line.group))


def status_counts(envelopes: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Screening id -> status -> patients, over result envelopes (a sheet's or a panel
    result's ``{"as_of", "summary", "results": [...]}``)."""
    counter = StatusCounter()
    for envelope in envelopes:
        counter.add(envelope)
    return counter.counts()


def performance_rate(populations: dict[str, int]) -> float | None:
    """numerator / (denominator - exclusions - exceptions); None when that is 0 or less."""
    removed = sum(populations.get(code, 0) for code in DENOMINATOR_REMOVALS)
    base = populations.get(DENOMINATOR, 0) - removed
    if base <= 0:
        return None
    return populations.get(NUMERATOR, 0) / base


def measure_summary(results: Iterable[PanelResult], year: str) -> list[MeasureLine]:
    """One line per measure and group with the year's population counts summed over the panel,
    in CMS number order."""
    totals = MeasureTotals()
    for result in results:
        totals.add({year: result.measures.get(year) or {}})
    return totals.lines(year)


def measure_years(results: Iterable[PanelResult]) -> list[str]:
    """The measurement years present in the results, newest first (for a year picker)."""
    years = {year for result in results for year in result.measures}
    return sorted(years, reverse=True)


def _results(envelope: dict[str, Any]) -> Iterator[dict[str, Any]]:
    items = envelope.get("results") if isinstance(envelope, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            yield item


def _cms_number(cms: str) -> int:
    match = re.search(r"\d+", cms)
    return int(match.group()) if match else 1_000_000


__all__ = [
    "MeasureLine",
    "MeasureTotals",
    "StatusCounter",
    "measure_summary",
    "measure_years",
    "performance_rate",
    "status_counts",
]
