"""CMS122 Diabetes: Glycemic Status Assessment Greater Than 9% (CMS122FHIRDiabetesAssessGreaterThan9Percent 0.5.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS122 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS122",
    title="Diabetes: Glycemic Status Assessment Greater Than 9%",
    edition="2025",
    evaluate=evaluate,
)
