"""Medications the synthetic clinic prescribes (RxNorm): statins, diabetes, blood pressure,
depression and dementia drugs."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, public_concept, vs_concept
from healthprep_desktop.screening.valuesets import (
    RXNORM,
)

STATINS = (
    vs_concept(
        "atorvastatin10",
        "atorvastatin 10 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "617312"),
    ),
    vs_concept(
        "atorvastatin40",
        "atorvastatin 40 MG Oral Tablet",
        VS.HIGH_INTENSITY_STATIN,
        (RXNORM, "617311"),
    ),
    vs_concept(
        "rosuvastatin10",
        "rosuvastatin 10 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "859747"),
    ),
    vs_concept(
        "simvastatin20",
        "simvastatin 20 MG Oral Tablet",
        VS.MODERATE_INTENSITY_STATIN,
        (RXNORM, "312961"),
    ),
)
# RxNorm 861007 / 861004: metformin has no shipped value set.
METFORMIN = (
    public_concept(
        "metformin500",
        "metformin 500 MG Oral Tablet",
        (RXNORM, "861007", "metformin hydrochloride 500 MG Oral Tablet"),
    ),
    public_concept(
        "metformin1000",
        "metformin 1000 MG Oral Tablet",
        (RXNORM, "861004", "metformin hydrochloride 1000 MG Oral Tablet"),
    ),
)
ANTIHYPERTENSIVES = (
    vs_concept(
        "lisinopril10",
        "lisinopril 10 MG Oral Tablet",
        VS.HYPERTENSION_MEDICATIONS,
        (RXNORM, "314076"),
    ),
    vs_concept(
        "amlodipine5",
        "amlodipine 5 MG Oral Tablet",
        VS.HYPERTENSION_MEDICATIONS,
        (RXNORM, "197361"),
    ),
)
ANTIDEPRESSANTS = (
    vs_concept(
        "sertraline50",
        "sertraline 50 MG Oral Tablet",
        VS.DEPRESSION_MEDICATIONS,
        (RXNORM, "312941"),
    ),
    vs_concept(
        "escitalopram10",
        "escitalopram 10 MG Oral Tablet",
        VS.DEPRESSION_MEDICATIONS,
        (RXNORM, "349332"),
    ),
)
MEMANTINE = vs_concept(
    "memantine10", "memantine 10 MG Oral Tablet", VS.DEMENTIA_MEDICATIONS, (RXNORM, "996561")
)
