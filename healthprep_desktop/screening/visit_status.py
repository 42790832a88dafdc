"""The visit-day statuses beyond the engine's interval rules, applied after it in this order:

0. **Measure-backed screenings** (:mod:`.visit_measures`) join the engine's results.
1. **Follow-up needed** (:mod:`.visit_followup`): a done screening whose latest result was
   abnormal and not followed up (CMS2, CMS22, CMS69, CMS138).
2. **Declined / Medical reason** from the chart (:mod:`.visit_reasons`): a due screening whose
   not-done record carries a coded reason (the measures' denominator exceptions).
3. **A user's entry** ("done elsewhere", "declined", "postponed until"), made in the app or
   with ``healthprep-desktop entries``: it wins over the chart, and the sheet names who made it
   and when, so nobody takes it for chart data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from healthprep_desktop.screening.dates import parse_day_range, plausible_birth, shift
from healthprep_desktop.screening.library import Library, ScreeningType
from healthprep_desktop.screening.measures.base import MeasureContext, MeasurementPeriod
from healthprep_desktop.screening.measures.chart import Chart
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.needs import criteria
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_bone_heart import statin_exception
from healthprep_desktop.screening.visit_followup import FOLLOW_UPS
from healthprep_desktop.screening.visit_measures import VisitInput, visit_screenings
from healthprep_desktop.screening.visit_reasons import documented_reason

# Statuses that ask for the screening at this visit: what a reason or an entry can explain.
_ACTIONABLE = frozenset({Status.DUE, Status.OVERDUE, Status.DUE_SOON})
_DONE = frozenset({Status.COMPLETE, Status.DUE_SOON})
DECLINE_LASTS = timedelta(days=365)  # a refusal is asked again after a year


@dataclass(frozen=True, slots=True)
class UserEntry:
    """A user's entry for one screening (the store's ScreeningEntry, without the store)."""

    screening_id: str
    kind: str  # "done_elsewhere" | "declined" | "postponed"
    entered_by: str
    entered_at: str  # ISO 8601
    on_date: date | None = None
    until_date: date | None = None
    note: str = ""

    def who(self) -> str:
        return f"entered by {self.entered_by} on {self.entered_at[:10]}"


def visit_period(as_of: date) -> MeasurementPeriod:
    """The rolling year ending on the visit day: the prep sheet's measurement period."""
    return MeasurementPeriod(shift(as_of, years=-1) + timedelta(days=1), as_of)


def _rule(library: Library, result: ScreeningResult) -> ScreeningType | None:
    for wanted in (result.variant_id, result.screening_id):
        if wanted is None:
            continue
        for screening in library.screenings:
            if screening.id == wanted:
                return screening
    return None


def _with_follow_up(result: ScreeningResult, ctx: MeasureContext) -> ScreeningResult:
    ask = FOLLOW_UPS.get(result.variant_id or "") or FOLLOW_UPS.get(result.screening_id)
    if ask is None or result.status not in _DONE:
        return result
    found = ask(ctx)
    if found is None:
        return result
    if found.needed:
        text = f"{found.finding}: no follow-up plan on record ({found.measure})"
        return dataclasses.replace(result, status=Status.FOLLOW_UP_NEEDED, explanation=text)
    _, day = found.follow_up[0]
    text = f"{result.explanation}; {found.finding}, followed up on {day.isoformat()}"
    return dataclasses.replace(result, explanation=text)


def _with_reason(
    result: ScreeningResult, rule: ScreeningType | None, library: Library, chart: Chart,
    period: MeasurementPeriod,
) -> ScreeningResult:  # fmt: skip
    if rule is None or result.status not in (Status.DUE, Status.OVERDUE):
        return result
    set_ids = frozenset(s for m in rule.modalities for s in m.sets) | frozenset(
        s for c in criteria(rule.modalities) for s in c.sets
    )
    keys = library.keys_of(tuple(sorted(set_ids)))
    found = documented_reason(chart, keys, set_ids, period.first_day, period.last_day)
    if found is None:
        return result
    return dataclasses.replace(result, status=found.status, explanation=found.text(result.name))


