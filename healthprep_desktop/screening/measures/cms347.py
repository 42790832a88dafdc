"""CMS347 Statin Therapy for the Prevention and Treatment of Cardiovascular Disease (StatinTherapyforthePreventionandTreatmentofCardiovascularDiseaseFHIR 0.2.000, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS347 is not implemented yet")  # 4 group(s)


MEASURE = MeasureSpec(
    cms="CMS347",
    title="Statin Therapy for the Prevention and Treatment of Cardiovascular Disease",
    edition="2024",
    evaluate=evaluate,
)
