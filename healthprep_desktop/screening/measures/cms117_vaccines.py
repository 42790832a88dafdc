"""CMS117 vaccine definitions: dose dates by the second birthday and the per-vaccine alternatives.

Every "<Vaccine> Immunizations or Procedures" definition returns *dates* (``date from
X.occurrence.earliest()`` / ``date from X.performed.earliest()``) and the unions between them
are distinct, so "N vaccinations, each 1 day or more after the previous" is "N distinct dose
dates". The "Numerator Inclusion Conditions" are plain Condition retrieves (no verification
filter in this CQL) whose prevalence starts during day of "First Two Years".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import JSON, reference_of
from healthprep_desktop.screening.measures.cqltime import Span, add_years, in_span
from healthprep_desktop.screening.valuesets import CVX, ICD10PCS, SNOMED

VS = "2.16.840.1.113883.3.464.1003."
DTAP_VACCINE = VS + "196.12.1214"
DTAP_ADMINISTERED = VS + "110.12.1022"
DTAP_ANAPHYLAXIS = VS + "199.12.1031"
DTP_ENCEPHALITIS = VS + "1164"
IPV_VACCINE = VS + "196.12.1219"
IPV_ADMINISTERED = VS + "110.12.1045"
MMR_VACCINE = VS + "196.12.1224"
MMR_ADMINISTERED = VS + "110.12.1031"
MEASLES = VS + "110.12.1053"
MUMPS = VS + "110.12.1032"
RUBELLA = VS + "110.12.1037"
HIB_3_VACCINE = VS + "110.12.1083"
HIB_3_ADMINISTERED = VS + "110.12.1084"
HIB_4_VACCINE = VS + "110.12.1085"
HIB_4_ADMINISTERED = VS + "110.12.1086"
HEPB_VACCINE = VS + "196.12.1216"
HEPB_ADMINISTERED = VS + "110.12.1042"
HEPATITIS_B = VS + "110.12.1025"
VZV_VACCINE = VS + "196.12.1170"
VZV_ADMINISTERED = VS + "110.12.1040"
VARICELLA_ZOSTER = VS + "110.12.1039"
PCV_VACCINE = VS + "196.12.1221"
PCV_ADMINISTERED = VS + "110.12.1046"
HEPA_VACCINE = VS + "196.12.1215"
HEPA_ADMINISTERED = VS + "110.12.1041"
HEPATITIS_A = VS + "110.12.1024"
ROTA_2_ADMINISTERED = VS + "110.12.1048"
ROTA_3_VACCINE = VS + "196.12.1223"
ROTA_3_ADMINISTERED = VS + "110.12.1047"
FLU_VACCINE = VS + "196.12.1218"
FLU_ADMINISTERED = VS + "110.12.1044"
LAIV_VACCINE = VS + "110.12.1087"
LAIV_ADMINISTERED = VS + "110.12.1088"

# Direct-reference codes.
ANAPHYLAXIS_HIB = "433621000124101"
ANAPHYLAXIS_HEPB = "428321000124101"
ANAPHYLAXIS_ROTAVIRUS = "428331000124103"
ANAPHYLAXIS_HEPA = "471311000124103"
ANAPHYLAXIS_FLU = "471361000124100"
ANAPHYLAXIS_MMR = "471331000124109"
ANAPHYLAXIS_PCV = "471141000124102"
ANAPHYLAXIS_POLIO = "471321000124106"
ANAPHYLAXIS_VZV = "471341000124104"
ROTAVIRUS_MONOVALENT_CVX = "119"
NEWBORN_INJECTION_PCS = "3E0234Z"


@dataclass(slots=True)
class Doses:
    """Distinct dose dates, with the resources behind each date."""

    by_day: dict[date, list[str]] = field(default_factory=dict)

    def add(self, day: date, resource: JSON) -> None:
        self.by_day.setdefault(day, []).append(reference_of(resource))

    def merge(self, other: Doses) -> Doses:
        out = Doses({d: list(r) for d, r in self.by_day.items()})
        for day, found in other.by_day.items():
            out.by_day.setdefault(day, []).extend(found)
        return out

    @property
    def count(self) -> int:
        return len(self.by_day)

    def refs(self) -> list[str]:
        return [r for day in sorted(self.by_day) for r in self.by_day[day]]


class Windows:
    """The measure's date intervals (all Interval[Date, Date], inclusive)."""

    def __init__(self, birth: date) -> None:
        self.birth = birth
        self.second_birthday = add_years(birth, 2)  # "Date of Second Birthday"
        self.first_birthday = add_years(birth, 1)  # "Date of First Birthday"
        self.first_two_years = (birth, self.second_birthday)
        self.from_42_days = (birth + timedelta(days=42), self.second_birthday)
        self.from_180_days = (birth + timedelta(days=180), self.second_birthday)
        self.second_year = (self.first_birthday, self.second_birthday)
        self.second_birthday_only = (self.second_birthday, self.second_birthday)
        self.newborn = (birth, birth + timedelta(days=7))


