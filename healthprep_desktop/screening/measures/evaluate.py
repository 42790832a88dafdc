"""Measure mode's entry point: a chart and a period in, outcomes (and MeasureReports) out."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasurementPeriod,
)
from healthprep_desktop.screening.measures.chart import JSON, Chart
from healthprep_desktop.screening.measures.registry import MEASURES
from healthprep_desktop.screening.measures.report import measure_report

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PatientMeasures:
    patient_id: str
    outcomes: dict[str, list[GroupOutcome]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # CMS id -> what went wrong (no PHI)

    def reports(self, period: MeasurementPeriod) -> dict[str, dict[str, Any]]:
        return {
            cms: measure_report(cms, self.patient_id, period, outcomes)
            for cms, outcomes in self.outcomes.items()
        }


def evaluate_measures(
    patient: JSON,
    resources: Iterable[JSON],
    period: MeasurementPeriod,
    only: Iterable[str] | None = None,
) -> PatientMeasures:
    """Every measure (or those in ``only``) for one patient; one failing measure never stops
    the others: its error is kept, without patient data, and the rest are computed."""
    chart = Chart(patient, resources)
    result = PatientMeasures(chart.patient_id)
    wanted = list(only) if only is not None else list(MEASURES)
    for cms in wanted:
        spec = MEASURES[cms]
        try:
            result.outcomes[cms] = spec.evaluate(MeasureContext(chart, period, spec.edition))
        except Exception as exc:  # a malformed resource must not sink the other measures
            log.warning("measure %s failed for one patient: %s", cms, type(exc).__name__)
            result.errors[cms] = f"{type(exc).__name__} while evaluating {cms}"
    return result


__all__ = ["PatientMeasures", "evaluate_measures"]
