"""The codes the synthetic clinic writes: taken from the shipped eCQM value sets where one exists.

Every concept names the value set it comes from, and its codes are looked up in that value set
when first used (a code missing from it raises), so a chart never carries a code the screening
engine cannot match. Concepts with no shipped value set (prediabetes, COPD, PHQ-9, Tdap, ...)
use well-known public codes, written out here with the source they come from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from healthprep_desktop.screening.valuesets import (
    CPT,
    CVX,
    HCPCS,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    Coding,
    ValueSet,
    load_valueset,
)

JSON = dict[str, Any]


class VS:
    """OIDs of the value sets the generator draws from (named as in valuesets/index.csv)."""

    ADVANCED_ILLNESS = "2.16.840.1.113883.3.464.1003.110.12.1082"
    ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
    ATHEROSCLEROSIS = "2.16.840.1.113762.1.4.1047.21"
    BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1005"
    CKD_STAGE_5 = "2.16.840.1.113883.3.526.3.1002"
    COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
    CT_COLONOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1038"
    DEMENTIA_MEDICATIONS = "2.16.840.1.113883.3.464.1003.196.12.1510"
    DEPRESSION_MEDICATIONS = "2.16.840.1.113883.3.526.3.1566"
    DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
    DXA = "2.16.840.1.113883.3.464.1003.113.12.1051"
    ED_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1010"
    EGFR = "2.16.840.1.113883.3.6929.3.1000"
    ENCOUNTER_INPATIENT = "2.16.840.1.113883.3.666.5.307"
    ESSENTIAL_HYPERTENSION = "2.16.840.1.113883.3.464.1003.104.12.1011"
    FLEXIBLE_SIGMOIDOSCOPY = "2.16.840.1.113883.3.464.1003.198.12.1010"
    FOBT = "2.16.840.1.113883.3.464.1003.198.12.1011"
    FRAILTY_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.113.12.1074"
    HBA1C = "2.16.840.1.113883.3.464.1003.198.12.1013"
    HIGH_INTENSITY_STATIN = "2.16.840.1.113883.3.526.3.1572"
    HISTORY_BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1068"
    HIV = "2.16.840.1.113883.3.464.1003.120.12.1003"
    HIV_LAB_TESTS = "2.16.840.1.113762.1.4.1056.50"
    HOSPICE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.1003"
    HOSPICE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1165"
    HPV_TEST = "2.16.840.1.113883.3.464.1003.110.12.1059"
    HYPERTENSION_MEDICATIONS = "2.16.840.1.113883.3.526.1577"
    HYSTERECTOMY_NO_CERVIX = "2.16.840.1.113883.3.464.1003.198.12.1014"
    ABSENCE_OF_CERVIX = "2.16.840.1.113883.3.464.1003.111.12.1016"
    INFLUENZA_VACCINE = "2.16.840.1.113883.3.464.1003.196.12.1218"
    LDL = "2.16.840.1.113883.3.526.3.1573"
    MAMMOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1018"
    COLON_CANCER = "2.16.840.1.113883.3.464.1003.108.12.1001"
    MODERATE_INTENSITY_STATIN = "2.16.840.1.113883.3.526.3.1575"
    OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
    OUTPATIENT_CONSULTATION = "2.16.840.1.113883.3.464.1003.101.12.1008"
    PALLIATIVE_CARE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1167"
    PALLIATIVE_CARE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1090"
    PAP_TEST = "2.16.840.1.113883.3.464.1003.108.12.1017"
    PNEUMOCOCCAL_CONJUGATE_VACCINE = "2.16.840.1.113883.3.464.1003.196.12.1221"
    PREVENTIVE_VISIT_18_UP = "2.16.840.1.113883.3.464.1003.101.12.1025"
    RETINAL_EYE_EXAM = "2.16.840.1.113883.3.464.1003.115.12.1088"
    SDNA_FIT = "2.16.840.1.113883.3.464.1003.108.12.1039"
    TOBACCO_NON_USER = "2.16.840.1.113883.3.526.3.1189"
    TOBACCO_USE_SCREENING = "2.16.840.1.113883.3.526.3.1278"
    TOBACCO_USER = "2.16.840.1.113883.3.526.3.1170"
    TOTAL_COLECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1019"
    TYPE_1_DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1020"
    UACR = "2.16.840.1.113883.3.6929.3.1007"
    UNILATERAL_MASTECTOMY_LEFT = "2.16.840.1.113883.3.464.1003.198.12.1133"
    UNILATERAL_MASTECTOMY_RIGHT = "2.16.840.1.113883.3.464.1003.198.12.1134"


@cache
def valueset(oid: str) -> ValueSet:
    """The shipped value set (resources/valuesets/<oid>.json)."""
    return load_valueset(oid)


@cache
def _member(oid: str, system: str, code: str) -> Coding:
    for coding in valueset(oid).codes:
        if coding.system == system and coding.code == code:
            return coding
    raise KeyError(f"{system}|{code} is not in value set {oid}")


@dataclass(frozen=True, slots=True)
class Concept:
    """One clinical idea with its codings in several systems (e.g. ICD-10-CM and SNOMED CT).

    `oid` is the value set the codes come from (None: public codes with no shipped value set).
    Codes are given as (system, code); displays come from the value set, or `displays` when
    there is none.
    """

    key: str
    text: str
    codes: tuple[tuple[str, str], ...]
    oid: str | None = None
    displays: tuple[str, ...] = ()

    def codings(self) -> tuple[Coding, ...]:
        return _codings(self)

    def first(self, system: str) -> Coding:
        for coding in self.codings():
            if coding.system == system:
                return coding
        raise KeyError(f"{self.key} has no {system} code")


@cache
def _codings(concept: Concept) -> tuple[Coding, ...]:
    if concept.oid is not None:
        return tuple(_member(concept.oid, system, code) for system, code in concept.codes)
    return tuple(
        Coding(system, code, display)
        for (system, code), display in zip(concept.codes, concept.displays, strict=True)
    )


def coding_json(coding: Coding) -> JSON:
    return {"system": coding.system, "code": coding.code, "display": coding.display}


def concept_json(concept: Concept, rng: random.Random | None = None) -> JSON:
    """A CodeableConcept. With an rng, charts vary: one coding (any system) or all of them,
    because real EHRs send either and the engine must match each system on its own."""
    codings = concept.codings()
    if rng is not None and len(codings) > 1 and rng.random() < 0.5:
        codings = (codings[rng.randrange(len(codings))],)
    return {"coding": [coding_json(c) for c in codings], "text": concept.text}


def pick(rng: random.Random, concepts: tuple[Concept, ...]) -> Concept:
    return concepts[rng.randrange(len(concepts))]


def _vs(key: str, text: str, oid: str, *codes: tuple[str, str]) -> Concept:
    return Concept(key=key, text=text, codes=codes, oid=oid)


def _direct(key: str, text: str, *codes: tuple[str, str, str]) -> Concept:
    return Concept(
        key=key,
        text=text,
        codes=tuple((system, code) for system, code, _ in codes),
        displays=tuple(display for _, _, display in codes),
    )


# --- Conditions -------------------------------------------------------------------------------

DIABETES_T2 = (
    _vs(
        "diabetes_t2",
        "Type 2 diabetes mellitus",
        VS.DIABETES,
        (ICD10CM, "E11.9"),
        (SNOMED, "44054006"),
    ),
    _vs(
        "diabetes_t2_hyperglycemia",
        "Type 2 diabetes with hyperglycemia",
        VS.DIABETES,
        (ICD10CM, "E11.65"),
    ),
)
DIABETES_T1 = _vs(
    "diabetes_t1",
    "Type 1 diabetes mellitus",
    VS.TYPE_1_DIABETES,
    (ICD10CM, "E10.9"),
    (SNOMED, "46635009"),
)
# ICD-10-CM R73.03 and SNOMED CT 714628002: prediabetes is deliberately NOT in the Diabetes value
# set; a chart with it must never trigger the diabetes screenings.
PREDIABETES = _direct(
    "prediabetes",
    "Prediabetes",
    (ICD10CM, "R73.03", "Prediabetes"),
    (SNOMED, "714628002", "Prediabetes (finding)"),
)
HYPERTENSION = _vs(
    "hypertension",
    "Essential hypertension",
    VS.ESSENTIAL_HYPERTENSION,
    (ICD10CM, "I10"),
    (SNOMED, "59621000"),
)
CKD_3 = _direct(
    "ckd3",
    "Chronic kidney disease stage 3",
    (ICD10CM, "N18.30", "Chronic kidney disease, stage 3 unspecified"),
    (SNOMED, "433144002", "Chronic kidney disease stage 3 (disorder)"),
)
CKD_5 = _vs(
    "ckd5",
    "Chronic kidney disease stage 5",
    VS.CKD_STAGE_5,
    (ICD10CM, "N18.5"),
    (SNOMED, "433146000"),
)
COPD = _direct(
    "copd",
    "Chronic obstructive pulmonary disease",
    (ICD10CM, "J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    (SNOMED, "13645005", "Chronic obstructive lung disease (disorder)"),
)
DEPRESSION = _direct(
    "depression",
    "Depression",
    (ICD10CM, "F32.A", "Depression, unspecified"),
    (SNOMED, "35489007", "Depressive disorder (disorder)"),
)
HYPERLIPIDEMIA = _direct(
    "hyperlipidemia",
    "Hyperlipidemia",
    (ICD10CM, "E78.5", "Hyperlipidemia, unspecified"),
    (SNOMED, "55822004", "Hyperlipidemia (disorder)"),
)
OBESITY = _direct(
    "obesity",
    "Obesity",
    (ICD10CM, "E66.9", "Obesity, unspecified"),
    (SNOMED, "414916001", "Obesity (disorder)"),
)
CORONARY_DISEASE = _vs("cad", "Coronary artery disease", VS.ATHEROSCLEROSIS, (ICD10CM, "I25.10"))
BREAST_CANCER = _direct(
    "breast_cancer",
    "Malignant neoplasm of breast",
    (ICD10CM, "C50.911", "Malignant neoplasm of unspecified site of right female breast"),
    (SNOMED, "254837009", "Malignant neoplasm of breast (disorder)"),
)
COLORECTAL_CANCER = (
    _vs("colon_cancer", "Malignant neoplasm of colon", VS.COLON_CANCER, (ICD10CM, "C18.9")),
    _vs("colon_cancer_history", "History of colon cancer", VS.COLON_CANCER, (ICD10CM, "Z85.038")),
    _vs(
        "colon_adenocarcinoma",
        "Adenocarcinoma of colon",
        VS.COLON_CANCER,
        (SNOMED, "1701000119104"),
    ),
)
HIV_INFECTION = _vs("hiv", "HIV disease", VS.HIV, (ICD10CM, "B20"))
FRAILTY = (
    _vs("reduced_mobility", "Reduced mobility", VS.FRAILTY_DIAGNOSIS, (ICD10CM, "Z74.09")),
    _vs(
        "needs_personal_care",
        "Needs assistance with personal care",
        VS.FRAILTY_DIAGNOSIS,
        (ICD10CM, "Z74.1"),
    ),
)
ADVANCED_ILLNESS = (
    _vs("alzheimers", "Alzheimer's disease", VS.ADVANCED_ILLNESS, (ICD10CM, "G30.9")),
    _vs("heart_failure", "Heart failure", VS.ADVANCED_ILLNESS, (ICD10CM, "I50.9")),
)
HISTORY_BILATERAL_MASTECTOMY = _vs(
    "history_bilateral_mastectomy",
    "Acquired absence of bilateral breasts",
    VS.HISTORY_BILATERAL_MASTECTOMY,
    (ICD10CM, "Z90.13"),
    (SNOMED, "428529004"),
)
ABSENCE_OF_CERVIX = _vs(
    "absence_of_cervix",
    "Acquired absence of cervix and uterus",
    VS.ABSENCE_OF_CERVIX,
    (ICD10CM, "Z90.710"),
    (SNOMED, "428078001"),
)
HOSPICE_FINDING = _vs(
    "hospice_care", "Full care by hospice", VS.HOSPICE_DIAGNOSIS, (SNOMED, "170935008")
)
PALLIATIVE_DIAGNOSIS = _vs(
    "palliative_care",
    "Encounter for palliative care",
    VS.PALLIATIVE_CARE_DIAGNOSIS,
    (ICD10CM, "Z51.5"),
)

# --- Procedures -------------------------------------------------------------------------------

COLONOSCOPY = (
    _vs("colonoscopy", "Colonoscopy", VS.COLONOSCOPY, (CPT, "45378"), (SNOMED, "73761001")),
    _vs("colonoscopy_screening", "Screening colonoscopy", VS.COLONOSCOPY, (HCPCS, "G0121")),
)
SIGMOIDOSCOPY = _vs(
    "sigmoidoscopy",
    "Flexible sigmoidoscopy",
    VS.FLEXIBLE_SIGMOIDOSCOPY,
    (CPT, "45330"),
    (SNOMED, "44441009"),
)
TOTAL_COLECTOMY = _vs(
    "total_colectomy", "Total colectomy", VS.TOTAL_COLECTOMY, (CPT, "44150"), (SNOMED, "26390003")
)
BILATERAL_MASTECTOMY = (
    _vs(
        "bilateral_mastectomy",
        "Bilateral mastectomy",
        VS.BILATERAL_MASTECTOMY,
        (SNOMED, "22418005"),
    ),
    _vs(
        "bilateral_excision",
        "Excision of bilateral breasts",
        VS.BILATERAL_MASTECTOMY,
        (SNOMED, "27865001"),
    ),
)
MASTECTOMY_LEFT = _vs(
    "mastectomy_left",
    "Mastectomy of left breast",
    VS.UNILATERAL_MASTECTOMY_LEFT,
    (SNOMED, "428571003"),
)
MASTECTOMY_RIGHT = _vs(
    "mastectomy_right",
    "Mastectomy of right breast",
    VS.UNILATERAL_MASTECTOMY_RIGHT,
    (SNOMED, "429400009"),
)
HYSTERECTOMY = (
    _vs(
        "hysterectomy",
        "Total abdominal hysterectomy",
        VS.HYSTERECTOMY_NO_CERVIX,
        (CPT, "58150"),
        (SNOMED, "116140006"),
    ),
    _vs(
        "lap_hysterectomy",
        "Laparoscopic total hysterectomy",
        VS.HYSTERECTOMY_NO_CERVIX,
        (CPT, "58571"),
    ),
)
RETINAL_EXAM = (
    _vs("retinal_exam", "Diabetic retinal eye exam", VS.RETINAL_EYE_EXAM, (SNOMED, "722161008")),
    _vs("fundoscopy", "Camera fundoscopy", VS.RETINAL_EYE_EXAM, (SNOMED, "314971001")),
)
# CPT 71271 (low-dose CT for lung cancer screening) and CPT 76706 (AAA screening ultrasound):
# no shipped eCQM value set covers these USPSTF screenings.
LDCT = _direct(
    "ldct",
    "Low-dose CT chest for lung cancer screening",
    (
        CPT,
        "71271",
        "Computed tomography, thorax, low dose for lung cancer screening, without contrast",
    ),
)
AAA_ULTRASOUND = _direct(
    "aaa_ultrasound",
    "Abdominal aortic aneurysm screening ultrasound",
    (CPT, "76706", "Ultrasound, abdominal aorta, screening study for abdominal aortic aneurysm"),
)

# --- Observations (LOINC) ---------------------------------------------------------------------

HBA1C = _vs("hba1c", "Hemoglobin A1c", VS.HBA1C, (LOINC, "4548-4"))
LDL = _vs("ldl", "LDL cholesterol", VS.LDL, (LOINC, "13457-7"))
TOTAL_CHOLESTEROL = _direct(
    "cholesterol",
    "Total cholesterol",
    (LOINC, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
)
HDL = _direct(
    "hdl",
    "HDL cholesterol",
    (LOINC, "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma"),
)
TRIGLYCERIDES = _direct(
    "triglycerides",
    "Triglycerides",
    (LOINC, "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"),
)
LIPID_PANEL = _direct(
    "lipid_panel",
    "Lipid panel",
    (LOINC, "57698-3", "Lipid panel with direct LDL - Serum or Plasma"),
)
EGFR = (
    _vs("egfr", "eGFR (CKD-EPI 2021)", VS.EGFR, (LOINC, "98979-8")),
    _vs("egfr_mdrd", "eGFR", VS.EGFR, (LOINC, "62238-1")),
)
UACR = _vs("uacr", "Urine albumin/creatinine ratio", VS.UACR, (LOINC, "9318-7"))
# LOINC codes the eCQMs reference directly (CMS22/CMS165 BP panel, CMS69 BMI).
BP_PANEL = _direct(
    "bp", "Blood pressure", (LOINC, "85354-9", "Blood pressure panel with all children optional")
)
SYSTOLIC = _direct(
    "systolic", "Systolic blood pressure", (LOINC, "8480-6", "Systolic blood pressure")
)
DIASTOLIC = _direct(
    "diastolic", "Diastolic blood pressure", (LOINC, "8462-4", "Diastolic blood pressure")
)
BMI = _direct("bmi", "Body mass index", (LOINC, "39156-5", "Body mass index (BMI) [Ratio]"))
BODY_WEIGHT = _direct("weight", "Body weight", (LOINC, "29463-7", "Body weight"))
SMOKING_STATUS = _vs(
    "smoking_status", "Tobacco smoking status", VS.TOBACCO_USE_SCREENING, (LOINC, "72166-2")
)
PACK_YEARS = _direct(
    "pack_years",
    "Pack-years",
    # 8664-5: the LOINC check digit of 8664 is 5 (8664-7 is not a LOINC code).
    (LOINC, "8664-5", "Cigarettes smoked total (pack per year) - Reported"),
)
CURRENT_SMOKER = _vs(
    "current_smoker", "Smokes tobacco daily", VS.TOBACCO_USER, (SNOMED, "449868002")
)
FORMER_SMOKER = _vs(
    "former_smoker", "Ex-cigarette smoker", VS.TOBACCO_NON_USER, (SNOMED, "281018007")
)
NEVER_SMOKER = _vs(
    "never_smoker", "Never smoked tobacco", VS.TOBACCO_NON_USER, (SNOMED, "266919005")
)
PHQ9 = _direct(
    "phq9",
    "PHQ-9 total score",
    (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
)
ADULT_DEPRESSION_SCREEN = _direct(
    "adult_depression_screen",
    "Adult depression screening assessment",
    (LOINC, "73832-8", "Adult depression screening assessment"),
)
MAMMOGRAPHY = (
    _vs("mammogram", "Screening mammogram", VS.MAMMOGRAPHY, (LOINC, "24606-6")),
    _vs("mammogram_bilateral", "Bilateral screening mammogram", VS.MAMMOGRAPHY, (LOINC, "26175-0")),
    _vs(
        "mammogram_ffd",
        "Digital screening mammogram, bilateral",
        VS.MAMMOGRAPHY,
        (LOINC, "42174-3"),
    ),
)
CYTOLOGY = (
    _vs("pap", "Cervical cytology", VS.PAP_TEST, (LOINC, "10524-7")),
    _vs("pap_thinprep", "Cervical cytology report (thin prep)", VS.PAP_TEST, (LOINC, "47527-7")),
)
HPV = _vs("hpv", "High-risk HPV DNA", VS.HPV_TEST, (LOINC, "30167-1"))
FIT = (
    _vs("fit", "Fecal immunochemical test", VS.FOBT, (LOINC, "29771-3")),
    _vs("fobt", "Fecal occult blood", VS.FOBT, (LOINC, "2335-8")),
)
SDNA = _vs("sdna", "Stool DNA-FIT (Cologuard)", VS.SDNA_FIT, (LOINC, "77354-9"))
CT_COLONOGRAPHY = _vs("ct_colonography", "CT colonography", VS.CT_COLONOGRAPHY, (LOINC, "79069-1"))
DXA = (
    _vs("dxa_spine", "DXA lumbar spine T-score", VS.DXA, (LOINC, "38267-1")),
    _vs("dxa_hip", "DXA hip T-score", VS.DXA, (LOINC, "38264-8")),
)
HIV_TEST = _vs("hiv_test", "HIV 1+2 antibody and p24 antigen", VS.HIV_LAB_TESTS, (LOINC, "56888-1"))
HCV_TEST = _direct(
    "hcv_test",
    "Hepatitis C antibody",
    (LOINC, "13955-0", "Hepatitis C virus Ab [Presence] in Serum or Plasma by Immunoassay"),
)

NEGATIVE = Coding(SNOMED, "260385009", "Negative (qualifier value)")

# --- Immunizations (CVX) ----------------------------------------------------------------------

INFLUENZA = (
    _vs(
        "flu_quad", "Influenza, quadrivalent, preservative free", VS.INFLUENZA_VACCINE, (CVX, "150")
    ),
    _vs("flu_seasonal", "Influenza, seasonal, injectable", VS.INFLUENZA_VACCINE, (CVX, "141")),
    _vs("flu_cell", "Influenza, cell-based, quadrivalent", VS.INFLUENZA_VACCINE, (CVX, "171")),
)
PCV20 = _vs(
    "pcv20", "Pneumococcal conjugate PCV20", VS.PNEUMOCOCCAL_CONJUGATE_VACCINE, (CVX, "216")
)
PCV15 = _vs(
    "pcv15", "Pneumococcal conjugate PCV15", VS.PNEUMOCOCCAL_CONJUGATE_VACCINE, (CVX, "215")
)
# CVX 33 (PPSV23), 187 (recombinant zoster), 115 (Tdap): CDC CVX list; no shipped value set.
PPSV23 = _direct(
    "ppsv23", "Pneumococcal polysaccharide PPV23", (CVX, "33", "pneumococcal polysaccharide PPV23")
)
ZOSTER = _direct("zoster", "Zoster vaccine recombinant", (CVX, "187", "zoster vaccine recombinant"))
TDAP = _direct("tdap", "Tdap", (CVX, "115", "Tdap"))

# --- Medications (RxNorm) ---------------------------------------------------------------------

STATINS = (
    _vs(
        "atorvastatin10",
        "atorvastatin 10 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "617312"),
    ),
    _vs(
        "atorvastatin40",
        "atorvastatin 40 MG Oral Tablet",
        VS.HIGH_INTENSITY_STATIN,
        (RXNORM, "617311"),
    ),
    _vs(
        "rosuvastatin10",
        "rosuvastatin 10 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "859747"),
    ),
    _vs(
        "simvastatin20",
        "simvastatin 20 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "312961"),
    ),
)
# RxNorm 861007 / 861004: metformin has no shipped value set.
METFORMIN = (
    _direct(
        "metformin500",
        "metformin 500 MG Oral Tablet",
        (RXNORM, "861007", "metformin hydrochloride 500 MG Oral Tablet"),
    ),
    _direct(
        "metformin1000",
        "metformin 1000 MG Oral Tablet",
        (RXNORM, "861004", "metformin hydrochloride 1000 MG Oral Tablet"),
    ),
)
ANTIHYPERTENSIVES = (
    _vs(
        "lisinopril10",
        "lisinopril 10 MG Oral Tablet",
        VS.HYPERTENSION_MEDICATIONS,
        (RXNORM, "314076"),
    ),
    _vs(
        "amlodipine5",
        "amlodipine 5 MG Oral Tablet",
        VS.HYPERTENSION_MEDICATIONS,
        (RXNORM, "197361"),
    ),
)
ANTIDEPRESSANTS = (
    _vs(
        "sertraline50",
        "sertraline 50 MG Oral Tablet",
        VS.DEPRESSION_MEDICATIONS,
        (RXNORM, "312941"),
    ),
    _vs(
        "escitalopram10",
        "escitalopram 10 MG Oral Tablet",
        VS.DEPRESSION_MEDICATIONS,
        (RXNORM, "349332"),
    ),
)
MEMANTINE = _vs(
    "memantine10", "memantine 10 MG Oral Tablet", VS.DEMENTIA_MEDICATIONS, (RXNORM, "996561")
)

# --- Encounter types --------------------------------------------------------------------------

OFFICE_VISIT = (
    _vs("office_established", "Office visit, established patient", VS.OFFICE_VISIT, (CPT, "99213")),
    _vs(
        "office_established_moderate",
        "Office visit, established patient",
        VS.OFFICE_VISIT,
        (CPT, "99214"),
    ),
)
WELLNESS_VISIT = (
    _vs("awv", "Annual wellness visit", VS.ANNUAL_WELLNESS_VISIT, (HCPCS, "G0439")),
    _vs(
        "preventive_40_64",
        "Preventive visit, established, 40-64",
        VS.PREVENTIVE_VISIT_18_UP,
        (CPT, "99396"),
    ),
)
ED_VISIT = _vs(
    "ed_visit", "Emergency department visit", VS.ED_VISIT, (CPT, "99284"), (SNOMED, "4525004")
)
INPATIENT = _vs("inpatient", "Hospital admission", VS.ENCOUNTER_INPATIENT, (SNOMED, "32485007"))
CONSULTATION = _vs("consult", "Outpatient consultation", VS.OUTPATIENT_CONSULTATION, (CPT, "99243"))
HOSPICE_ENCOUNTER = _vs(
    "hospice", "Admission to hospice", VS.HOSPICE_ENCOUNTER, (SNOMED, "305336008")
)
PALLIATIVE_ENCOUNTER = _vs(
    "palliative_consult",
    "Consultation for palliative care",
    VS.PALLIATIVE_CARE_ENCOUNTER,
    (SNOMED, "713281006"),
)


def all_concepts() -> tuple[Concept, ...]:
    """Every concept defined here (tests check each resolves against its value set)."""
    found: list[Concept] = []
    for value in globals().values():
        if isinstance(value, Concept):
            found.append(value)
        elif isinstance(value, tuple) and value and all(isinstance(v, Concept) for v in value):
            found.extend(value)
    return tuple(found)
