"""Measure-backed prep-sheet screenings for children and young women (see :mod:`.visit_measures`).

Three screenings, each decided by its measure module's own definitions and value sets over the
rolling year that ends on the visit day (``VisitInput.ctx``), so the sheet and the measure
cannot drift apart:

``childhood_immunizations`` (CMS117, :mod:`.measures.cms117`)
    Children under 3 on the visit day. From the second birthday on, the measure's ten vaccine
    definitions (``cms117.VACCINES``) decide: COMPLETE when every one is met (doses by the
    second birthday, or that vaccine's alternative: anaphylaxis or the disease, started in the
    first two years), else DUE naming each unmet vaccine with its count ("DTaP 3 of 4").
    Before the second birthday the :data:`SCHEDULE` table (CDC Child and Adolescent
    Immunization Schedule 2025) says which doses are missing *now*: a dose is missing only once
    the child is past the end of its recommended age range. Doses are counted with the
    measure's value sets and windows (distinct days; DTaP, IPV, Hib, PCV, rotavirus and
    influenza immunizations from 42 days old, influenza procedures from 180 days, MMR, VZV and
    HepA from the first birthday, HepB from birth with the measure's newborn-injection proxy).
``child_weight_counselling`` (CMS155, :mod:`.measures.cms155`)
    Ages 3-17 on the visit day: the measure's Numerator 1 (BMI, height and weight), Numerator 2
    (nutrition counselling) and Numerator 3 (physical-activity counselling) over the rolling
    year; COMPLETE when all three, else DUE naming what is missing.
``chlamydia_screening`` (CMS153, :mod:`.measures.cms153`)
    Women (``Patient.gender = 'female'``) 16-24 on the visit day with any of the measure's
    indicators of sexual activity in the rolling year: COMPLETE when a chlamydia test result is
    in it, else DUE.

Differences from measure mode (all deliberate):

* No qualifying encounter is needed: the visit is the encounter. Every other population
  criterion is the measure's own function, called on the rolling year.
* Ages are taken on the visit day (which is the end of the rolling year, so this is the
  measure's ``AgeInYearsAt(end of MP)``), except CMS117's dose counting, which is about the
  second birthday. CMS117 covers ages 0, 1 and 2 instead of "turns 2 in the period".
* Before the second birthday CMS117 has no numerator; the sheet uses the CDC schedule instead
  (see :data:`SCHEDULE`). The measure's windows are cut at the visit day, so only doses and
  conditions recorded by then count. Product-specific series follow the measure: Hib is the
  4-dose series when any 4-dose-product dose is on record (else the 3-dose PRP-OMP series:
  2, 4 and 12-15 months), rotavirus the 3-dose series when any 3-dose-product dose is on
  record (else 2 doses). A rotavirus dose not given by 8 months 0 days (the schedule's
  maximum age) is no longer listed as missing, because it can no longer be given; the
  explanation says the series is incomplete. Influenza is one dose a year from 6 months old:
  missing when none is on record in the 12 months up to the visit (the schedule's second
  dose in the first season is not tracked; the measure's two doses by age 2 are). HepA lists
  only the first dose (the measure's requirement). COVID-19 and RSV immunization are in the
  CDC schedule but not in the measure, so not here.
* At or after the second birthday the decision is the measure's: doses given after the second
  birthday do not count, so the screening stays DUE until the third birthday even after a
  catch-up dose (the explanation names such catch-up doses).
* A denominator exclusion returns None (the screening leaves the sheet), as does a child,
  young person or woman outside the ages, a missing birth date, or (CMS153) no sign of
  sexual activity: CMS117 hospice or an immunodeficiency / HIV / lymphoreticular cancer /
  intussusception starting by the visit day (the measure's first-two-years window, cut at
  the visit day); CMS155 hospice or a pregnancy overlapping the rolling year; CMS153 hospice
  or the pregnancy-test-only exclusion (a pregnancy test followed within 6 days by an X-ray
  or isotretinoin order, with no other sign of sexual activity).
* Each module is evaluated in its own shared-library edition (CMS153 is a 2024-edition
  measure; CMS117 and CMS155 are 2025), as measure mode does.
* CMS155 follows its CQL, which retrieves the BMI profile (39156-5); a pediatric BMI
  percentile observation (59576-9) alone does not count, as in the measure.
* COMPLETE results carry ``next_due`` (when the oldest qualifying item leaves the rolling
  year for CMS155 and CMS153; the next schedule deadline for CMS117 before the second
  birthday); DUE results carry ``last_done`` when anything relevant is on record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from healthprep_desktop.screening.dates import shift
from healthprep_desktop.screening.measures import cms117, cms153, cms155
from healthprep_desktop.screening.measures import cms117_vaccines as v
from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import JSON, Chart, codings, reference_of
from healthprep_desktop.screening.measures.cqltime import add_months, parse_point
from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.visit_registry import VisitInput, register

IMMUNIZATIONS = "childhood_immunizations"
WEIGHT_COUNSELLING = "child_weight_counselling"
CHLAMYDIA = "chlamydia_screening"


def _measure_context(data: VisitInput, edition: q.Edition) -> MeasureContext:
    """The visit's chart and rolling year, in the measure's shared-library edition."""
    if data.ctx.edition == edition:
        return data.ctx
    return MeasureContext(data.ctx.chart, data.ctx.period, edition)


def _day_of(resource: JSON, chart: Chart) -> date | None:
    """The day a resource happened: occurrence, performed, effective (their latest point),
    a condition's prevalence start, or authoredOn."""
    for stem in ("occurrence", "performed", "effective"):
        point = q.latest(q.choice_interval(resource, stem, chart))
        if point is not None:
            return point.day_lo
    if resource.get("resourceType") == "Condition":
        span = q.prevalence_interval(resource, chart)
        start = span.start_point() if span is not None else None
        if start is not None:
            return start.day_lo
    for key in ("authoredOn", "issued"):
        found = parse_point(resource.get(key))
        if found is not None:
            return found.day_lo
    return None


