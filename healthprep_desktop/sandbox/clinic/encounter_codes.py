"""Encounter types the synthetic clinic writes (CPT, SNOMED CT): visits that count for a measure,
and the ED, inpatient, hospice and palliative ones that exclude."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, vs_concept
from healthprep_desktop.screening.valuesets import (
    CPT,
    HCPCS,
    SNOMED,
)

OFFICE_VISIT = (
    vs_concept(
        "office_established", "Office visit, established patient", VS.OFFICE_VISIT, (CPT, "99213")
    ),
    vs_concept(
        "office_established_moderate",
        "Office visit, established patient",
        VS.OFFICE_VISIT,
        (CPT, "99214"),
    ),
)
WELLNESS_VISIT = (
    vs_concept("awv", "Annual wellness visit", VS.ANNUAL_WELLNESS_VISIT, (HCPCS, "G0439")),
    vs_concept(
        "preventive_40_64",
        "Preventive visit, established, 40-64",
        VS.PREVENTIVE_VISIT_18_UP,
        (CPT, "99396"),
    ),
)
ED_VISIT = vs_concept(
    "ed_visit", "Emergency department visit", VS.ED_VISIT, (CPT, "99284"), (SNOMED, "4525004")
)
INPATIENT = vs_concept(
    "inpatient", "Hospital admission", VS.ENCOUNTER_INPATIENT, (SNOMED, "32485007")
)
CONSULTATION = vs_concept(
    "consult", "Outpatient consultation", VS.OUTPATIENT_CONSULTATION, (CPT, "99243")
)
HOSPICE_ENCOUNTER = vs_concept(
    "hospice", "Admission to hospice", VS.HOSPICE_ENCOUNTER, (SNOMED, "305336008")
)
PALLIATIVE_ENCOUNTER = vs_concept(
    "palliative_consult",
    "Consultation for palliative care",
    VS.PALLIATIVE_CARE_ENCOUNTER,
    (SNOMED, "713281006"),
)
