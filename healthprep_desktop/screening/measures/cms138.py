"""CMS138 Preventive Care and Screening: Tobacco Use: Screening and Cessation Intervention (PreventiveCareAndTobaccoUseScreeningAndCessationInterventionFHIR 0.0.001, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS138 is not implemented yet")  # 3 group(s)


MEASURE = MeasureSpec(
    cms="CMS138",
    title="Preventive Care and Screening: Tobacco Use: Screening and Cessation Intervention",
    edition="2024",
    evaluate=evaluate,
)
