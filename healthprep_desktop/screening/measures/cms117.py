"""CMS117 Childhood Immunization Status (CMS117FHIRChildhoodImmunizationStatus 0.3.000).

qicore-2025 edition (QI-Core 6, Status 1.13 / Hospice 6.18 as shipped).

Children who turn 2 during the period with a qualifying visit in it; numerator: every one of
ten vaccines (DTaP, IPV, MMR, Hib, HepB, VZV, PCV, HepA, rotavirus, influenza) given often
enough by the second birthday, or that vaccine's alternative (anaphylaxis to it, or the
disease itself, started in the first two years). Dose dates and windows live in
:mod:`.cms117_vaccines`; definitions are mapped in docs/measures/CMS117.md.
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
from healthprep_desktop.screening.measures.cms117_vaccines import (
    ANAPHYLAXIS_FLU,
    ANAPHYLAXIS_HEPA,
    ANAPHYLAXIS_HEPB,
    ANAPHYLAXIS_HIB,
    ANAPHYLAXIS_MMR,
    ANAPHYLAXIS_PCV,
    ANAPHYLAXIS_POLIO,
    ANAPHYLAXIS_ROTAVIRUS,
    ANAPHYLAXIS_VZV,
    DTAP_ADMINISTERED,
    DTAP_ANAPHYLAXIS,
    DTAP_VACCINE,
    DTP_ENCEPHALITIS,
    HEPA_ADMINISTERED,
    HEPA_VACCINE,
    HEPATITIS_A,
    HEPATITIS_B,
    HEPB_ADMINISTERED,
    HEPB_VACCINE,
    HIB_3_ADMINISTERED,
    HIB_3_VACCINE,
    HIB_4_ADMINISTERED,
    HIB_4_VACCINE,
    IPV_ADMINISTERED,
    IPV_VACCINE,
    MEASLES,
    MMR_ADMINISTERED,
    MMR_VACCINE,
    MUMPS,
    PCV_ADMINISTERED,
    PCV_VACCINE,
    ROTA_3_ADMINISTERED,
    ROTA_3_VACCINE,
    RUBELLA,
    VARICELLA_ZOSTER,
    VZV_ADMINISTERED,
    VZV_VACCINE,
    Windows,
    both,
    inclusion_conditions,
    influenza,
    laiv,
    newborn_vaccine,
    rotavirus_two_dose,
)
from healthprep_desktop.screening.measures.cqltime import during
from healthprep_desktop.screening.valuesets import CPT

OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
PREVENTIVE_ESTABLISHED_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1024"
PREVENTIVE_INITIAL_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1022"
VIRTUAL_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1089"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
ESTABLISHED_MINIMAL_CPT = "99211"

SEVERE_COMBINED_IMMUNODEFICIENCY = "2.16.840.1.113883.3.464.1003.120.12.1007"
DISORDERS_OF_IMMUNE_SYSTEM = "2.16.840.1.113883.3.464.1003.120.12.1001"
HIV = "2.16.840.1.113883.3.464.1003.120.12.1003"
LYMPHATIC_HEMATOPOIETIC_CANCER = "2.16.840.1.113883.3.464.1003.108.12.1009"
INTUSSUSCEPTION = "2.16.840.1.113883.3.464.1003.199.12.1056"


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": the visit value sets or CPT 99211 in Encounter.type,
    isEncounterPerformed (finished), period during day of "Measurement Period"."""
    found = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        HOME_HEALTHCARE,
        PREVENTIVE_ESTABLISHED_0_17,
        PREVENTIVE_INITIAL_0_17,
        VIRTUAL_ENCOUNTER,
        TELEPHONE_VISITS,
    )
    for enc in ctx.chart.all_of("Encounter"):
        if enc not in found and any(
            concept_is(t, CPT, ESTABLISHED_MINIMAL_CPT) for t in enc.get("type") or ()
        ):
            found.append(enc)
    return [
        e
        for e in q.encounter_performed(found, ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def initial_population(ctx: MeasureContext) -> list[JSON]:
    """ "Initial Population": AgeInYearsAt(date from end of MP) = 2 and a qualifying visit."""
    if ctx.age_at_end != 2:
        return []
    return qualifying_encounters(ctx)


def denominator_exclusions(ctx: MeasureContext, windows: Windows) -> list[str]:
    """ "Denominator Exclusions": hospice, or SCID / immunodeficiency / HIV / lymphoreticular
    cancer / intussusception with prevalence starting during day of "First Two Years"."""
    hospice = c.has_hospice_services(ctx)
    if hospice:
        return hospice
    return inclusion_conditions(
        ctx,
        windows,
        oids=(
            SEVERE_COMBINED_IMMUNODEFICIENCY,
            DISORDERS_OF_IMMUNE_SYSTEM,
            HIV,
            LYMPHATIC_HEMATOPOIETIC_CANCER,
            INTUSSUSCEPTION,
        ),
    )


def dtap(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Four DTaP Vaccinations" or "DTaP Numerator Inclusion Conditions"."""
    doses = both(ctx, DTAP_VACCINE, DTAP_ADMINISTERED, w.from_42_days)
    if doses.count >= 4:
        return doses.refs()
    return inclusion_conditions(ctx, w, oids=(DTAP_ANAPHYLAXIS, DTP_ENCEPHALITIS))


def polio(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Three Polio Vaccinations" or "Polio Numerator Inclusion Conditions"."""
    doses = both(ctx, IPV_VACCINE, IPV_ADMINISTERED, w.from_42_days)
    if doses.count >= 3:
        return doses.refs()
    return inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_POLIO,))


def mmr(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "One MMR Vaccination" (first to second birthday), "MMR Numerator Inclusion
    Conditions", or Measles and Mumps and Rubella indicators."""
    doses = both(ctx, MMR_VACCINE, MMR_ADMINISTERED, w.second_year)
    if doses.count >= 1:
        return doses.refs()
    anaphylaxis = inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_MMR,))
    if anaphylaxis:
        return anaphylaxis
    # "Measles Indicators" retrieves ConditionEncounterDiagnosis twice; without profile
    # checking that is every Measles Condition, as for Mumps and Rubella.
    indicators = [inclusion_conditions(ctx, w, oids=(vs,)) for vs in (MEASLES, MUMPS, RUBELLA)]
    return [r for found in indicators for r in found] if all(indicators) else []


def hib(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Has Appropriate Number of Hib Immunizations": 4 distinct dates when any dose is of the
    4-dose schedule, else 3; or "Hib Numerator Inclusion Conditions"."""
    three = both(ctx, HIB_3_VACCINE, HIB_3_ADMINISTERED, w.from_42_days)
    four = both(ctx, HIB_4_VACCINE, HIB_4_ADMINISTERED, w.from_42_days)
    doses = three.merge(four)
    needed = 4 if four.count > 0 else 3
    if doses.count >= needed:
        return doses.refs()
    return inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_HIB,))


def hepatitis_b(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Three Hepatitis B Vaccinations", "Meets HepB Vaccination Requirement" (the newborn
    injection then two later doses), or "Hepatitis B Numerator Inclusion Conditions"."""
    doses = both(ctx, HEPB_VACCINE, HEPB_ADMINISTERED, w.first_two_years)
    if doses.count >= 3:
        return doses.refs()
    newborn = newborn_vaccine(ctx, w)
    if newborn.count:
        first = min(newborn.by_day)
        later = [day for day in doses.by_day if day > first]
        if len(later) >= 2:
            return newborn.by_day[first] + [r for day in later for r in doses.by_day[day]]
    return inclusion_conditions(ctx, w, oids=(HEPATITIS_B,), codes=(ANAPHYLAXIS_HEPB,))


def varicella(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "One Chicken Pox Vaccination" or "Varicella Zoster Numerator Inclusion Conditions"."""
    doses = both(ctx, VZV_VACCINE, VZV_ADMINISTERED, w.second_year)
    if doses.count >= 1:
        return doses.refs()
    return inclusion_conditions(ctx, w, oids=(VARICELLA_ZOSTER,), codes=(ANAPHYLAXIS_VZV,))


def pneumococcal(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Four Pneumococcal Conjugate Vaccinations" or its inclusion conditions."""
    doses = both(ctx, PCV_VACCINE, PCV_ADMINISTERED, w.from_42_days)
    if doses.count >= 4:
        return doses.refs()
    return inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_PCV,))


def hepatitis_a(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "One Hepatitis A Vaccinations" or "Hepatitis A Numerator Inclusion Conditions"."""
    doses = both(ctx, HEPA_VACCINE, HEPA_ADMINISTERED, w.second_year)
    if doses.count >= 1:
        return doses.refs()
    return inclusion_conditions(ctx, w, oids=(HEPATITIS_A,), codes=(ANAPHYLAXIS_HEPA,))


def rotavirus(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Has Appropriate Number of Rotavirus Immunizations": 3 distinct dates when any dose is
    of the 3-dose schedule, else 2; or "Rotavirus Numerator Inclusion Conditions"."""
    three = both(ctx, ROTA_3_VACCINE, ROTA_3_ADMINISTERED, w.from_42_days)
    doses = rotavirus_two_dose(ctx, w).merge(three)
    needed = 3 if three.count > 0 else 2
    if doses.count >= needed:
        return doses.refs()
    return inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_ROTAVIRUS,))


