"""Observations the synthetic clinic writes (LOINC): labs, vital signs, smoking status and
screening results, and the Negative result coding."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, public_concept, vs_concept
from healthprep_desktop.screening.valuesets import (
    LOINC,
    SNOMED,
    Coding,
)

HBA1C = vs_concept("hba1c", "Hemoglobin A1c", VS.HBA1C, (LOINC, "4548-4"))
LDL = vs_concept("ldl", "LDL cholesterol", VS.LDL, (LOINC, "13457-7"))
TOTAL_CHOLESTEROL = public_concept(
    "cholesterol",
    "Total cholesterol",
    (LOINC, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
)
HDL = public_concept(
    "hdl",
    "HDL cholesterol",
    (LOINC, "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma"),
)
TRIGLYCERIDES = public_concept(
    "triglycerides",
    "Triglycerides",
    (LOINC, "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"),
)
LIPID_PANEL = public_concept(
    "lipid_panel",
    "Lipid panel",
    (LOINC, "57698-3", "Lipid panel with direct LDL - Serum or Plasma"),
)
EGFR = (
    vs_concept("egfr", "eGFR (CKD-EPI 2021)", VS.EGFR, (LOINC, "98979-8")),
    vs_concept("egfr_mdrd", "eGFR", VS.EGFR, (LOINC, "62238-1")),
)
UACR = vs_concept("uacr", "Urine albumin/creatinine ratio", VS.UACR, (LOINC, "9318-7"))
# LOINC codes the eCQMs reference directly (CMS22/CMS165 BP panel, CMS69 BMI).
BP_PANEL = public_concept(
    "bp", "Blood pressure", (LOINC, "85354-9", "Blood pressure panel with all children optional")
)
SYSTOLIC = public_concept(
    "systolic", "Systolic blood pressure", (LOINC, "8480-6", "Systolic blood pressure")
)
DIASTOLIC = public_concept(
    "diastolic", "Diastolic blood pressure", (LOINC, "8462-4", "Diastolic blood pressure")
)
BMI = public_concept("bmi", "Body mass index", (LOINC, "39156-5", "Body mass index (BMI) [Ratio]"))
BODY_WEIGHT = public_concept("weight", "Body weight", (LOINC, "29463-7", "Body weight"))
SMOKING_STATUS = vs_concept(
    "smoking_status", "Tobacco smoking status", VS.TOBACCO_USE_SCREENING, (LOINC, "72166-2")
)
PACK_YEARS = public_concept(
    "pack_years",
    "Pack-years",
    # 8664-5: the LOINC check digit of 8664 is 5 (8664-7 is not a LOINC code).
    (LOINC, "8664-5", "Cigarettes smoked total (pack per year) - Reported"),
)
CURRENT_SMOKER = vs_concept(
    "current_smoker", "Smokes tobacco daily", VS.TOBACCO_USER, (SNOMED, "449868002")
)
FORMER_SMOKER = vs_concept(
    "former_smoker", "Ex-cigarette smoker", VS.TOBACCO_NON_USER, (SNOMED, "281018007")
)
NEVER_SMOKER = vs_concept(
    "never_smoker", "Never smoked tobacco", VS.TOBACCO_NON_USER, (SNOMED, "266919005")
)
PHQ9 = public_concept(
    "phq9",
    "PHQ-9 total score",
    (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
)
ADULT_DEPRESSION_SCREEN = public_concept(
    "adult_depression_screen",
    "Adult depression screening assessment",
    (LOINC, "73832-8", "Adult depression screening assessment"),
)
MAMMOGRAPHY = (
    vs_concept("mammogram", "Screening mammogram", VS.MAMMOGRAPHY, (LOINC, "24606-6")),
    vs_concept(
        "mammogram_bilateral", "Bilateral screening mammogram", VS.MAMMOGRAPHY, (LOINC, "26175-0")
    ),
    vs_concept(
        "mammogram_ffd",
        "Digital screening mammogram, bilateral",
        VS.MAMMOGRAPHY,
        (LOINC, "42174-3"),
    ),
)
CYTOLOGY = (
    vs_concept("pap", "Cervical cytology", VS.PAP_TEST, (LOINC, "10524-7")),
    vs_concept(
        "pap_thinprep", "Cervical cytology report (thin prep)", VS.PAP_TEST, (LOINC, "47527-7")
    ),
)
HPV = vs_concept("hpv", "High-risk HPV DNA", VS.HPV_TEST, (LOINC, "30167-1"))
FIT = (
    vs_concept("fit", "Fecal immunochemical test", VS.FOBT, (LOINC, "29771-3")),
    vs_concept("fobt", "Fecal occult blood", VS.FOBT, (LOINC, "2335-8")),
)
SDNA = vs_concept("sdna", "Stool DNA-FIT (Cologuard)", VS.SDNA_FIT, (LOINC, "77354-9"))
CT_COLONOGRAPHY = vs_concept(
    "ct_colonography", "CT colonography", VS.CT_COLONOGRAPHY, (LOINC, "79069-1")
)
DXA = (
    vs_concept("dxa_spine", "DXA lumbar spine T-score", VS.DXA, (LOINC, "38267-1")),
    vs_concept("dxa_hip", "DXA hip T-score", VS.DXA, (LOINC, "38264-8")),
)
HIV_TEST = vs_concept(
    "hiv_test", "HIV 1+2 antibody and p24 antigen", VS.HIV_LAB_TESTS, (LOINC, "56888-1")
)
HCV_TEST = public_concept(
    "hcv_test",
    "Hepatitis C antibody",
    (LOINC, "13955-0", "Hepatitis C virus Ab [Presence] in Serum or Plasma by Immunoassay"),
)

NEGATIVE = Coding(SNOMED, "260385009", "Negative (qualifier value)")
