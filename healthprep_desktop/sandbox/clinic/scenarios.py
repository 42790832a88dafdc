"""Which screening scenario each synthetic patient is built for.

A scenario name starts with the status a correct engine should give (see `expected_status`):
`complete_colonoscopy`, `due_soon_mammogram`, `due_never`, `overdue_fit`, `excluded_hospice`,
`not_eligible_prediabetes`, `insufficient_no_birth_date`. A patient's profile has a key only where
the generator built an unambiguous case: ages are kept a year or more inside each guideline's range
and dates well inside or outside each interval, except the `due_soon_*` cases, whose next due date
falls 5 to 25 days after the reference date.

Scenarios are dealt in cycles per screening, distinct outcomes first, so even a small clinic (about
50 patients) holds every outcome; a few whole-chart archetypes (hospice, frailty with advanced
illness, palliative care, no birth date, sex only in an extension, children) sit on fixed slots
of every 50 patients. The second child slot is a toddler (1-3) with a CMS117 immunization series,
and visit-day scenarios (follow-up needed, declined, medical reason: visit_scenarios.py) are dealt
on top of the profiles without changing the status the engine's rules give for them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic.clock import age_on, years_before
from healthprep_desktop.sandbox.clinic.patient_plan import PatientPlan as PatientPlan  # re-export
from healthprep_desktop.sandbox.clinic.visit_scenarios import (
    TODDLER_SLOT,
    deal_visit_day,
    toddler_age,
)

# Prefix of a scenario name -> healthprep_desktop.screening.model.Status value.
_STATUS_PREFIXES = (
    ("not_eligible", "not_applicable"),
    ("insufficient", "insufficient_data"),
    ("excluded", "not_applicable"),
    ("due_soon", "due_soon"),
    ("not_at_goal", "not_at_goal"),
    ("complete", "complete"),
    ("overdue", "overdue"),
    ("due", "due"),
)


# Screening key of a profile -> the screening group id the default library reports it under
# (healthprep_desktop/resources/screening/library.json), for tests and demos that compare.
ENGINE_GROUPS: dict[str, str] = {
    "breast": "breast_cancer",
    "cervical": "cervical_cancer",
    "colorectal": "colorectal_cancer",
    "osteoporosis": "osteoporosis",
    "lung": "lung_cancer",
    "aaa": "abdominal_aortic_aneurysm",
    "hiv": "hiv",
    "hepatitis_c": "hepatitis_c",
    "blood_pressure": "blood_pressure",
    "lipids": "lipids_statin",
    "statin": "lipids_statin",
    "depression": "depression",
    "tobacco": "tobacco_use",
    "hba1c": "diabetes_hba1c",
    "eye_exam": "diabetic_eye_exam",
    "kidney": "kidney_health",
    "influenza": "influenza_vaccine",
    "pneumococcal": "pneumococcal_vaccine",
    "zoster": "zoster_vaccine",
    "tdap": "td_tdap_vaccine",
}


def expected_status(scenario: str) -> str:
    """The Status value (screening.model.Status) a scenario is built to produce."""
    for prefix, status in _STATUS_PREFIXES:
        if scenario == prefix or scenario.startswith(prefix + "_"):
            return status
    raise ValueError(f"scenario {scenario!r} has no status prefix")


class Archetype:
    HOSPICE = "hospice"
    FRAILTY = "frailty_advanced_illness"
    PALLIATIVE = "palliative"
    NO_BIRTH_DATE = "no_birth_date"
    GENDER_UNKNOWN = "gender_unknown"
    GENDER_ABSENT = "gender_absent"
    CHILD = "child"
    AGE_BOUNDARY = "age_boundary"


# Slot (index + seed) % 50 -> archetype: each appears once in any 50 consecutive patients.
_ARCHETYPE_SLOTS = {
    3: Archetype.HOSPICE,
    11: Archetype.FRAILTY,
    19: Archetype.NO_BIRTH_DATE,
    27: Archetype.GENDER_UNKNOWN,
    31: Archetype.PALLIATIVE,
    35: Archetype.GENDER_ABSENT,
    41: Archetype.CHILD,
    44: Archetype.AGE_BOUNDARY,
    47: Archetype.CHILD,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """Scenarios for one screening: who gets one, and the cycle they are dealt from."""

    key: str
    eligible: Callable[[PatientPlan], bool]
    distinct: tuple[str, ...]  # every outcome, dealt first
    filler: tuple[str, ...]  # the usual mix after that
    min_age: dict[str, int] = field(default_factory=dict)  # scenario -> youngest age it fits
    # scenario -> who it fits beyond the rule's eligibility (e.g. hypertension for control)
    needs: dict[str, Callable[[PatientPlan], bool]] = field(default_factory=dict)


def _female(lo: int, hi: int) -> Callable[[PatientPlan], bool]:
    return lambda p: p.sex == "female" and lo <= p.age <= hi


def _statin_diabetic(p: PatientPlan) -> bool:
    return p.diabetes in ("type1", "type2") and 41 <= p.age <= 74


def _anyone(lo: int, hi: int) -> Callable[[PatientPlan], bool]:
    return lambda p: lo <= p.age <= hi


RULES: tuple[Rule, ...] = (
    Rule(
        "breast",
        _female(52, 73),
        (
            "complete_mammogram",
            "due_never",
            "excluded_bilateral_mastectomy",
            "due_soon_mammogram",
            "overdue_mammogram",
            "complete_document_only",
            "excluded_unilateral_left_and_right",
            "due_entered_in_error",
            "excluded_history_bilateral_mastectomy",
            "due_unilateral_left_only",
        ),
        (
            "complete_mammogram",
            "complete_mammogram",
            "due_never",
            "complete_mammogram",
            "overdue_mammogram",
        ),
    ),
    Rule(
        "cervical",
        _female(23, 63),
        (
            "complete_cytology",
            "due_never",
            "excluded_hysterectomy",
            "due_soon_cytology",
            "overdue_cytology",
            "complete_hpv",
            "complete_document_only",
            "due_cytology_without_result",
            "excluded_absence_of_cervix",
        ),
        ("complete_cytology", "complete_hpv", "due_never", "complete_cytology"),
        {"complete_hpv": 34, "overdue_cytology": 31},
    ),
    Rule(
        "colorectal",
        _anyone(46, 74),
        (
            "complete_colonoscopy",
            "due_never",
            "excluded_total_colectomy",
            "due_soon_colonoscopy",
            "overdue_colonoscopy",
            "complete_fit",
            "complete_document_only",
            "excluded_colorectal_cancer",
            "overdue_fit",
            "due_not_done",
            "complete_ct_colonography",
            "complete_sigmoidoscopy",
            "complete_sdna",
            "complete_colonoscopy_period_end_only",
            "due_document_entered_in_error",
            "due_referral_only",
        ),
        (
            "complete_colonoscopy",
            "complete_fit",
            "due_never",
            "complete_colonoscopy",
            "overdue_colonoscopy",
        ),
        {"due_soon_colonoscopy": 57, "overdue_colonoscopy": 58},
    ),
    Rule(
        "osteoporosis",
        _female(66, 84),
        ("complete_dxa", "due_never", "complete_document_only"),
        ("complete_dxa", "due_never"),
    ),
    Rule(
        "lung",
        # Current smokers only: former smokers qualify only within 15 years of quitting, which
        # the chart does not record.
        lambda p: 51 <= p.age <= 79 and p.smoking == "current" and p.pack_years >= 25,
        ("complete_ldct", "due_never", "overdue_ldct"),
        ("complete_ldct", "due_never"),
    ),
    Rule(
        "aaa",
        lambda p: p.sex == "male" and 66 <= p.age <= 74 and p.smoking in ("current", "former"),
        ("complete_aaa_ultrasound", "due_never"),
        ("complete_aaa_ultrasound", "due_never"),
    ),
    Rule(
        "hiv",
        _anyone(16, 64),
        ("complete_hiv_test", "due_never", "excluded_hiv_diagnosis"),
        ("due_never", "complete_hiv_test") * 5,
    ),
    Rule(
        "hepatitis_c", _anyone(19, 78), ("complete_hcv_test", "due_never"), ("complete_hcv_test",)
    ),
    Rule(
        "blood_pressure",
        # Hypertension moves a patient from BP screening (CMS22, which excludes it) to BP control
        # (CMS165, 18-85): past 85 a hypertensive patient is eligible for neither.
        lambda p: p.age >= 19 and not (p.hypertension and p.age >= 85),
        (
            "complete_bp",
            "not_at_goal_bp",
            "overdue_bp",
            "due_never",
            "due_entered_in_error",
            "complete_bp_separate",
            "due_systolic_only",
            "complete_bp_acute_care_high",
        ),
        ("complete_bp", "not_at_goal_bp", "complete_bp", "complete_bp_separate", "complete_bp"),
        # CMS165 control applies with hypertension only (CMS22 screening has no goal).
        needs={"not_at_goal_bp": lambda p: p.hypertension},
    ),
    Rule(
        "lipids",
        # Patients with cardiovascular disease, or diabetics 40-75, get the statin-therapy
        # variants instead (CMS347 populations 1 and 3).
        lambda p: 41 <= p.age <= 75 and not p.ascvd and not _statin_diabetic(p),
        ("complete_lipid_panel", "overdue_lipid_panel", "due_never"),
        ("complete_lipid_panel",) * 3,
    ),
    Rule(
        "statin",
        # CMS347 population 1: clinical ASCVD at any adult age; population 3: diabetes at 40-75
        # (kept a year inside the range). An active statin order completes.
        lambda p: (p.ascvd and p.age >= 22) or _statin_diabetic(p),
        ("complete_statin", "due_no_statin"),
        ("complete_statin",),
    ),
    Rule(
        "depression",
        _anyone(19, 200),
        ("complete_phq9", "due_never", "due_soon_phq9", "overdue_phq9"),
        ("complete_phq9",) * 4,
    ),
    Rule(
        "tobacco",
        _anyone(19, 200),
        ("complete_smoking_status", "due_never", "overdue_smoking_status"),
        ("complete_smoking_status",) * 4,
    ),
    Rule(
        "hba1c",
        lambda p: p.diabetes in ("type1", "type2") and 19 <= p.age <= 74,
        ("complete_hba1c", "not_at_goal_hba1c", "due_never", "overdue_hba1c", "due_result_missing"),
        ("complete_hba1c", "not_at_goal_hba1c", "complete_hba1c"),
    ),
    Rule(
        "eye_exam",
        lambda p: p.diabetes in ("type1", "type2") and 19 <= p.age <= 74,
        ("complete_retinal_exam", "due_never", "complete_document_only", "overdue_retinal_exam"),
        ("complete_retinal_exam", "due_never"),
    ),
    Rule(
        "kidney",
        lambda p: p.diabetes in ("type1", "type2") and 19 <= p.age <= 74,
        ("complete_egfr_and_uacr", "due_uacr_missing", "due_never"),
        ("complete_egfr_and_uacr",) * 2,
    ),
    Rule(
        "influenza",
        _anyone(19, 200),
        ("complete_this_season", "due_last_season_only", "due_never", "due_declined"),
        ("complete_this_season",) * 3,
    ),
    Rule(
        "pneumococcal",
        _anyone(66, 200),
        ("complete_pcv20", "due_never", "complete_pcv15_ppsv23"),
        ("complete_pcv20", "due_never"),
    ),
    Rule(
        "zoster",
        _anyone(51, 200),
        ("complete_two_doses", "due_never", "due_one_dose_only"),
        ("complete_two_doses", "due_never"),
    ),
    Rule(
        "tdap",
        _anyone(19, 200),
        ("complete_tdap", "due_soon_tdap", "overdue_tdap", "due_never"),
        ("complete_tdap",) * 3,
    ),
)

# Screenings whose measure excludes hospice, palliative care or frailty with advanced illness.
_HOSPICE_EXCLUDES = (
    "breast",
    "cervical",
    "colorectal",
    "osteoporosis",
    "hba1c",
    "eye_exam",
    "kidney",
)
_PALLIATIVE_EXCLUDES = ("breast", "cervical", "colorectal", "hba1c", "eye_exam", "kidney")
_FRAILTY_EXCLUDES = ("breast", "colorectal", "hba1c", "eye_exam")
_DIABETES_SCREENINGS = ("hba1c", "eye_exam", "kidney")


def _birth_date(rng: random.Random, reference: date, age: int) -> date:
    latest = years_before(reference, age)  # turns `age` on the reference date
    return latest - timedelta(days=1 + rng.randrange(364))


def _age_for(rng: random.Random, archetype: str | None) -> int:
    if archetype == Archetype.CHILD:
        return rng.randint(2, 17)
    if archetype == Archetype.HOSPICE:
        return rng.randint(68, 88)
    if archetype == Archetype.FRAILTY:
        return rng.randint(67, 73)  # 66+ and still inside the breast and colorectal age ranges
    if archetype == Archetype.PALLIATIVE:
        return rng.randint(55, 72)
    if archetype in (Archetype.GENDER_UNKNOWN, Archetype.GENDER_ABSENT):
        return rng.randint(53, 63)
    if archetype == Archetype.NO_BIRTH_DATE:
        return rng.randint(52, 63)
    bands = ((18, 39, 26), (40, 49, 15), (50, 64, 29), (65, 74, 18), (75, 90, 12))
    pick = rng.randrange(100)
    for lo, hi, weight in bands:
        if pick < weight:
            return rng.randint(lo, hi)
        pick -= weight
    raise AssertionError("age bands must sum to 100")


def plan_patients(seed: int, count: int, reference: date, practitioners: int) -> list[PatientPlan]:
    plans: list[PatientPlan] = []
    for index in range(count):
        rng = random.Random(f"healthprep-clinic/{seed}/plan/{index}")
        archetype = _ARCHETYPE_SLOTS.get((index + seed) % 50)
        age = _age_for(rng, archetype)
        if (index + seed) % 50 == TODDLER_SLOT:
            age = toddler_age(index, seed)  # a 1-3-year-old with an immunization series
        if archetype == Archetype.AGE_BOUNDARY:
            age = 45
            birth = years_before(reference, 45)  # 45th birthday on the reference date
        else:
            birth = _birth_date(rng, reference, age)
        sex = "female" if rng.random() < 0.52 else "male"
        if archetype in (Archetype.GENDER_UNKNOWN, Archetype.GENDER_ABSENT):
            sex = "female"  # so breast and cervical screening hang on the extension alone
        adult = age >= 18
        smoking_draw = rng.random()
        smoking = "never"
        if adult:
            smoking = (
                "current" if smoking_draw < 0.16 else "former" if smoking_draw < 0.40 else "never"
            )
        pack_years = rng.randint(5, 45) if smoking != "never" else 0
        diabetes_draw = rng.random()
        diabetes = "none"
        if adult and age >= 25:
            if diabetes_draw < 0.15:
                diabetes = "type2"
            elif diabetes_draw < 0.17:
                diabetes = "type1"
            elif diabetes_draw < 0.27:
                diabetes = "prediabetes"
            elif diabetes_draw < 0.29:
                diabetes = "refuted"
        hypertension = adult and rng.random() < min(0.7, 0.1 + age / 120)
        # Drawn last so every earlier draw (and so every earlier plan) stays as it was.
        ascvd = age >= 55 and rng.random() < 0.1
        plans.append(
            PatientPlan(
                index=index,
                id=f"pat-{index + 1:05d}",
                sex=sex,
                birth_date=birth,
                age=age_on(birth, reference),
                archetype=archetype,
                practitioner=index % practitioners,
                smoking=smoking,
                pack_years=pack_years,
                diabetes=diabetes,
                hypertension=hypertension,
                ascvd=ascvd,
            )
        )
    _deal(plans)
    deal_visit_day(plans, seed)
    return plans


def _deal(plans: list[PatientPlan]) -> None:
    pending: dict[str, list[str]] = {rule.key: [] for rule in RULES}
    for plan in plans:
        if plan.archetype is not None:
            plan.traits["archetype"] = plan.archetype
        if plan.archetype == Archetype.CHILD:
            continue
        if plan.archetype == Archetype.AGE_BOUNDARY:
            # Guidelines differ on 45 vs 46 (USPSTF vs CMS130): recorded, not asserted.
            plan.traits["age_boundary"] = "turns_45_on_reference_date"
            continue
        if plan.archetype in (Archetype.GENDER_UNKNOWN, Archetype.GENDER_ABSENT):
            plan.traits["sex_source"] = "extension_only"
        whole_chart = _whole_chart_outcome(plan)
        for rule in RULES:
            if not rule.eligible(plan):
                continue
            if whole_chart is not None:
                outcome, applies_to = whole_chart
                if rule.key in applies_to:
                    plan.profile[rule.key] = outcome
                continue  # other screenings of these charts stay empty and unasserted
            queue = pending[rule.key]
            if not queue:
                queue.extend(rule.distinct + rule.filler)
            for position, scenario in enumerate(queue):
                fits = rule.needs.get(scenario)
                if plan.age >= rule.min_age.get(scenario, 0) and (fits is None or fits(plan)):
                    plan.profile[rule.key] = queue.pop(position)
                    break
            else:  # nothing in this round fits the patient's age: the plainest outcome
                plan.profile[rule.key] = "due_never"
        if plan.hypertension and plan.age >= 87 and whole_chart is None:
            plan.profile["blood_pressure"] = "not_eligible_hypertension_over_85"
        if plan.profile.get("tobacco") == "due_never":
            # With no smoking status on the chart, smoking-based eligibility cannot be known.
            plan.profile.pop("lung", None)
            plan.profile.pop("aaa", None)
        if (
            plan.diabetes in ("prediabetes", "refuted")
            and 19 <= plan.age <= 74
            and whole_chart is None
        ):
            for key in _DIABETES_SCREENINGS:
                plan.profile[key] = f"not_eligible_{plan.diabetes}"


def _whole_chart_outcome(plan: PatientPlan) -> tuple[str, tuple[str, ...]] | None:
    if plan.archetype == Archetype.HOSPICE:
        return "excluded_hospice", _HOSPICE_EXCLUDES
    if plan.archetype == Archetype.PALLIATIVE:
        return "excluded_palliative_care", _PALLIATIVE_EXCLUDES
    if plan.archetype == Archetype.FRAILTY:
        return "excluded_frailty_advanced_illness", _FRAILTY_EXCLUDES
    if plan.archetype == Archetype.NO_BIRTH_DATE:
        return "insufficient_no_birth_date", ("breast", "cervical", "colorectal")
    return None