def influenza_vaccines(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Two Influenza Vaccinations", "Two Influenza Vaccinations Including One LAIV
    Vaccination" (an LAIV on the second birthday and any influenza dose), or the
    "Influenza Numerator Inclusion Conditions"."""
    doses = influenza(ctx, w)
    if doses.count >= 2:
        return doses.refs()
    live = laiv(ctx, w)
    if live.count and doses.count:
        return live.refs() + doses.refs()
    return inclusion_conditions(ctx, w, codes=(ANAPHYLAXIS_FLU,))


VACCINES = (
    dtap,
    polio,
    mmr,
    hib,
    hepatitis_b,
    varicella,
    pneumococcal,
    hepatitis_a,
    rotavirus,
    influenza_vaccines,
)


def numerator(ctx: MeasureContext, w: Windows) -> list[str]:
    """ "Numerator": every one of the ten vaccine criteria is met."""
    found: list[str] = []
    for vaccine in VACCINES:
        refs = vaccine(ctx, w)
        if not refs:
            return []
        found += refs
    return found


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = initial_population(ctx)
    birth = ctx.chart.birth_date
    if not encounters or birth is None:
        return [patient_outcome(ipp=False, denom=False)]
    windows = Windows(birth)
    denex = denominator_exclusions(ctx, windows)
    numer = numerator(ctx, windows)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            evidence={
                "initial-population": c.refs(encounters),
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS117", title="Childhood Immunization Status", edition="2025", evaluate=evaluate
)
