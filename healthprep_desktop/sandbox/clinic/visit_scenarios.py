"""Visit-day scenarios: the statuses the prep sheet gives after the engine's interval rules.

`healthprep_desktop.screening.visit_status.refine` turns some of the engine's results into
FOLLOW_UP_NEEDED, DECLINED or MEDICAL_REASON from chart data (an abnormal result with no
follow-up, a not-done record with a coded reason). These scenarios sit on top of a patient's
screening profile (scenarios.py) without changing what the engine's rules give for it: the
profile keeps naming the engine's status, and `PatientPlan.visit` names the visit-day status,
with the same prefix convention (see `expected_visit_status`):

- ``depression``: on a ``complete_phq9`` chart, a newer positive adult depression screen
  (LOINC 73832-8 = SNOMED 428181000124104), with no follow-up (``follow_up_needed_positive_screen``)
  or with a completed referral ordered on or after it (``complete_positive_screen_referred``).
- ``bmi``: a newer BMI of 25 or more, with no plan (``follow_up_needed_bmi_above_normal``) or
  with a completed follow-up procedure whose reason is overweight/obesity
  (``complete_bmi_above_normal_with_plan``).
- ``tobacco``: a current smoker's ``complete_smoking_status`` screen (a tobacco user), with no
  counselling (``follow_up_needed_tobacco_user``) or with cessation counselling after it
  (``complete_tobacco_user_counseled``).
- ``blood_pressure``: on a ``complete_bp`` chart without hypertension, a newer elevated reading
  (120-139 / under 80) with no follow-up (``follow_up_needed_elevated_bp``).
- ``colorectal``: on a ``due_never`` chart, a not-done colonoscopy with a "Patient Declined" or
  "Medical Reason" value-set reason (``declined_colonoscopy``, ``medical_reason_colonoscopy``);
  the profile's ``due_not_done`` (refused, SNOMED 105480006) is labelled
  ``declined_colonoscopy_refused``.
- ``breast``: on a ``due_never`` chart, a mammogram order with doNotPerform and a declined or
  medical reason (``declined_mammogram_order``, ``medical_reason_mammogram_order``).
- ``influenza``: on a ``due_never`` chart, a not-given influenza vaccine for a medical precaution
  (``medical_reason_influenza``); the profile's ``due_declined`` (v3-ActReason PATOBJ) is
  labelled ``declined_influenza``.

Whole-chart extras, in `PatientPlan.traits`: ``order`` = ``frailty_device`` (an ordinary
DeviceRequest for a walker, 76-80-year-olds) and, for the toddler slot, ``immunizations`` =
``complete_series`` or ``incomplete_series`` (CMS117 vaccines, children aged 1 to 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from healthprep_desktop.sandbox.clinic.patient_plan import PatientPlan

# The second child slot of every 50 patients (scenarios._ARCHETYPE_SLOTS) is a toddler.
TODDLER_SLOT = 47
# Toddler k of a clinic (k = (index + seed) // 50): age and whether the series is complete.
_TODDLERS = ((2, True), (2, False), (1, True), (3, False), (2, True), (2, False), (3, True),
             (1, False))  # fmt: skip

_VISIT_PREFIXES = (
    ("follow_up_needed", "follow_up_needed"),
    ("medical_reason", "medical_reason"),
    ("declined", "declined"),
    ("complete", "complete"),
)


def toddler_age(index: int, seed: int) -> int:
    return _TODDLERS[((index + seed) // 50) % len(_TODDLERS)][0]


def expected_visit_status(scenario: str) -> str:
    """The Status value (screening.model.Status) `visit_status.refine` gives a visit scenario."""
    for prefix, status in _VISIT_PREFIXES:
        if scenario.startswith(prefix + "_"):
            return status
    raise ValueError(f"visit scenario {scenario!r} has no status prefix")


@dataclass(frozen=True, slots=True)
class VisitRule:
    key: str
    eligible: Callable[[PatientPlan], bool]
    cycle: tuple[str | None, ...]  # dealt in turn to eligible patients; None: nothing added


def _plain(plan: PatientPlan) -> bool:
    return plan.archetype is None


def _profile_is(key: str, scenario: str) -> Callable[[PatientPlan], bool]:
    return lambda p: _plain(p) and p.profile.get(key) == scenario


_QUIET = (None,) * 5
_POSITIVE, _REFERRED = "follow_up_needed_positive_screen", "complete_positive_screen_referred"
_HIGH_BMI, _HIGH_BMI_PLAN = (
    "follow_up_needed_bmi_above_normal",
    "complete_bmi_above_normal_with_plan",
)

VISIT_RULES: tuple[VisitRule, ...] = (
    VisitRule(
        "depression",
        _profile_is("depression", "complete_phq9"),
        (_POSITIVE, _REFERRED, *_QUIET, _POSITIVE, *_QUIET, _REFERRED, *_QUIET),
    ),
    VisitRule(
        "bmi",
        lambda p: _plain(p) and p.age >= 19,
        (_HIGH_BMI, _HIGH_BMI_PLAN, *_QUIET, _HIGH_BMI_PLAN, *_QUIET),
    ),
    VisitRule(
        "tobacco",
        lambda p: _profile_is("tobacco", "complete_smoking_status")(p) and p.smoking == "current",
        ("follow_up_needed_tobacco_user", "complete_tobacco_user_counseled"),
    ),
    VisitRule(
        "blood_pressure",
        lambda p: _profile_is("blood_pressure", "complete_bp")(p) and not p.hypertension,
        ("follow_up_needed_elevated_bp", None, None),
    ),
    VisitRule(
        "colorectal",
        _profile_is("colorectal", "due_never"),
        ("declined_colonoscopy", "medical_reason_colonoscopy", None),
    ),
    VisitRule(
        "breast",
        _profile_is("breast", "due_never"),
        ("declined_mammogram_order", "medical_reason_mammogram_order", None),
    ),
    VisitRule(
        "influenza", _profile_is("influenza", "due_never"), ("medical_reason_influenza", None)
    ),
)

# Profile scenarios that already give a visit-day status: labelled, nothing added.
_LABELS = {
    ("colorectal", "due_not_done"): "declined_colonoscopy_refused",
    ("influenza", "due_declined"): "declined_influenza",
}


def deal_visit_day(plans: list[PatientPlan], seed: int) -> None:
    """Deal the visit-day scenarios and whole-chart extras, in patient order (deterministic)."""
    queues: dict[str, list[str | None]] = {rule.key: [] for rule in VISIT_RULES}
    devices = 0
    for plan in plans:
        for (key, scenario), label in _LABELS.items():
            if plan.profile.get(key) == scenario:
                plan.visit[key] = label
        for rule in VISIT_RULES:
            if not rule.eligible(plan):
                continue
            queue = queues[rule.key]
            if not queue:
                queue.extend(rule.cycle)
            picked = queue.pop(0)
            if picked is not None:
                plan.visit[rule.key] = picked
        if _plain(plan) and 76 <= plan.age <= 80:
            if devices % 2 == 0:
                plan.traits["order"] = "frailty_device"
            devices += 1
        if (plan.index + seed) % 50 == TODDLER_SLOT:
            complete = _TODDLERS[((plan.index + seed) // 50) % len(_TODDLERS)][1]
            plan.traits["immunizations"] = "complete_series" if complete else "incomplete_series"


__all__ = [
    "TODDLER_SLOT",
    "VISIT_RULES",
    "VisitRule",
    "deal_visit_day",
    "expected_visit_status",
    "toddler_age",
]
