"""Helpers for the per-measure edge tests (test_cms*_edges.py): run one measure on one case.

The edge tests exist to kill mutants (see docs/measures/README.md, "Mutation testing"), so they
go through the real module and, for evidence, through the real MeasureReport builder.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures import evaluate_measures
from healthprep_desktop.screening.measures.base import Membership
from healthprep_desktop.screening.measures.report import measure_report
from tests.screening.measures.builders import Case
from tests.screening.measures.test_common_libraries import MP


def membership(cms: str, case: Case) -> Membership:
    """The raw population truths of a patient-based measure for this case (errors fail)."""
    result = evaluate_measures(case.patient, case.resources, MP, only=[cms])
    assert not result.errors, result.errors
    return result.outcomes[cms][0].episodes[0]


def evaluated(cms: str, case: Case) -> list[str]:
    """MeasureReport.evaluatedResource of the individual report, as reference strings."""
    result = evaluate_measures(case.patient, case.resources, MP, only=[cms])
    assert not result.errors, result.errors
    report = measure_report(cms, case.pid, MP, result.outcomes[cms])
    return [r["reference"] for r in report.get("evaluatedResource", [])]


def ref(resource: dict[str, object]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"
