"""CMS153 Chlamydia Screening in Women (ChlamydiaScreeninginWomenFHIR 0.1.000, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS153 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS153", title="Chlamydia Screening in Women", edition="2024", evaluate=evaluate
)
