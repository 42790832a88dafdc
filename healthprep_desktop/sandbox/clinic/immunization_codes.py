"""Immunizations the synthetic clinic writes (CVX)."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, public_concept, vs_concept
from healthprep_desktop.screening.valuesets import (
    CVX,
)

INFLUENZA = (
    vs_concept(
        "flu_quad", "Influenza, quadrivalent, preservative free", VS.INFLUENZA_VACCINE, (CVX, "150")
    ),
    vs_concept(
        "flu_seasonal", "Influenza, seasonal, injectable", VS.INFLUENZA_VACCINE, (CVX, "141")
    ),
    vs_concept(
        "flu_cell", "Influenza, cell-based, quadrivalent", VS.INFLUENZA_VACCINE, (CVX, "171")
    ),
)
PCV20 = vs_concept(
    "pcv20", "Pneumococcal conjugate PCV20", VS.PNEUMOCOCCAL_CONJUGATE_VACCINE, (CVX, "216")
)
PCV15 = vs_concept(
    "pcv15", "Pneumococcal conjugate PCV15", VS.PNEUMOCOCCAL_CONJUGATE_VACCINE, (CVX, "215")
)
# CVX 33 (PPSV23), 187 (recombinant zoster), 115 (Tdap): CDC CVX list; no shipped value set.
PPSV23 = public_concept(
    "ppsv23", "Pneumococcal polysaccharide PPV23", (CVX, "33", "pneumococcal polysaccharide PPV23")
)
ZOSTER = public_concept(
    "zoster", "Zoster vaccine recombinant", (CVX, "187", "zoster vaccine recombinant")
)
TDAP = public_concept("tdap", "Tdap", (CVX, "115", "Tdap"))
