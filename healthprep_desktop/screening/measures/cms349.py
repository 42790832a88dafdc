"""CMS349 HIV Screening (CMS349FHIRHIVScreening 0.3.000, qicore-2025).

Patients 15-65 at the START of the period with a finished office or preventive visit in it;
numerator: an HIV test with a result, final/amended/corrected, started before the end of the
period at any earlier time while the patient was 15-65. Excluded: HIV diagnosed before the
period (anything but refuted). Exception: died on or before the end of the period.

The measure includes CQMCommon 4.0.000 and QICoreCommon 4.0.000, but of them it only calls
QICoreCommon's `prevalenceInterval()` and `toInterval()` (in :mod:`.qicore`); no CQMCommon
definition is referenced. It applies no Status-library filters: its status checks are written
inline (`Encounter.status = 'finished'`, `status = 'final' or 'amended' or 'corrected'`, a case-
sensitive `=`), and the HIV conditions are filtered by `verificationStatus !~ refuted` rather
than `verified()`. Definitions are mapped in docs/measures/CMS349.md.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_is
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    before,
    during,
    on_or_before,
    parse_point,
)
from healthprep_desktop.screening.valuesets import LOINC

HIV = "2.16.840.1.113883.3.464.1003.120.12.1003"
HIV_LAB_TESTS = "2.16.840.1.113762.1.4.1056.50"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1022"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
PREVENTIVE_ESTABLISHED_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1024"
HIV_1_AND_2_TESTS_MU = "75622-1"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_DONE = ("final", "amended", "corrected")


# ---- helpers -----------------------------------------------------------------------------------


def has_value(obs: JSON) -> bool:
    """`Observation.value is not null`: any value[x] element present."""
    return any(key.startswith("value") and obs[key] is not None for key in obs)


def age_on(ctx: MeasureContext, point: Point | None) -> int | None:
    """AgeInYearsAt(date from point): unknown when the point's day is uncertain and the
    possible days give different ages."""
    if point is None:
        return None
    age_low, age_high = ctx.age_at(point.day_lo), ctx.age_at(point.day_hi)
    return age_low if age_low == age_high else None


# ---- Initial Population ----------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": Preventive Care initial/established (0-17 and 18 and up) or
    Office Visit; period during day of "Measurement Period"; status = 'finished'."""
    encounters = ctx.chart.retrieve(
        "Encounter",
        PREVENTIVE_INITIAL_0_17,
        PREVENTIVE_INITIAL_18,
        PREVENTIVE_ESTABLISHED_0_17,
        PREVENTIVE_ESTABLISHED_18,
        OFFICE_VISIT,
    )
    return [
        e
        for e in encounters
        if during(c.period_of(e), ctx.period.span, day=True) and e.get("status") == "finished"
    ]


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(date from start of MP) in Interval[15, 65] and exists
    "Qualifying Encounters". Returns the encounters."""
    age = ctx.age_at_start
    if age is None or not 15 <= age <= 65:
        return []
    return c.refs(qualifying_encounters(ctx))


# ---- Denominator Exclusions / Exceptions ---------------------------------------------------------


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": an HIV condition (no verified() filter) whose
    prevalenceInterval() starts before day of start of MP and whose verificationStatus is not
    equivalent to refuted (a missing status is kept)."""
    start = ctx.period.start
    hits = []
    for cond in ctx.chart.retrieve("Condition", HIV):
        span = q.prevalence_interval(cond, ctx.chart)
        if span is None or concept_is(cond.get("verificationStatus"), CONDITION_VER, "refuted"):
            continue
        if before(span.start_point(), start, day=True):
            hits.append(cond)
    return c.refs(hits)


def patient_expired(ctx: MeasureContext) -> bool:
    """ "Patient Expired": Patient.deceased on or before end of MP. Only deceasedDateTime can
    compare with a DateTime; deceasedBoolean (implicitly cast to DateTime: null) never does."""
    died = parse_point(ctx.chart.patient.get("deceasedDateTime"))
    return on_or_before(died, ctx.period.end) is True


def denominator_exceptions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exceptions": "Patient Expired"."""
    return [f"Patient/{ctx.chart.patient_id}"] if patient_expired(ctx) else []


# ---- Numerator ---------------------------------------------------------------------------------


def has_hiv_test_performed(ctx: MeasureContext) -> list[str]:
    """ "Has HIV Test Performed": HIV lab test (value set, or LOINC 75622-1), value not null,
    AgeInYearsAt(date from start of effective.toInterval()) in Interval[15, 65],
    effective.toInterval() starts before end of MP, status final/amended/corrected."""
    chart = ctx.chart
    tests = chart.retrieve("Observation", HIV_LAB_TESTS)
    seen = {id(o) for o in tests}
    tests += [
        o
        for o in chart.retrieve_code("Observation", LOINC, HIV_1_AND_2_TESTS_MU)
        if id(o) not in seen
    ]
    hits = []
    for o in tests:
        if o.get("status") not in _DONE or not has_value(o):
            continue
        span = q.choice_interval(o, "effective", chart)
        start = span.start_point() if span is not None else None
        age = age_on(ctx, start)
        if age is None or not 15 <= age <= 65:
            continue
        if before(start, ctx.period.end):
            hits.append(o)
    return c.refs(hits)


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": "Has HIV Test Performed"."""
    return has_hiv_test_performed(ctx)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = initial_population(ctx)
    if not encounters:
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx)
    numer = numerator(ctx)
    denexcep = denominator_exceptions(ctx)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            denexcep=bool(denexcep),
            evidence={
                "initial-population": encounters,
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": denexcep,
            },
        )
    ]


MEASURE = MeasureSpec(cms="CMS349", title="HIV Screening", edition="2025", evaluate=evaluate)
