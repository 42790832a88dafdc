"""Scenario writers for adult immunizations: influenza, pneumococcal, zoster and Tdap.

See history.py: a scenario writes only the evidence its name promises.
"""

from __future__ import annotations

from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.clock import years_before
from healthprep_desktop.sandbox.clinic.history_chart import History

PATIENT_DECLINED = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "PATOBJ",
            "display": "patient objection",
        }
    ],
    "text": "Patient declined",
}


def influenza(h: History, scenario: str) -> None:
    reference = h.reference
    season = date(reference.year if reference.month >= 8 else reference.year - 1, 8, 1)
    if scenario == "complete_this_season":
        span = max((reference - season).days - 7, 1)
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA), season + timedelta(days=h.rng.randrange(span))
        )
    elif scenario == "due_last_season_only":
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA),
            years_before(season, 1) + timedelta(days=h.rng.randint(40, 120)),
        )
    elif scenario == "due_declined":
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA),
            h.days_ago(10, 60),
            status="not-done",
            status_reason=PATIENT_DECLINED,
        )


def pneumococcal(h: History, scenario: str) -> None:
    if scenario == "complete_pcv20":
        h.chart.immunization(codes.PCV20, h.years_ago(0.5, 4))
    elif scenario == "complete_pcv15_ppsv23":
        first = h.years_ago(2, 5)
        h.chart.immunization(codes.PCV15, first)
        h.chart.immunization(codes.PPSV23, first + timedelta(days=h.rng.randint(365, 500)))


def zoster(h: History, scenario: str) -> None:
    if scenario == "complete_two_doses":
        first = h.years_ago(1, 5)
        h.chart.immunization(codes.ZOSTER, first)
        h.chart.immunization(codes.ZOSTER, first + timedelta(days=h.rng.randint(60, 180)))
    elif scenario == "due_one_dose_only":
        h.chart.immunization(codes.ZOSTER, h.years_ago(1, 3))


def tdap(h: History, scenario: str) -> None:
    if scenario == "complete_tdap":
        when = h.years_ago(0.5, 8)
    elif scenario == "due_soon_tdap":
        when = h.due_soon(10)
    elif scenario == "overdue_tdap":
        when = h.years_ago(12, 16)
    else:
        return
    h.chart.immunization(codes.TDAP, when)
