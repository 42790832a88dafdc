"""CMS2 Preventive Care and Screening: Screening for Depression and Follow-Up Plan (CMS2FHIRPCSDepressionScreenAndFollowUp 0.4.001, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS2 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS2",
    title="Preventive Care and Screening: Screening for Depression and Follow-Up Plan",
    edition="2025",
    evaluate=evaluate,
)
