"""CMS165 Controlling High Blood Pressure (CMS165FHIRControllingHighBloodPressure 0.5.000, qicore-2025).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS165 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS165", title="Controlling High Blood Pressure", edition="2025", evaluate=evaluate
)
