"""CMS349 HIV Screening (CMS349FHIRHIVScreening 0.3.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS349 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(cms="CMS349", title="HIV Screening", edition="2025", evaluate=evaluate)
