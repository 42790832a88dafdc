"""Procedures the synthetic clinic writes (CPT, HCPCS, SNOMED CT): screenings done, and surgery
that ends a screening (colectomy, mastectomy, hysterectomy)."""

from __future__ import annotations

from healthprep_desktop.sandbox.clinic.concepts import VS, public_concept, vs_concept
from healthprep_desktop.screening.valuesets import (
    CPT,
    HCPCS,
    SNOMED,
)

COLONOSCOPY = (
    vs_concept("colonoscopy", "Colonoscopy", VS.COLONOSCOPY, (CPT, "45378"), (SNOMED, "73761001")),
    vs_concept("colonoscopy_screening", "Screening colonoscopy", VS.COLONOSCOPY, (HCPCS, "G0121")),
)
SIGMOIDOSCOPY = vs_concept(
    "sigmoidoscopy",
    "Flexible sigmoidoscopy",
    VS.FLEXIBLE_SIGMOIDOSCOPY,
    (CPT, "45330"),
    (SNOMED, "44441009"),
)
TOTAL_COLECTOMY = vs_concept(
    "total_colectomy", "Total colectomy", VS.TOTAL_COLECTOMY, (CPT, "44150"), (SNOMED, "26390003")
)
BILATERAL_MASTECTOMY = (
    vs_concept(
        "bilateral_mastectomy",
        "Bilateral mastectomy",
        VS.BILATERAL_MASTECTOMY,
        (SNOMED, "22418005"),
    ),
    vs_concept(
        "bilateral_excision",
        "Excision of bilateral breasts",
        VS.BILATERAL_MASTECTOMY,
        (SNOMED, "27865001"),
    ),
)
MASTECTOMY_LEFT = vs_concept(
    "mastectomy_left",
    "Mastectomy of left breast",
    VS.UNILATERAL_MASTECTOMY_LEFT,
    (SNOMED, "428571003"),
)
MASTECTOMY_RIGHT = vs_concept(
    "mastectomy_right",
    "Mastectomy of right breast",
    VS.UNILATERAL_MASTECTOMY_RIGHT,
    (SNOMED, "429400009"),
)
HYSTERECTOMY = (
    vs_concept(
        "hysterectomy",
        "Total abdominal hysterectomy",
        VS.HYSTERECTOMY_NO_CERVIX,
        (CPT, "58150"),
        (SNOMED, "116140006"),
    ),
    vs_concept(
        "lap_hysterectomy",
        "Laparoscopic total hysterectomy",
        VS.HYSTERECTOMY_NO_CERVIX,
        (CPT, "58571"),
    ),
)
RETINAL_EXAM = (
    vs_concept(
        "retinal_exam", "Diabetic retinal eye exam", VS.RETINAL_EYE_EXAM, (SNOMED, "722161008")
    ),
    vs_concept("fundoscopy", "Camera fundoscopy", VS.RETINAL_EYE_EXAM, (SNOMED, "314971001")),
)
# CPT 71271 (low-dose CT for lung cancer screening) and CPT 76706 (AAA screening ultrasound):
# no shipped eCQM value set covers these USPSTF screenings.
LDCT = public_concept(
    "ldct",
    "Low-dose CT chest for lung cancer screening",
    (
        CPT,
        "71271",
        "Computed tomography, thorax, low dose for lung cancer screening, without contrast",
    ),
)
AAA_ULTRASOUND = public_concept(
    "aaa_ultrasound",
    "Abdominal aortic aneurysm screening ultrasound",
    (CPT, "76706", "Ultrasound, abdominal aorta, screening study for abdominal aortic aneurysm"),
)
