"""CMS139 Falls: Screening for Future Fall Risk (FallsScreeningForFutureFallRiskFHIR 0.2.001, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS139 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS139", title="Falls: Screening for Future Fall Risk", edition="2024", evaluate=evaluate
)
