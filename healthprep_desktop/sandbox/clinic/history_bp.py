"""Blood pressure histories (CMS22 screening, CMS165 control) for the synthetic clinic.

Scenario names start with the status a correct engine gives (see scenarios.expected_status):

- ``complete_bp``: one to three panel readings in the last year, all at goal (below 140/90).
- ``complete_bp_separate``: a reading charted as separate systolic and diastolic Observations.
- ``complete_bp_acute_care_high``: an office reading at goal, then a higher reading during an
  emergency visit or an inpatient stay, which never counts for control (CMS165).
- ``not_at_goal_bp`` (hypertension only): the latest office reading is at or above 140 systolic
  or 90 diastolic (sometimes charted as separate Observations), maybe after an older one at goal.
- ``due_systolic_only``: a systolic value without a diastolic one: no blood pressure.
- ``overdue_bp``, ``due_entered_in_error``: a reading too old, or one entered in error.
"""

from __future__ import annotations

from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.history_chart import History


def _at_goal(h: History) -> tuple[int, int]:
    return h.rng.randint(108, 138), h.rng.randint(64, 88)


def _high(h: History) -> tuple[int, int]:
    """Out of range by systolic, by diastolic, or by both."""
    kind = h.rng.randrange(3)
    if kind == 0:
        return h.rng.randint(142, 168), h.rng.randint(70, 88)
    if kind == 1:
        return h.rng.randint(112, 136), h.rng.randint(91, 99)
    return h.rng.randint(142, 168), h.rng.randint(91, 102)


def blood_pressure(h: History, scenario: str) -> None:
    chart = h.chart
    if scenario == "complete_bp":
        for _ in range(1 + h.rng.randrange(3)):
            chart.blood_pressure(h.days_ago(20, 250), *_at_goal(h))
    elif scenario == "complete_bp_separate":
        chart.blood_pressure_parts(h.days_ago(20, 250), *_at_goal(h))
    elif scenario == "complete_bp_acute_care_high":
        chart.blood_pressure(h.days_ago(120, 250), *_at_goal(h))
        _acute_care_reading(h, h.days_ago(10, 90))
    elif scenario == "not_at_goal_bp":
        if h.rng.random() < 0.5:
            chart.blood_pressure(h.days_ago(200, 300), *_at_goal(h))
        when = h.days_ago(20, 150)
        if h.rng.random() < 0.35:
            chart.blood_pressure_parts(when, *_high(h))
        else:
            chart.blood_pressure(when, *_high(h))
    elif scenario == "due_systolic_only":
        chart.blood_pressure_parts(h.days_ago(20, 250), h.rng.randint(112, 150), None)
    elif scenario == "overdue_bp":
        chart.blood_pressure(h.days_ago(560, 1000), *_at_goal(h))
    elif scenario == "due_entered_in_error":
        chart.blood_pressure(h.days_ago(20, 250), *_at_goal(h), status="entered-in-error")


def _acute_care_reading(h: History, start: date) -> None:
    """A high reading during an emergency visit or an inpatient stay (referenced by the
    Observation's ``encounter``; its time is inside the encounter's period too)."""
    systolic, diastolic = h.rng.randint(150, 185), h.rng.randint(92, 110)
    if h.rng.random() < 0.5:
        enc = h.chart.encounter(codes.ED_VISIT, start, klass="EMER", hour=9)
        h.chart.blood_pressure(start, systolic, diastolic, encounter=h.chart.ref(enc))
    else:
        enc = h.chart.encounter(codes.INPATIENT, start, klass="IMP", days=3, hour=9)
        h.chart.blood_pressure(
            start + timedelta(days=1), systolic, diastolic, encounter=h.chart.ref(enc)
        )


__all__ = ["blood_pressure"]