def _evidence(chart: Chart, ref: str, description: str, day: date | None = None) -> Evidence:
    resource = chart.resolve(ref)
    system: str | None = None
    code: str | None = None
    if resource is not None:
        if day is None:
            day = _day_of(resource, chart)
        first = [key for concept in chart.primary_code(resource) for key in codings(concept)]
        if first:
            system, code = first[0]
    return Evidence(EvidenceKind.CODE, ref, day, description, system=system, code=code)


def _evidence_of(
    chart: Chart, resources: Iterable[JSON], description: str, seen: set[str]
) -> list[Evidence]:
    out = []
    for resource in resources:
        ref = reference_of(resource)
        if ref not in seen:
            seen.add(ref)
            out.append(_evidence(chart, ref, description))
    return out


# --- CMS117: childhood immunizations ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleDose:
    """One dose of the CDC schedule: due by the END of its recommended age range."""

    vaccine: str  # the short name the sheet uses ("DTaP")
    number: int  # dose number in the series
    ages: str  # the schedule's recommended ages, as printed ("15-18 months")
    by_months: int  # end of the range, in completed months of age (0 = birth)
    series: int | None = None  # only in the series of this many doses (Hib, rotavirus)
    # The maximum age for the dose, as (months, days) after birth: past it the dose is no
    # longer given, so it is not "missing" (rotavirus: dose 1 by 14 weeks 6 days, the last
    # dose by 8 months 0 days).
    stop: tuple[int, int] | None = None


