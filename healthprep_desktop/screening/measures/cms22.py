"""CMS22 Preventive Care and Screening: Screening for High Blood Pressure and Follow-Up Documented (CMS22FHIRPCSBPScreeningFollowUp 0.3.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS22 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS22",
    title="Preventive Care and Screening: Screening for High Blood Pressure and Follow-Up Documented",
    edition="2025",
    evaluate=evaluate,
)