def _dose_day(resource: JSON, stem: str, ctx: MeasureContext) -> date | None:
    """`date from X.<stem>.earliest()`; a value not precise to the day is left out."""
    point = q.earliest(q.choice_interval(resource, stem, ctx.chart))
    if point is None or not point.is_day_exact:
        return None
    return point.day_lo


def _collect(
    ctx: MeasureContext, resources: list[JSON], stem: str, window: tuple[date, date]
) -> Doses:
    doses = Doses()
    for resource in resources:
        day = _dose_day(resource, stem, ctx)
        if day is not None and window[0] <= day <= window[1]:
            doses.add(day, resource)
    return doses


def immunizations(ctx: MeasureContext, oid: str, window: tuple[date, date]) -> Doses:
    """`([Immunization: vs]).isImmunizationAdministered()` with the occurrence date in window."""
    found = q.immunization_administered(ctx.chart.retrieve("Immunization", oid))
    return _collect(ctx, found, "occurrence", window)


def procedures(ctx: MeasureContext, oid: str, window: tuple[date, date]) -> Doses:
    """`([Procedure: vs]).isProcedurePerformed()` with the performed date in window."""
    found = q.procedure_performed(ctx.chart.retrieve("Procedure", oid))
    return _collect(ctx, found, "performed", window)


def both(ctx: MeasureContext, vaccine: str, administered: str, window: tuple[date, date]) -> Doses:
    """ "<Vaccine> Immunizations or Procedures": the union of both dose dates."""
    return immunizations(ctx, vaccine, window).merge(procedures(ctx, administered, window))


def inclusion_conditions(
    ctx: MeasureContext, windows: Windows, oids: tuple[str, ...] = (), codes: tuple[str, ...] = ()
) -> list[str]:
    """A "Numerator Inclusion Conditions" definition: ConditionEncounterDiagnosis union
    ConditionProblemsHealthConcerns (value sets and SNOMED codes) whose
    `date from start of prevalenceInterval()` is during day of "First Two Years"."""
    found: list[JSON] = list(ctx.chart.retrieve("Condition", *oids)) if oids else []
    for code in codes:
        found += ctx.chart.retrieve_code("Condition", SNOMED, code)
    first, last = windows.first_two_years
    span = Span.days(first, last)
    hits: list[str] = []
    for cond in found:
        prevalence = q.prevalence_interval(cond, ctx.chart)
        start = prevalence.start_point() if prevalence is not None else None
        if in_span(start, span, day=True) and reference_of(cond) not in hits:
            hits.append(reference_of(cond))
    return hits


def newborn_vaccine(ctx: MeasureContext, windows: Windows) -> Doses:
    """ "NewBorn Vaccine Requirement": ICD-10-PCS 3E0234Z performed within 7 days of birth."""
    found = q.procedure_performed(
        ctx.chart.retrieve_code("Procedure", ICD10PCS, NEWBORN_INJECTION_PCS)
    )
    return _collect(ctx, found, "performed", windows.newborn)


def rotavirus_two_dose(ctx: MeasureContext, windows: Windows) -> Doses:
    """ "Rotavirus 2 Dose Immunizations or Procedures": CVX 119 or the 2-dose procedures."""
    found = q.immunization_administered(
        ctx.chart.retrieve_code("Immunization", CVX, ROTAVIRUS_MONOVALENT_CVX)
    )
    doses = _collect(ctx, found, "occurrence", windows.from_42_days)
    return doses.merge(procedures(ctx, ROTA_2_ADMINISTERED, windows.from_42_days))


def influenza(ctx: MeasureContext, windows: Windows) -> Doses:
    """ "Influenza Immunizations or Procedures": immunizations from 42 days, procedures from
    180 days, up to the second birthday."""
    return immunizations(ctx, FLU_VACCINE, windows.from_42_days).merge(
        procedures(ctx, FLU_ADMINISTERED, windows.from_180_days)
    )


def laiv(ctx: MeasureContext, windows: Windows) -> Doses:
    """ "LAIV Vaccinations": on the second birthday itself."""
    return both(ctx, LAIV_VACCINE, LAIV_ADMINISTERED, windows.second_birthday_only)


__all__ = [
    "Doses",
    "Windows",
    "both",
    "immunizations",
    "inclusion_conditions",
    "influenza",
    "laiv",
    "newborn_vaccine",
    "procedures",
    "rotavirus_two_dose",
]