# CDC Child and Adolescent Immunization Schedule 2025 (Table 1, recommended ages for all
# children, birth to 23 months), for the vaccines CMS117 counts. A range "6-18 months" ends
# on the last day the child is 18 months old (the day before the 19-month birthday): the dose
# is missing from the day after. "Birth" (HepB 1) is read as 0 months: missing from the
# 1-month birthday, which leaves room for a birth dose recorded late.
SCHEDULE: tuple[ScheduleDose, ...] = (
    ScheduleDose("HepB", 1, "birth", 0),
    ScheduleDose("HepB", 2, "1-2 months", 2),
    ScheduleDose("HepB", 3, "6-18 months", 18),
    ScheduleDose("RV", 1, "2 months", 2, stop=(0, 7 * 15 - 1)),
    ScheduleDose("RV", 2, "4 months", 4, stop=(8, 0)),
    ScheduleDose("RV", 3, "6 months", 6, series=3, stop=(8, 0)),  # RV5 (3-dose product)
    ScheduleDose("DTaP", 1, "2 months", 2),
    ScheduleDose("DTaP", 2, "4 months", 4),
    ScheduleDose("DTaP", 3, "6 months", 6),
    ScheduleDose("DTaP", 4, "15-18 months", 18),
    ScheduleDose("Hib", 1, "2 months", 2),
    ScheduleDose("Hib", 2, "4 months", 4),
    ScheduleDose("Hib", 3, "6 months", 6, series=4),  # 4-dose products only
    ScheduleDose("Hib", 4, "12-15 months", 15, series=4),  # booster
    ScheduleDose("Hib", 3, "12-15 months", 15, series=3),  # PRP-OMP booster
    ScheduleDose("PCV", 1, "2 months", 2),
    ScheduleDose("PCV", 2, "4 months", 4),
    ScheduleDose("PCV", 3, "6 months", 6),
    ScheduleDose("PCV", 4, "12-15 months", 15),
    ScheduleDose("IPV", 1, "2 months", 2),
    ScheduleDose("IPV", 2, "4 months", 4),
    ScheduleDose("IPV", 3, "6-18 months", 18),
    ScheduleDose("MMR", 1, "12-15 months", 15),
    ScheduleDose("VZV", 1, "12-15 months", 15),
    ScheduleDose("HepA", 1, "12-23 months", 23),
)
FLU_FROM_MONTHS = 6  # influenza: yearly from 6 months old (same schedule)


