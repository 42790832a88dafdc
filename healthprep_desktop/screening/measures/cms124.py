"""CMS124 Cervical Cancer Screening (CMS124FHIRCervicalCancerScreening 0.4.000, qicore-2025).

Women (Patient.sex female) 24-64 at the end of the period with a qualifying visit (the
measure's own "Qualifying Encounters": no annual wellness visit); numerator: cervical cytology
with a result in the period or the 2 years before, or an HPV test with a result in the period or
the 4 years before, done at age 30 or older. Definitions are mapped in docs/measures/CMS124.md.
"""

from __future__ import annotations

from datetime import date

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    during,
    in_span,
    on_or_before,
    shift_point,
)

ABSENCE_OF_CERVIX = "2.16.840.1.113883.3.464.1003.111.12.1016"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
HPV_TEST = "2.16.840.1.113883.3.464.1003.110.12.1059"
HYSTERECTOMY_NO_RESIDUAL_CERVIX = "2.16.840.1.113883.3.464.1003.198.12.1014"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
VIRTUAL_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1089"
PAP_TEST = "2.16.840.1.113883.3.464.1003.108.12.1017"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
FEMALE = "248152002"


# ---- helpers -----------------------------------------------------------------------------------


def has_value(obs: JSON) -> bool:
    """`Observation.value is not null`: any value[x] element present."""
    return any(key.startswith("value") and obs[key] is not None for key in obs)


def lookback(ctx: MeasureContext, years: int) -> Span:
    """Interval[start of "Measurement Period" - N years, end of "Measurement Period"]."""
    return Span(shift_point(ctx.period.start, years=-years), ctx.period.end)


def _latest(ctx: MeasureContext, obs: JSON) -> Point | None:
    """`effective.latest()`."""
    return q.latest(q.choice_interval(obs, "effective", ctx.chart))


def age_on(ctx: MeasureContext, point: Point | None) -> int | None:
    """AgeInYearsAt(date from point): unknown when the point's day is uncertain and the
    possible days give different ages."""
    if point is None:
        return None
    low: date = point.day_lo
    high: date = point.day_hi
    age_low, age_high = ctx.age_at(low), ctx.age_at(high)
    return age_low if age_low == age_high else None


# ---- Initial Population ----------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": Office Visit, Preventive Care (established/initial, 18 and up),
    Home Healthcare, Telephone, Virtual; finished; period during day of "Measurement Period"."""
    encounters = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        HOME_HEALTHCARE,
        TELEPHONE_VISITS,
        VIRTUAL_ENCOUNTER,
    )
    return [
        e
        for e in q.encounter_performed(encounters, ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(date from end of MP) in Interval[24, 64], Patient.sex
    = '248152002' and exists "Qualifying Encounters". Returns the encounters."""
    age = ctx.age_at_end
    if age is None or not 24 <= age <= 64 or ctx.chart.sex != FEMALE:
        return []
    return c.refs(qualifying_encounters(ctx))


# ---- Denominator Exclusions ----------------------------------------------------------------------


def absence_of_cervix(ctx: MeasureContext) -> list[str]:
    """ "Absence of Cervix": a completed Hysterectomy with No Residual Cervix whose
    performed.toInterval() ends on or before end of MP, or a verified Congenital or Acquired
    Absence of Cervix whose prevalenceInterval() starts on or before end of MP (no "day of")."""
    end = ctx.period.end
    hits: list[JSON] = []
    procedures = ctx.chart.retrieve("Procedure", HYSTERECTOMY_NO_RESIDUAL_CERVIX)
    for proc in q.procedure_performed(procedures):
        span = q.choice_interval(proc, "performed", ctx.chart)
        if span is not None and on_or_before(span.end_point(), end):
            hits.append(proc)
    for cond in c.conditions(ctx, ABSENCE_OF_CERVIX):
        span = q.prevalence_interval(cond, ctx.chart)
        if span is not None and on_or_before(span.start_point(), end):
            hits.append(cond)
    return c.refs(hits)


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": hospice, absence of cervix, or palliative care."""
    return c.has_hospice_services(ctx) or absence_of_cervix(ctx) or c.has_palliative_care(ctx)


# ---- Numerator ---------------------------------------------------------------------------------


def cervical_cytology_within_3_years(ctx: MeasureContext) -> list[str]:
    """ "Cervical Cytology Within 3 Years": Pap Test, final/amended/corrected, effective.latest()
    during day of [start of MP - 2 years, end of MP], value not null."""
    window = lookback(ctx, 2)
    labs = q.lab_performed(ctx.chart.retrieve("Observation", PAP_TEST), ctx.edition)
    return c.refs([o for o in labs if in_span(_latest(ctx, o), window, day=True) and has_value(o)])


def hpv_test_within_5_years_age_30(ctx: MeasureContext) -> list[str]:
    """ "HPV Test Within 5 Years for Women Age 30 and Older": HPV Test, final/amended/corrected,
    AgeInYearsAt(date from effective.latest()) >= 30, latest during day of
    [start of MP - 4 years, end of MP], value not null."""
    window = lookback(ctx, 4)
    labs = q.lab_performed(ctx.chart.retrieve("Observation", HPV_TEST), ctx.edition)
    hits = []
    for o in labs:
        latest = _latest(ctx, o)
        age = age_on(ctx, latest)
        if age is not None and age >= 30 and in_span(latest, window, day=True) and has_value(o):
            hits.append(o)
    return c.refs(hits)


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": cytology within 3 years or HPV within 5 years at 30+."""
    return cervical_cytology_within_3_years(ctx) + hpv_test_within_5_years_age_30(ctx)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = initial_population(ctx)
    if not encounters:
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx)
    numer = numerator(ctx)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            evidence={
                "initial-population": encounters,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS124", title="Cervical Cancer Screening", edition="2025", evaluate=evaluate
)
