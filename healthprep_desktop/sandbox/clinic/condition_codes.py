"""Conditions the synthetic clinic writes (ICD-10-CM and SNOMED CT): diagnoses that put a patient
in a measure, and the exclusions (frailty, hospice, mastectomy, ...) that take them out."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, public_concept, vs_concept
from healthprep_desktop.screening.valuesets import (
    ICD10CM,
    SNOMED,
)

DIABETES_T2 = (
    vs_concept(
        "diabetes_t2",
        "Type 2 diabetes mellitus",
        VS.DIABETES,
        (ICD10CM, "E11.9"),
        (SNOMED, "44054006"),
    ),
    vs_concept(
        "diabetes_t2_hyperglycemia",
        "Type 2 diabetes with hyperglycemia",
        VS.DIABETES,
        (ICD10CM, "E11.65"),
    ),
)
DIABETES_T1 = vs_concept(
    "diabetes_t1",
    "Type 1 diabetes mellitus",
    VS.TYPE_1_DIABETES,
    (ICD10CM, "E10.9"),
    (SNOMED, "46635009"),
)
# ICD-10-CM R73.03 and SNOMED CT 714628002: prediabetes is deliberately NOT in the Diabetes value
# set; a chart with it must never trigger the diabetes screenings.
PREDIABETES = public_concept(
    "prediabetes",
    "Prediabetes",
    (ICD10CM, "R73.03", "Prediabetes"),
    (SNOMED, "714628002", "Prediabetes (finding)"),
)
HYPERTENSION = vs_concept(
    "hypertension",
    "Essential hypertension",
    VS.ESSENTIAL_HYPERTENSION,
    (ICD10CM, "I10"),
    (SNOMED, "59621000"),
)
CKD_3 = public_concept(
    "ckd3",
    "Chronic kidney disease stage 3",
    (ICD10CM, "N18.30", "Chronic kidney disease, stage 3 unspecified"),
    (SNOMED, "433144002", "Chronic kidney disease stage 3 (disorder)"),
)
CKD_5 = vs_concept(
    "ckd5",
    "Chronic kidney disease stage 5",
    VS.CKD_STAGE_5,
    (ICD10CM, "N18.5"),
    (SNOMED, "433146000"),
)
COPD = public_concept(
    "copd",
    "Chronic obstructive pulmonary disease",
    (ICD10CM, "J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    (SNOMED, "13645005", "Chronic obstructive lung disease (disorder)"),
)
DEPRESSION = public_concept(
    "depression",
    "Depression",
    (ICD10CM, "F32.A", "Depression, unspecified"),
    (SNOMED, "35489007", "Depressive disorder (disorder)"),
)
HYPERLIPIDEMIA = public_concept(
    "hyperlipidemia",
    "Hyperlipidemia",
    (ICD10CM, "E78.5", "Hyperlipidemia, unspecified"),
    (SNOMED, "55822004", "Hyperlipidemia (disorder)"),
)
OBESITY = public_concept(
    "obesity",
    "Obesity",
    (ICD10CM, "E66.9", "Obesity, unspecified"),
    (SNOMED, "414916001", "Obesity (disorder)"),
)
CORONARY_DISEASE = vs_concept(
    "cad", "Coronary artery disease", VS.ATHEROSCLEROSIS, (ICD10CM, "I25.10")
)
BREAST_CANCER = public_concept(
    "breast_cancer",
    "Malignant neoplasm of breast",
    (ICD10CM, "C50.911", "Malignant neoplasm of unspecified site of right female breast"),
    (SNOMED, "254837009", "Malignant neoplasm of breast (disorder)"),
)
COLORECTAL_CANCER = (
    vs_concept("colon_cancer", "Malignant neoplasm of colon", VS.COLON_CANCER, (ICD10CM, "C18.9")),
    vs_concept(
        "colon_cancer_history", "History of colon cancer", VS.COLON_CANCER, (ICD10CM, "Z85.038")
    ),
    vs_concept(
        "colon_adenocarcinoma",
        "Adenocarcinoma of colon",
        VS.COLON_CANCER,
        (SNOMED, "1701000119104"),
    ),
)
HIV_INFECTION = vs_concept("hiv", "HIV disease", VS.HIV, (ICD10CM, "B20"))
FRAILTY = (
    vs_concept("reduced_mobility", "Reduced mobility", VS.FRAILTY_DIAGNOSIS, (ICD10CM, "Z74.09")),
    vs_concept(
        "needs_personal_care",
        "Needs assistance with personal care",
        VS.FRAILTY_DIAGNOSIS,
        (ICD10CM, "Z74.1"),
    ),
)
ADVANCED_ILLNESS = (
    vs_concept("alzheimers", "Alzheimer's disease", VS.ADVANCED_ILLNESS, (ICD10CM, "G30.9")),
    vs_concept("heart_failure", "Heart failure", VS.ADVANCED_ILLNESS, (ICD10CM, "I50.9")),
)
HISTORY_BILATERAL_MASTECTOMY = vs_concept(
    "history_bilateral_mastectomy",
    "Acquired absence of bilateral breasts",
    VS.HISTORY_BILATERAL_MASTECTOMY,
    (ICD10CM, "Z90.13"),
    (SNOMED, "428529004"),
)
ABSENCE_OF_CERVIX = vs_concept(
    "absence_of_cervix",
    "Acquired absence of cervix and uterus",
    VS.ABSENCE_OF_CERVIX,
    (ICD10CM, "Z90.710"),
    (SNOMED, "428078001"),
)
HOSPICE_FINDING = vs_concept(
    "hospice_care", "Full care by hospice", VS.HOSPICE_DIAGNOSIS, (SNOMED, "170935008")
)
PALLIATIVE_DIAGNOSIS = vs_concept(
    "palliative_care",
    "Encounter for palliative care",
    VS.PALLIATIVE_CARE_DIAGNOSIS,
    (ICD10CM, "Z51.5"),
)
