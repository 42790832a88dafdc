"""What the Panel view shows, read from the encrypted store's panel results (no Qt here).

A panel can hold 20,000 patients, so nothing here holds it whole:
- ``read_totals`` walks ``scope.panel.iter`` once (in a worker thread) and keeps counters
  only: patients per status per screening and the measure population counts per year, with
  the export package's counters (``exports.summary``), so the view and the Summary export
  cannot disagree; ``overview_of`` words them for one measurement year (no second walk);
- ``RowSource`` turns the same walk into table rows one page at a time, filtered, so the
  patient table fetches more only when the user scrolls (``PanelRowsModel.fetchMore``).

Both walks run in worker threads and are pure Python (JSON decoding, counting): they read the
store ``WALK_PAGE`` results at a time (each read one short hold of the GIL) and rest between
patients every few milliseconds (``thread_pacing.Pacer``), so the GUI thread gets the GIL at
once instead of after Python's 5 ms switch interval per Qt event (the window stalled ~50 ms).

Patient names are looked up in this computer's stored charts for display only
(``ui.patient_names``); the panel results hold ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from healthprep_desktop.exports.summary import MeasureLine, MeasureTotals, StatusCounter
from healthprep_desktop.screening.model import Status
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.panel_results import MeasureCounts, PanelResult, PanelRun
from healthprep_desktop.ui.patient_names import PatientNames
from healthprep_desktop.ui.thread_pacing import Pacer

# The order statuses are listed and stacked in: what needs doing first, as the sheet does.
STATUS_ORDER: tuple[Status, ...] = (
    Status.OVERDUE,
    Status.DUE,
    Status.NOT_AT_GOAL,
    Status.FOLLOW_UP_NEEDED,
    Status.DUE_SOON,
    Status.COMPLETE,
    Status.DECLINED,
    Status.MEDICAL_REASON,
    Status.POSTPONED,
    Status.NOT_APPLICABLE,
    Status.INSUFFICIENT_DATA,
)
# Status filters that take several statuses: what a coordinator works first, and everything
# that applies to the patient (the rows "not applicable" would drown out).
NEEDS_ACTION = "needs_action"
APPLICABLE = "applicable"
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    NEEDS_ACTION: tuple(
        s.value for s in (Status.OVERDUE, Status.DUE, Status.NOT_AT_GOAL, Status.FOLLOW_UP_NEEDED)
    ),
    APPLICABLE: tuple(s.value for s in STATUS_ORDER if s != Status.NOT_APPLICABLE),
}
GROUP_LABELS = {NEEDS_ACTION: "Needs action", APPLICABLE: "All but not applicable"}
PAGE_SIZE = 200  # table rows per fetch: a screenful or three, one short read
PROGRESS_EVERY = 1000  # patients between progress notes of the overview walk
WALK_PAGE = 100  # stored results per read: each read and its rows are one short GIL hold


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """A measure group's line for this year beside last year's rate."""

    line: MeasureLine
    previous_rate: float | None
    one_of_groups: bool = False  # the measure reports more than one group: name the group

    @property
    def key(self) -> str:
        """ "CMS125", or "CMS122 Group_2" for a measure with several groups."""
        return f"{self.line.cms} {self.line.group}" if self.one_of_groups else self.line.cms

    @property
    def title(self) -> str:
        # The eCQM FHIR packages title their measures "...StatusFHIR": said once is enough.
        return self.line.title.removesuffix("FHIR").rstrip()

    @property
    def change(self) -> float | None:
        """This year's rate minus last year's, in rate units (0.05 is 5 points)."""
        if self.line.performance_rate is None or self.previous_rate is None:
            return None
        return self.line.performance_rate - self.previous_rate


@dataclass(frozen=True, slots=True)
class PanelOverview:
    connection_id: int
    patients: int
    status_counts: dict[str, dict[str, int]]  # screening id -> status value -> patients
    screening_names: dict[str, str]
    years: list[str]  # measurement years, newest first
    year: str | None
    measures: list[MeasureRow]
    last_run: PanelRun | None = None

    @property
    def previous_year(self) -> str | None:
        return str(int(self.year) - 1) if self.year and self.year.isdigit() else None

    def statuses_present(self) -> list[Status]:
        seen = {s for counts in self.status_counts.values() for s in counts}
        return [s for s in STATUS_ORDER if s.value in seen]

    def measure_ids(self) -> list[str]:
        return list(dict.fromkeys(row.line.cms for row in self.measures))


@dataclass(frozen=True, slots=True)
class PanelFilter:
    """What the patient table shows: None means any."""

    status: str | None = None  # a status value, or a key of STATUS_GROUPS
    screening_id: str | None = None
    measure: str | None = None  # a CMS id: patients in its initial population for ``year``
    not_met_only: bool = False  # with a measure: in the denominator, not in the numerator
    year: str | None = None


@dataclass(frozen=True, slots=True)
class PanelRow:
    patient_id: str
    screening_id: str
    screening: str
    status: Status
    last_done: date | None
    next_due: date | None
    explanation: str
    flags: tuple[str, ...] = ()
    patient_name: str | None = None

    @property
    def patient_text(self) -> str:
        return f"{self.patient_name} ({self.patient_id})" if self.patient_name else self.patient_id


@dataclass(frozen=True, slots=True)
class PanelTotals:
    """Everything one walk of the stored panel yields: counters only, for every year, so a
    change of measurement year is worded again without walking the panel again."""

    connection_id: int
    patients: int
    status_counts: dict[str, dict[str, int]]
    screening_names: dict[str, str]
    measures: MeasureTotals
    last_run: PanelRun | None


def read_totals(
    scope: TenantScope,
    connection_id: int,
    progress: Callable[[int, int], None] | None = None,
    pace: Callable[[], None] | None = None,
) -> PanelTotals:
    """One pass over the connection's stored panel, keeping counters only (the export
    package's ``StatusCounter`` and ``MeasureTotals``), whatever the panel's size.
    ``progress(read, total)`` is called every ``PROGRESS_EVERY`` patients; ``pace()`` between
    patients (a ``Pacer`` unless given: the walk lets the GUI thread have the GIL)."""
    pace = pace or Pacer()
    total = scope.panel.count(connection_id)
    statuses = StatusCounter()
    measures = MeasureTotals()
    names: dict[str, str] = {}
    patients = 0
    for result in scope.panel.iter(connection_id, page=WALK_PAGE):
        pace()
        patients += 1
        statuses.add(result.results)
        measures.add(result.measures)
        for item in _items(result.results):
            sid = str(item.get("screening_id") or "")
            if sid and sid not in names:
                names[sid] = str(item.get("name") or sid)
        if progress is not None and patients % PROGRESS_EVERY == 0:
            progress(patients, total)
    runs = scope.panel.runs(connection_id)
    return PanelTotals(
        connection_id=connection_id,
        patients=patients,
        status_counts=statuses.counts(),
        screening_names=names,
        measures=measures,
        last_run=runs[0] if runs else None,
    )


def overview_of(totals: PanelTotals, year: str | None = None) -> PanelOverview:
    """The overview for a measurement year (the newest when ``year`` has no results): the
    year's measure lines beside the previous year's rates. Counters only: instant."""
    years = totals.measures.years()
    chosen = year if year in years else (years[0] if years else None)
    rows: list[MeasureRow] = []
    if chosen is not None:
        previous = str(int(chosen) - 1) if chosen.isdigit() else ""
        before = {
            (line.cms, line.group): line.performance_rate
            for line in totals.measures.lines(previous)
        }
        lines = totals.measures.lines(chosen)
        groups = Counter(line.cms for line in lines)
        rows = [
            MeasureRow(line, before.get((line.cms, line.group)), groups[line.cms] > 1)
            for line in lines
        ]
    return PanelOverview(
        connection_id=totals.connection_id,
        patients=totals.patients,
        status_counts=totals.status_counts,
        screening_names=totals.screening_names,
        years=years,
        year=chosen,
        measures=rows,
        last_run=totals.last_run,
    )


def _items(envelope: dict[str, Any]) -> Iterator[dict[str, Any]]:
    items = envelope.get("results") if isinstance(envelope, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            yield item


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _status(value: Any) -> Status | None:
    try:
        return Status(str(value))
    except ValueError:
        return None


def in_measure(measures: MeasureCounts, flt: PanelFilter) -> bool:
    """Whether a patient passes the measure part of the filter (always, without a measure)."""
    if not flt.measure:
        return True
    groups = (measures.get(flt.year or "") or {}).get(flt.measure) or {}
    for populations in groups.values():
        if populations.get("initial-population", 0) <= 0:
            continue
        if not flt.not_met_only:
            return True
        removed = populations.get("denominator-exclusion", 0) + populations.get(
            "denominator-exception", 0
        )
        in_denominator = populations.get("denominator", 0) > 0 and not removed
        if in_denominator and populations.get("numerator", 0) <= 0:
            return True
    return False


def rows_of(result: PanelResult, flt: PanelFilter) -> list[PanelRow]:
    """The table rows of one patient's stored screening that pass the filter: one per
    screening (a screening listed twice, by variant, shows once)."""
    if not in_measure(result.measures, flt):
        return []
    rows: list[PanelRow] = []
    seen: set[str] = set()
    for item in _items(result.results):
        sid = str(item.get("screening_id") or "")
        status = _status(item.get("status"))
        if not sid or status is None or sid in seen:
            continue
        seen.add(sid)
        if flt.screening_id and sid != flt.screening_id:
            continue
        if flt.status and status.value not in STATUS_GROUPS.get(flt.status, (flt.status,)):
            continue
        rows.append(
            PanelRow(
                patient_id=result.patient_id,
                screening_id=sid,
                screening=str(item.get("name") or sid),
                status=status,
                last_done=_day(item.get("last_done")),
                next_due=_day(item.get("next_due")),
                explanation=str(item.get("explanation") or ""),
                flags=tuple(str(f) for f in item.get("flags") or ()),
            )
        )
    return rows


class RowSource:
    """The filtered rows of a panel, a page at a time, from one walk of the store.

    ``next_page`` runs in a worker thread, one call at a time (the model never asks again
    before a page arrived); the walk is keyset-paged by the repository, so the panel is never
    in memory, and names are looked up for each page's patients only.
    """

    def __init__(
        self,
        scope: TenantScope,
        connection_id: int,
        flt: PanelFilter,
        names: PatientNames | None = None,
        pace: Callable[[], None] | None = None,
    ) -> None:
        self._scope = scope
        self._walk: Iterator[PanelResult] = scope.panel.iter(connection_id, page=WALK_PAGE)
        self._pace = pace or Pacer()  # between patients, as ``read_totals``
        self.filter = flt
        self.names = names or PatientNames()
        self.exhausted = False
        self.patients_read = 0

    def next_page(self, limit: int = PAGE_SIZE) -> list[PanelRow]:
        page: list[PanelRow] = []
        while len(page) < limit:
            self._pace()
            result = next(self._walk, None)
            if result is None:
                self.exhausted = True
                break
            self.patients_read += 1
            page.extend(rows_of(result, self.filter))
        return self._named(page)

    def _named(self, rows: Iterable[PanelRow]) -> list[PanelRow]:
        listed = list(rows)
        scopes = {self._scope.id: self._scope}
        found = self.names.lookup(scopes, [(self._scope.id, r.patient_id) for r in listed])
        if not found:
            return listed
        return [_with_name(r, found.get(r.patient_id)) for r in listed]


def _with_name(row: PanelRow, name: str | None) -> PanelRow:
    return replace(row, patient_name=name) if name else row


def tally(counts: dict[str, int]) -> list[tuple[Status, int]]:
    """A screening's status counts in ``STATUS_ORDER`` (unknown statuses left out)."""
    by_status: dict[Status, int] = defaultdict(int)
    for value, n in counts.items():
        status = _status(value)
        if status is not None:
            by_status[status] += n
    return [(s, by_status[s]) for s in STATUS_ORDER if by_status.get(s)]


__all__ = [
    "APPLICABLE",
    "GROUP_LABELS",
    "NEEDS_ACTION",
    "PAGE_SIZE",
    "STATUS_GROUPS",
    "STATUS_ORDER",
    "MeasureRow",
    "PanelFilter",
    "PanelOverview",
    "PanelRow",
    "PanelTotals",
    "RowSource",
    "in_measure",
    "overview_of",
    "read_totals",
    "rows_of",
    "tally",
]
