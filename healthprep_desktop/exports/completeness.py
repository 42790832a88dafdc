"""Data completeness of stored charts: per resource type and per source, how many patients have
any data and how recent it is.

"How recent" is read per patient first (the newest date of that type from that source in the
patient's chart), then summarised over the patients who have any: the median of those newest
dates (typical freshness) and the oldest of them (the stalest chart). Charts are fed one at a
time; only one small date list per (type, source) is kept, so a 20,000-patient panel is fine.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.exports.chart_facts import chart_resources, resource_source
from healthprep_desktop.exports.columns import Row
from healthprep_desktop.sources.merge import clinical_day


@dataclass(frozen=True, slots=True)
class CompletenessLine:
    resource_type: str
    source: str
    patients_with_data: int
    patients: int
    newest_median: date | None
    newest_oldest: date | None

    @property
    def share(self) -> float:
        return self.patients_with_data / self.patients if self.patients else 0.0


class Completeness:
    def __init__(self) -> None:
        self._patients = 0
        self._with_data: dict[tuple[str, str], int] = defaultdict(int)
        # Per-patient newest dates as ordinals (ints are small; dates are not needed until the end).
        self._newest: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, record: dict[str, Any] | None, default_source: str) -> None:
        """One patient's stored chart (None: the patient has no stored chart, so no data)."""
        self._patients += 1
        if not isinstance(record, dict):
            return
        newest: dict[tuple[str, str], date | None] = {}
        if isinstance(record.get("patient"), dict):  # "Patient": how many have a stored chart
            newest[("Patient", default_source)] = None
        for resource in chart_resources(record):
            kind = str(resource.get("resourceType") or "")
            if not kind or kind == "Patient":
                continue
            self._see(newest, (kind, resource_source(resource) or default_source), resource)
        for doc in record.get("documents") or []:
            if isinstance(doc, dict):
                key = ("DocumentReference", default_source)
                self._see(newest, key, {"date": doc.get("date")})
        for key, day in newest.items():
            self._with_data[key] += 1
            if day is not None:
                self._newest[key].append(day.toordinal())

    @staticmethod
    def _see(
        newest: dict[tuple[str, str], date | None], key: tuple[str, str], resource: dict[str, Any]
    ) -> None:
        day = clinical_day(resource)
        known = newest.get(key)
        if key not in newest or (day is not None and (known is None or day > known)):
            newest[key] = day

    @property
    def patients(self) -> int:
        return self._patients

    def lines(self) -> list[CompletenessLine]:
        out = []
        for key in sorted(self._with_data):
            days = self._newest.get(key) or []
            out.append(
                CompletenessLine(
                    resource_type=key[0],
                    source=key[1],
                    patients_with_data=self._with_data[key],
                    patients=self._patients,
                    newest_median=date.fromordinal(int(statistics.median_low(days)))
                    if days
                    else None,
                    newest_oldest=date.fromordinal(min(days)) if days else None,
                )
            )
        return out

    def rows(self, *, years_only: bool = False) -> Iterator[Row]:
        """Rows of columns.COMPLETENESS, or of DEIDENTIFIED_COMPLETENESS with ``years_only``."""
        for line in self.lines():
            row: Row = {
                "resource_type": line.resource_type,
                "source": line.source,
                "patients_with_data": line.patients_with_data,
                "patients": line.patients,
                "share": round(line.share, 4),
            }
            if years_only:
                row["newest_median_year"] = line.newest_median.year if line.newest_median else None
                row["newest_oldest_year"] = line.newest_oldest.year if line.newest_oldest else None
            else:
                row["newest_median"] = line.newest_median
                row["newest_oldest"] = line.newest_oldest
            yield row


__all__ = ["Completeness", "CompletenessLine"]