def schedule_deadline(birth: date, months: int) -> date:
    """The last day of "<months> months" of age: the day before the next month-birthday."""
    return add_months(birth, months + 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Count:
    doses: v.Doses  # distinct dose days the measure counts
    needed: int  # doses the measure needs by the second birthday


@dataclass(frozen=True, slots=True)
class Vaccine:
    short: str
    rule: Callable[[MeasureContext, v.Windows], list[str]]  # the measure's definition
    count: Callable[[MeasureContext, v.Windows], Count]  # its dose definitions, counted


def _hib(ctx: MeasureContext, w: v.Windows) -> Count:
    three = v.both(ctx, v.HIB_3_VACCINE, v.HIB_3_ADMINISTERED, w.from_42_days)
    four = v.both(ctx, v.HIB_4_VACCINE, v.HIB_4_ADMINISTERED, w.from_42_days)
    return Count(three.merge(four), 4 if four.count > 0 else 3)


def _hepb(ctx: MeasureContext, w: v.Windows) -> Count:
    doses = v.both(ctx, v.HEPB_VACCINE, v.HEPB_ADMINISTERED, w.first_two_years)
    return Count(doses.merge(v.newborn_vaccine(ctx, w)), 3)


def _rotavirus(ctx: MeasureContext, w: v.Windows) -> Count:
    three = v.both(ctx, v.ROTA_3_VACCINE, v.ROTA_3_ADMINISTERED, w.from_42_days)
    return Count(v.rotavirus_two_dose(ctx, w).merge(three), 3 if three.count > 0 else 2)


def _flu(ctx: MeasureContext, w: v.Windows) -> Count:
    return Count(v.influenza(ctx, w).merge(v.laiv(ctx, w)), 2)


def _simple(vaccine: str, administered: str, window: str, needed: int) -> Callable[
    [MeasureContext, v.Windows], Count
]:  # fmt: skip
    def count(ctx: MeasureContext, w: v.Windows) -> Count:
        span: tuple[date, date] = getattr(w, window)
        return Count(v.both(ctx, vaccine, administered, span), needed)

    return count


VACCINES: tuple[Vaccine, ...] = (
    Vaccine("DTaP", cms117.dtap, _simple(v.DTAP_VACCINE, v.DTAP_ADMINISTERED, "from_42_days", 4)),
    Vaccine("IPV", cms117.polio, _simple(v.IPV_VACCINE, v.IPV_ADMINISTERED, "from_42_days", 3)),
    Vaccine("MMR", cms117.mmr, _simple(v.MMR_VACCINE, v.MMR_ADMINISTERED, "second_year", 1)),
    Vaccine("Hib", cms117.hib, _hib),
    Vaccine("HepB", cms117.hepatitis_b, _hepb),
    Vaccine("VZV", cms117.varicella, _simple(v.VZV_VACCINE, v.VZV_ADMINISTERED, "second_year", 1)),
    Vaccine(
        "PCV", cms117.pneumococcal, _simple(v.PCV_VACCINE, v.PCV_ADMINISTERED, "from_42_days", 4)
    ),
    Vaccine(
        "HepA", cms117.hepatitis_a, _simple(v.HEPA_VACCINE, v.HEPA_ADMINISTERED, "second_year", 1)
    ),
    Vaccine("RV", cms117.rotavirus, _rotavirus),
    Vaccine("influenza", cms117.influenza_vaccines, _flu),
)
# The measure's own list, in its order (a test checks it): a vaccine added to the measure
# must be added here.


def windows_until(birth: date, as_of: date) -> v.Windows:
    """The measure's windows, each cut at the visit day (nothing after it counts)."""
    w = v.Windows(birth)

    def cut(span: tuple[date, date]) -> tuple[date, date]:
        return span[0], min(span[1], as_of)

    w.first_two_years = cut(w.first_two_years)
    w.from_42_days = cut(w.from_42_days)
    w.from_180_days = cut(w.from_180_days)
    w.second_year = cut(w.second_year)
    w.second_birthday_only = cut(w.second_birthday_only)
    w.newborn = cut(w.newborn)
    return w


def _dose_evidence(chart: Chart, short: str, doses: v.Doses, seen: set[str]) -> list[Evidence]:
    out = []
    for n, day in enumerate(sorted(doses.by_day), start=1):
        for ref in doses.by_day[day]:
            if ref not in seen:
                seen.add(ref)
                out.append(_evidence(chart, ref, f"{short} dose {n}", day))
    return out


def _alternative_evidence(
    chart: Chart, short: str, refs: list[str], seen: set[str]
) -> list[Evidence]:
    out = []
    for ref in refs:
        if ref not in seen:
            seen.add(ref)
            text = f"{short}: anaphylaxis or disease history (counts instead of the doses)"
            out.append(_evidence(chart, ref, text))
    return out


def _latest_dose(counts: Iterable[Count]) -> date | None:
    days = [day for count in counts for day in count.doses.by_day]
    return max(days) if days else None


@register(IMMUNIZATIONS)
def childhood_immunizations(data: VisitInput) -> ScreeningResult | None:
    ctx = _measure_context(data, cms117.MEASURE.edition)
    birth = ctx.chart.birth_date
    if birth is None or birth > data.as_of or ctx.age_at(data.as_of) not in (0, 1, 2):
        return None
    w = windows_until(birth, data.as_of)
    if cms117.denominator_exclusions(ctx, w):
        return None
    if data.as_of >= w.second_birthday:
        return _by_second_birthday(ctx, w, data.as_of)
    return _for_age(ctx, w, birth, data.as_of)


def _by_second_birthday(ctx: MeasureContext, w: v.Windows, as_of: date) -> ScreeningResult:
    """The measure's numerator, vaccine by vaccine."""
    seen: set[str] = set()
    evidence: list[Evidence] = []
    short: list[str] = []
    counts: list[Count] = []
    for vaccine in VACCINES:
        refs = vaccine.rule(ctx, w)
        count = vaccine.count(ctx, w)
        counts.append(count)
        evidence += _dose_evidence(ctx.chart, vaccine.short, count.doses, seen)
        if refs and count.doses.count < count.needed:
            evidence += _alternative_evidence(ctx.chart, vaccine.short, refs, seen)
        if not refs:
            short.append(f"{vaccine.short} {count.doses.count} of {count.needed}")
    second = w.second_birthday.isoformat()
    if not short:
        status = Status.COMPLETE
        text = f"All 10 vaccine series complete by the 2nd birthday ({second})"
    else:
        status = Status.DUE
        text = f"By the 2nd birthday ({second}): " + ", ".join(short)
        later = _catch_up(ctx, w, as_of)
        if later:
            text += f"; given since (not counted by CMS117): {later}"
    return ScreeningResult(
        IMMUNIZATIONS,
        "Childhood immunizations (by age 2)",
        status,
        text,
        last_done=_latest_dose(counts),
        frequency="full series by the 2nd birthday",
        evidence=tuple(evidence),
    )


def _catch_up(ctx: MeasureContext, w: v.Windows, as_of: date) -> str:
    """Doses of unmet vaccines given after the second birthday, up to the visit day."""
    after = v.Windows(w.birth)
    start = w.second_birthday + timedelta(days=1)
    after.first_two_years = after.from_42_days = after.from_180_days = (start, as_of)
    after.second_year = (start, as_of)
    after.newborn = after.second_birthday_only = (start, start - timedelta(days=1))  # empty
    found = []
    for vaccine in VACCINES:
        if vaccine.rule(ctx, w):
            continue
        n = vaccine.count(ctx, after).doses.count
        if n:
            found.append(f"{vaccine.short} {n}")
    return ", ".join(found)


def _for_age(ctx: MeasureContext, w: v.Windows, birth: date, as_of: date) -> ScreeningResult:
    """Before the second birthday: the CDC schedule's doses whose age range has ended."""
    seen: set[str] = set()
    evidence: list[Evidence] = []
    missing: list[tuple[date, ScheduleDose]] = []
    upcoming: list[tuple[date, str]] = []
    closed: list[str] = []  # series that can no longer be completed (past the maximum age)
    covered: set[str] = set()  # vaccines whose alternative (anaphylaxis, disease) is met
    counts: dict[str, Count] = {}
    for vaccine in VACCINES:
        count = vaccine.count(ctx, w)
        counts[vaccine.short] = count
        evidence += _dose_evidence(ctx.chart, vaccine.short, count.doses, seen)
        refs = vaccine.rule(ctx, w)
        if refs and count.doses.count < count.needed:
            covered.add(vaccine.short)
            evidence += _alternative_evidence(ctx.chart, vaccine.short, refs, seen)
    for dose in SCHEDULE:
        count = counts[dose.vaccine]
        if dose.vaccine in covered or dose.vaccine in closed:
            continue
        if dose.series is not None and dose.series != count.needed:
            continue
        if count.doses.count >= dose.number:
            continue
        deadline = schedule_deadline(birth, dose.by_months)
        if dose.stop is not None:
            months, days = dose.stop
            if as_of > add_months(birth, months) + timedelta(days=days):
                closed.append(dose.vaccine)
                continue
        if as_of > deadline:
            missing.append((deadline, dose))
        else:
            upcoming.append((deadline, f"{dose.vaccine} {dose.number}"))
    flu = counts["influenza"]
    flu_text, flu_next = ("", None) if "influenza" in covered else _flu_for_age(flu, birth, as_of)
    if flu_next is not None:
        upcoming.append((flu_next, "influenza"))
    lines = _missing_text(missing)
    if flu_text:
        lines.append(flu_text)
    next_due = min((day for day, _ in upcoming), default=None)
    next_doses = ", ".join(name for day, name in upcoming if day == next_due)
    if lines:
        status = Status.DUE
        text = "Missing for age: " + "; ".join(lines)
    else:
        status = Status.COMPLETE
        text = "Up to date for age"
        if next_due is not None:
            text += f"; next: {next_doses} by {next_due.isoformat()}"
    if closed:
        text += f"; {', '.join(closed)} series incomplete, past the maximum age to give it"
    return ScreeningResult(
        IMMUNIZATIONS,
        "Childhood immunizations (by age 2)",
        status,
        text,
        last_done=_latest_dose(counts.values()),
        next_due=next_due,
        frequency="CDC schedule by age; full series by the 2nd birthday",
        evidence=tuple(evidence),
    )


def _flu_for_age(count: Count, birth: date, as_of: date) -> tuple[str, date | None]:
    """Influenza once a year from 6 months: (missing text or "", its next deadline)."""
    first = schedule_deadline(birth, FLU_FROM_MONTHS)
    last = max(count.doses.by_day, default=None)
    deadline = first if last is None else max(first, shift(last, years=1) - timedelta(days=1))
    if as_of > deadline:
        return f"influenza (yearly from {FLU_FROM_MONTHS} months)", None
    return "", deadline


def _missing_text(missing: list[tuple[date, ScheduleDose]]) -> list[str]:
    """ "DTaP 1, IPV 1 (by 2 months)", grouped by recommended age, earliest first."""
    groups: dict[str, list[str]] = {}
    for _, dose in sorted(missing, key=lambda t: t[0]):
        groups.setdefault(dose.ages, []).append(f"{dose.vaccine} {dose.number}")
    return [f"{', '.join(names)} (by {ages})" for ages, names in groups.items()]


# --- CMS155: weight assessment and counselling ------------------------------------------------


def _dated(ctx: MeasureContext, refs: list[str]) -> list[tuple[str, date | None]]:
    out = []
    for ref in refs:
        resource = ctx.chart.resolve(ref)
        out.append((ref, _day_of(resource, ctx.chart) if resource is not None else None))
    return out


@register(WEIGHT_COUNSELLING)
def child_weight_counselling(data: VisitInput) -> ScreeningResult | None:
    ctx = _measure_context(data, cms155.MEASURE.edition)
    age = ctx.age_at(data.as_of)
    if age is None or not 3 <= age <= 17:
        return None
    if cms155.denominator_exclusions(ctx):  # hospice, or a pregnancy overlapping the year
        return None
    parts: list[tuple[str, list[str]]] = [
        ("BMI", c.refs(cms155._vital_in_period(ctx, cms155.BMI))),
        ("height", c.refs(cms155._vital_in_period(ctx, cms155.BODY_HEIGHT))),
        ("weight", c.refs(cms155._vital_in_period(ctx, cms155.BODY_WEIGHT))),
        ("nutrition counselling", cms155.numerator_2(ctx)),
        ("physical-activity counselling", cms155.numerator_3(ctx)),
    ]
    seen: set[str] = set()
    evidence: list[Evidence] = []
    latest: dict[str, date] = {}
    for label, refs in parts:
        for ref, day in _dated(ctx, refs):
            if day is not None and (label not in latest or day > latest[label]):
                latest[label] = day
            if ref not in seen:
                seen.add(ref)
                evidence.append(_evidence(ctx.chart, ref, label.capitalize(), day))
    # Numerator 1 is the BMI, height and weight parts together; 2 and 3 are the counselling.
    missing = [label for label, refs in parts if not refs]
    last_done = max(latest.values(), default=None)
    if missing:
        status = Status.DUE
        text = "Not in the last 12 months: " + ", ".join(missing)
        next_due = None
    else:
        status = Status.COMPLETE
        oldest = min(latest.values())
        next_due = shift(oldest, years=1)
        text = "BMI, nutrition and activity counselling in the last 12 months"
        expiring = [label for label, day in latest.items() if day == oldest]
        text += f"; {', '.join(expiring)} due again {next_due.isoformat()}"
    return ScreeningResult(
        WEIGHT_COUNSELLING,
        "Weight, nutrition and activity (ages 3-17)",
        status,
        text,
        last_done=last_done,
        next_due=next_due,
        frequency="every 12 months",
        evidence=tuple(evidence),
    )


# --- CMS153: chlamydia screening ---------------------------------------------------------------


def _chlamydia_tests_ever(ctx: MeasureContext, as_of: date) -> list[tuple[date, JSON]]:
    """The measure's chlamydia results (status, category, a value) on any day up to the visit:
    the last one is named even when it is older than the rolling year."""
    found = q.lab_performed(ctx.chart.retrieve("Observation", cms153.CHLAMYDIA_SCREENING),
                            cms153.EDITION)  # fmt: skip
    out = []
    for obs in found:
        point = q.latest(q.choice_interval(obs, "effective", ctx.chart))
        if point is None or not any(key.startswith("value") for key in obs):
            continue
        if point.day_lo <= as_of:
            out.append((point.day_lo, obs))
    return sorted(out, key=lambda t: t[0])


@register(CHLAMYDIA)
def chlamydia_screening(data: VisitInput) -> ScreeningResult | None:
    ctx = _measure_context(data, cms153.MEASURE.edition)
    age = ctx.age_at(data.as_of)
    if ctx.chart.gender != "female" or age is None or not 16 <= age <= 24:
        return None
    indicators = cms153._other_indicators(ctx) + cms153.has_lab_tests_identifying_sexual_activity(
        ctx
    )
    if not indicators:
        return None
    if cms153.denominator_exclusions(ctx):  # hospice, or the pregnancy-test-only exclusion
        return None
    seen: set[str] = set()
    evidence = _evidence_of(ctx.chart, indicators, "Sign of sexual activity (CMS153)", seen)
    tests = cms153.numerator(ctx)
    evidence += _evidence_of(ctx.chart, tests, "Chlamydia test result", seen)
    history = _chlamydia_tests_ever(ctx, data.as_of)
    last_done = history[-1][0] if history else None
    if tests:
        days = [d for r in tests if (d := _day_of(r, ctx.chart)) is not None]
        latest = max(days) if days else last_done
        status = Status.COMPLETE
        next_due = shift(latest, years=1) if latest is not None else None
        when = f" on {latest.isoformat()}" if latest is not None else ""
        text = f"Chlamydia test result{when} (within 12 months)"
        last_done = latest or last_done
    else:
        status = Status.DUE
        next_due = None
        before = f"; last result {last_done.isoformat()}" if last_done is not None else ""
        text = f"No chlamydia test result in the last 12 months{before}"
        if history:
            evidence += _evidence_of(ctx.chart, [history[-1][1]], "Chlamydia test result", seen)
    return ScreeningResult(
        CHLAMYDIA,
        "Chlamydia screening (women 16-24)",
        status,
        text,
        last_done=last_done,
        next_due=next_due,
        frequency="every 12 months while sexually active",
        evidence=tuple(evidence),
    )


__all__ = [
    "CHLAMYDIA",
    "FLU_FROM_MONTHS",
    "IMMUNIZATIONS",
    "SCHEDULE",
    "VACCINES",
    "WEIGHT_COUNSELLING",
    "ScheduleDose",
    "child_weight_counselling",
    "childhood_immunizations",
    "chlamydia_screening",
    "schedule_deadline",
    "windows_until",
]
