"""CMS155 Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents (CMS155FHIRWeightAssessandCounselforKids 0.3.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS155 is not implemented yet")  # 3 group(s)


MEASURE = MeasureSpec(
    cms="CMS155",
    title="Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents",
    edition="2025",
    evaluate=evaluate,
)
