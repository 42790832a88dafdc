"""CMS130 Colorectal Cancer Screening (CMS130FHIRColorectalCancerScreening 0.4.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS130 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS130", title="Colorectal Cancer Screening", edition="2025", evaluate=evaluate
)
