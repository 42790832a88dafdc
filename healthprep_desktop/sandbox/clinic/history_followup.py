"""Writes the visit-day scenarios (visit_scenarios.py) and the toddlers' immunization series.

Runs after the rest of a chart is written, so a chart without these scenarios is unchanged and
the ids of everything before them stay as they were. Every code comes from a shipped value set
(checked when first used, as in codes.py), except the two CMS2 direct-reference codes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.chart import SURVEY, VITALS, coded, quantity
from healthprep_desktop.sandbox.clinic.codes import Concept, concept_json
from healthprep_desktop.sandbox.clinic.history_chart import History
from healthprep_desktop.screening.valuesets import CVX, SNOMED, Coding

JSON = dict[str, Any]
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


class VS:
    """Value sets of the visit-day shapes (CMS2, CMS69, CMS138, exceptions, CMS117 vaccines)."""

    REFERRAL_ADULT_DEPRESSION = "2.16.840.1.113883.3.526.3.1571"
    FOLLOW_UP_ABOVE_NORMAL_BMI = "2.16.840.1.113883.3.600.1.1525"
    OVERWEIGHT_OR_OBESE = "2.16.840.1.113762.1.4.1047.502"
    CESSATION_COUNSELING = "2.16.840.1.113883.3.526.3.509"
    PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
    MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
    FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"
    DTAP = "2.16.840.1.113883.3.464.1003.196.12.1214"
    IPV = "2.16.840.1.113883.3.464.1003.196.12.1219"
    MMR = "2.16.840.1.113883.3.464.1003.196.12.1224"
    HIB_3_DOSE = "2.16.840.1.113883.3.464.1003.110.12.1083"
    HEPB = "2.16.840.1.113883.3.464.1003.196.12.1216"
    VZV = "2.16.840.1.113883.3.464.1003.196.12.1170"
    PCV = "2.16.840.1.113883.3.464.1003.196.12.1221"
    HEPA = "2.16.840.1.113883.3.464.1003.196.12.1215"
    ROTAVIRUS_3_DOSE = "2.16.840.1.113883.3.464.1003.196.12.1223"
    INFLUENZA = "2.16.840.1.113883.3.464.1003.196.12.1218"


def _vs(key: str, text: str, oid: str, *found: tuple[str, str]) -> Concept:
    return Concept(key=key, text=text, codes=found, oid=oid)


# CMS2 direct-reference code (no value set): "Depression screening positive (finding)".
DEPRESSION_POSITIVE = Coding(SNOMED, "428181000124104", "Depression screening positive (finding)")
DEPRESSION_REFERRAL = _vs(
    "psychiatry_referral",
    "Referral to psychiatry service",
    VS.REFERRAL_ADULT_DEPRESSION,
    (SNOMED, "183524004"),
)
DIET_EDUCATION = _vs(
    "diet_education", "Diet education", VS.FOLLOW_UP_ABOVE_NORMAL_BMI, (SNOMED, "11816003")
)
OVERWEIGHT = _vs(
    "bmi_25_29", "Overweight (BMI 25-29)", VS.OVERWEIGHT_OR_OBESE, (SNOMED, "162863004")
)
OBESE = _vs("bmi_30_plus", "Obesity (BMI 30+)", VS.OVERWEIGHT_OR_OBESE, (SNOMED, "162864005"))
CESSATION_EDUCATION = _vs(
    "smoking_cessation_education",
    "Smoking cessation education",
    VS.CESSATION_COUNSELING,
    (SNOMED, "225323000"),
)
DECLINED = _vs(
    "declined_intervention",
    "Patient declined",
    VS.PATIENT_DECLINED,
    (SNOMED, "413311005"),
)
CONTRAINDICATED = _vs(
    "procedure_contraindicated", "Procedure contraindicated", VS.MEDICAL_REASON,
    (SNOMED, "183932001"),
)  # fmt: skip
NOT_INDICATED = _vs(
    "procedure_not_indicated", "Procedure not indicated", VS.MEDICAL_REASON, (SNOMED, "428119001")
)
MEDICAL_PRECAUTION = {
    "coding": [{"system": ACT_REASON, "code": "MEDPREC", "display": "medical precaution"}],
    "text": "Not given: medical precaution",
}
WALKER = _vs("wheeled_walker", "Wheeled walker", VS.FRAILTY_DEVICE, (SNOMED, "1255320005"))

DTAP = _vs("dtap", "DTaP", VS.DTAP, (CVX, "20"))
IPV = _vs("ipv", "Poliovirus vaccine, inactivated", VS.IPV, (CVX, "10"))
MMR = _vs("mmr", "MMR", VS.MMR, (CVX, "03"))
HIB = _vs("hib_prp_omp", "Hib (PRP-OMP)", VS.HIB_3_DOSE, (CVX, "49"))
HEPB = _vs("hepb_peds", "Hepatitis B, pediatric", VS.HEPB, (CVX, "08"))
VARICELLA = _vs("varicella", "Varicella", VS.VZV, (CVX, "21"))
PCV13 = _vs("pcv13", "Pneumococcal conjugate PCV13", VS.PCV, (CVX, "133"))
HEPA = _vs("hepa_peds", "Hepatitis A, pediatric", VS.HEPA, (CVX, "83"))
ROTAVIRUS = _vs("rv5", "Rotavirus, pentavalent", VS.ROTAVIRUS_3_DOSE, (CVX, "116"))
FLU_PEDIATRIC = _vs("flu_peds", "Influenza, quadrivalent, pediatric", VS.INFLUENZA, (CVX, "161"))

# CMS117 by the second birthday: (vaccine, days after birth of each dose), on the CDC schedule.
SERIES: tuple[tuple[Concept, tuple[int, ...]], ...] = (
    (HEPB, (0, 31, 183)),
    (DTAP, (61, 122, 183, 457)),
    (IPV, (61, 122, 183)),
    (HIB, (61, 122, 372)),
    (PCV13, (61, 122, 183, 372)),
    (ROTAVIRUS, (61, 122, 183)),
    (FLU_PEDIATRIC, (190, 220)),
    (MMR, (372,)),
    (VARICELLA, (372,)),
    (HEPA, (380,)),
)


def all_concepts() -> tuple[Concept, ...]:
    """Every concept defined here (tests check each resolves against its value set)."""
    return tuple(v for v in globals().values() if isinstance(v, Concept))


# --- writers ----------------------------------------------------------------------------------


def _recent(h: History) -> date:
    """A day in the last three weeks: newer than any screening a profile scenario writes."""
    return h.days_ago(3, 19)


def _soon_after(h: History, day: date) -> date:
    return min(day + timedelta(days=h.rng.randint(0, 2)), h.reference)


def _positive_depression_screen(h: History) -> date:
    when = _recent(h)
    encounter = h.chart.visit(when)
    h.chart.observation(
        codes.PHQ9,
        when,
        category=SURVEY,
        encounter=encounter,
        value={"valueInteger": h.rng.randint(10, 19)},
    )
    h.chart.observation(
        codes.ADULT_DEPRESSION_SCREEN,
        when,
        category=SURVEY,
        encounter=encounter,
        value={"valueCodeableConcept": coded(DEPRESSION_POSITIVE)},
    )
    return when


def depression(h: History, scenario: str) -> None:
    when = _positive_depression_screen(h)
    if scenario == "complete_positive_screen_referred":
        h.chart.service_request(DEPRESSION_REFERRAL, _soon_after(h, when), status="completed")


def bmi(h: History, scenario: str) -> None:
    when = _recent(h)
    value = round(h.rng.uniform(25.5, 36.0), 1)
    h.chart.observation(
        codes.BMI,
        when,
        category=VITALS,
        encounter=h.chart.visit(when),
        value={"valueQuantity": quantity(value, "kg/m2", "kg/m2")},
    )
    if scenario == "complete_bmi_above_normal_with_plan":
        plan = h.chart.procedure(DIET_EDUCATION, _soon_after(h, when))
        plan["reasonCode"] = [concept_json(OBESE if value >= 30 else OVERWEIGHT)]


def tobacco(h: History, scenario: str) -> None:
    # The profile's smoking status screen is 20 to 250 days old: counselling comes after it.
    if scenario == "complete_tobacco_user_counseled":
        h.chart.procedure(CESSATION_EDUCATION, h.days_ago(1, 15))


def blood_pressure(h: History, scenario: str) -> None:
    if scenario == "follow_up_needed_elevated_bp":
        h.chart.blood_pressure(_recent(h), h.rng.randint(121, 136), h.rng.randint(70, 79))


def _reason(scenario: str, h: History) -> JSON:
    if scenario.startswith("declined_"):
        return concept_json(DECLINED)
    return concept_json(CONTRAINDICATED if h.rng.random() < 0.5 else NOT_INDICATED)


def colorectal(h: History, scenario: str) -> None:
    if scenario in ("declined_colonoscopy", "medical_reason_colonoscopy"):
        h.chart.procedure(
            codes.COLONOSCOPY[0],
            h.days_ago(20, 300),
            status="not-done",
            status_reason=_reason(scenario, h),
        )


def breast(h: History, scenario: str) -> None:
    if scenario in ("declined_mammogram_order", "medical_reason_mammogram_order"):
        h.chart.service_request(
            codes.MAMMOGRAPHY[0],
            h.days_ago(20, 300),
            status="active",
            do_not_perform=True,
            reason=_reason(scenario, h),
        )


def influenza(h: History, scenario: str) -> None:
    if scenario == "medical_reason_influenza":
        h.chart.immunization(
            codes.pick(h.rng, codes.INFLUENZA),
            h.days_ago(10, 60),
            status="not-done",
            status_reason=MEDICAL_PRECAUTION,
        )


WRITERS: dict[str, Callable[[History, str], None]] = {
    "depression": depression,
    "bmi": bmi,
    "tobacco": tobacco,
    "blood_pressure": blood_pressure,
    "colorectal": colorectal,
    "breast": breast,
    "influenza": influenza,
}


def childhood_series(h: History, complete: bool) -> None:
    """CMS117's ten vaccines on the CDC schedule, every dose given up to today; an incomplete
    series misses the last dose of one to three vaccines (a one-dose vaccine altogether)."""
    missing: set[int] = set()
    if not complete:
        missing = set(h.rng.sample(range(len(SERIES)), h.rng.randint(1, 3)))
    birth = h.plan.birth_date
    for n, (vaccine, offsets) in enumerate(SERIES):
        doses = offsets[:-1] if n in missing else offsets
        for offset in doses:
            day = birth + timedelta(days=offset + h.rng.randrange(4))
            if day < h.reference:
                h.chart.immunization(vaccine, day)


def visit_day_history(h: History) -> None:
    for key, scenario in h.plan.visit.items():
        writer = WRITERS.get(key)
        if writer is not None:
            writer(h, scenario)
    if h.plan.traits.get("order") == "frailty_device":
        h.chart.device_request(WALKER, h.days_ago(30, 200))
    series = h.plan.traits.get("immunizations")
    if series is not None:
        childhood_series(h, series == "complete_series")


__all__ = ["SERIES", "VS", "WRITERS", "all_concepts", "childhood_series", "visit_day_history"]
