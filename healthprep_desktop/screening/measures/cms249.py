"""CMS249 Appropriate Use of DXA Scans in Women Under 65 Years Who Do Not Have Risk Factors (AppropriateDXAScansForWomenUnder65FHIR 0.2.001, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS249 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(
    cms="CMS249",
    title="Appropriate Use of DXA Scans in Women Under 65 Years Who Do Not Have Risk Factors",
    edition="2024",
    evaluate=evaluate,
)
