"""CMS69 Preventive Care and Screening: Body Mass Index (BMI) Screening and Follow-Up Plan (CMS69FHIRPCSBMIScreenAndFollowUp 0.3.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS69 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS69",
    title="Preventive Care and Screening: Body Mass Index (BMI) Screening and Follow-Up Plan",
    edition="2025",
    evaluate=evaluate,
)
