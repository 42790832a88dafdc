"""CMS131 Diabetes: Eye Exam (DiabetesEyeExamFHIR 0.0.002, qicore-2024).

PLACEHOLDER: not implemented yet.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasureContext, MeasureSpec


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    raise NotImplementedError("CMS131 is not implemented yet")  # 1 group(s)


MEASURE = MeasureSpec(cms="CMS131", title="Diabetes: Eye Exam", edition="2024", evaluate=evaluate)