def _next_due(rule: ScreeningType | None, done: date) -> date | None:
    if rule is None:
        return None
    spans = [m.every for m in rule.modalities if m.every is not None]
    if not spans:
        return None
    # The entry does not say which test was done: the shortest interval asks again soonest.
    every = min(spans, key=lambda s: (s.years, s.months, s.days))
    return shift(done, years=every.years, months=every.months, days=every.days)


def _with_entry(
    result: ScreeningResult, entry: UserEntry, rule: ScreeningType | None, as_of: date,
    due_soon_days: int,
) -> ScreeningResult:  # fmt: skip
    note = f": {entry.note}" if entry.note else ""
    if result.status is Status.NOT_APPLICABLE:
        return result
    if entry.kind == "done_elsewhere" and entry.on_date is not None:
        done = entry.on_date
        if result.last_done is not None and result.last_done >= done:
            return result  # the chart already holds it, or something newer
        if result.status not in _ACTIONABLE:
            return dataclasses.replace(result, entry=f"done elsewhere on {done} ({entry.who()})")
        next_due = _next_due(rule, done)
        if next_due is None or next_due <= as_of:
            status = Status.DUE if next_due is not None else Status.COMPLETE
        elif next_due <= as_of + timedelta(days=due_soon_days):
            status = Status.DUE_SOON
        else:
            status = Status.COMPLETE
        due = f"; next due {next_due.isoformat()}" if next_due else ""
        return dataclasses.replace(
            result,
            status=status,
            last_done=done,
            next_due=next_due,
            explanation=f"Done elsewhere on {done.isoformat()}{note}{due}",
            entry=f"done elsewhere: {entry.who()}",
        )
    if result.status not in _ACTIONABLE | {Status.FOLLOW_UP_NEEDED}:
        return result
    if entry.kind == "declined":
        since = entry.on_date or date.fromisoformat(entry.entered_at[:10])
        if since + DECLINE_LASTS <= as_of or (result.last_done and result.last_done > since):
            return result  # asked again after a year, or done since
        return dataclasses.replace(
            result,
            status=Status.DECLINED,
            explanation=f"Declined on {since.isoformat()}{note}",
            entry=f"declined: {entry.who()}",
        )
    if entry.kind == "postponed" and entry.until_date is not None:
        if entry.until_date <= as_of:
            return result  # the postponement has run out
        return dataclasses.replace(
            result,
            status=Status.POSTPONED,
            explanation=f"Postponed until {entry.until_date.isoformat()}{note}",
            entry=f"postponed: {entry.who()}",
        )
    return result


def refine(
    results: Iterable[ScreeningResult],
    record: PatientRecord,
    as_of: date,
    library: Library,
    *,
    entries: Iterable[UserEntry] = (),
    due_soon_days: int | None = None,
) -> list[ScreeningResult]:
    period = visit_period(as_of)
    patient = record.patient
    birth = parse_day_range(patient.get("birthDate"))
    if birth is not None and plausible_birth(birth, as_of) is None:
        # An impossible birth date is missing for the measure-backed rows too (no age -973).
        patient = {k: v for k, v in patient.items() if k != "birthDate"}
    chart = Chart(patient, record.resources)
    ctx = MeasureContext(chart, period, "2025")
    by_screening = {e.screening_id: e for e in entries}
    soon = due_soon_days if due_soon_days is not None else library.due_soon_days
    engine = tuple(results)
    data = VisitInput(ctx, record, as_of, library, engine)
    extra = visit_screenings(data)
    out: list[ScreeningResult] = []
    for result in (*engine, *extra):
        rule = _rule(library, result)
        refined = _with_follow_up(result, ctx)
        refined = _with_reason(refined, rule, library, chart, period)
        refined = statin_exception(data, refined)  # CMS347's exceptions on every statin row
        entry = by_screening.get(result.screening_id) or by_screening.get(result.variant_id or "")
        if entry is not None:
            refined = _with_entry(refined, entry, rule, as_of, soon)
        out.append(refined)
    return out


__all__ = ["DECLINE_LASTS", "UserEntry", "refine", "visit_period"]
