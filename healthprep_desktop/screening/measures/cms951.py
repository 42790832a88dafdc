"""CMS951 Kidney Health Evaluation (KidneyHealthEvaluationFHIR 0.1.000, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS951 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS951", title="Kidney Health Evaluation", edition="2024", evaluate=evaluate
)
