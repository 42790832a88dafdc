"""Measure mode: CMS eCQMs computed as their CQL says, for a measurement period.

Layout: :mod:`.cqltime` (CQL date/time semantics), :mod:`.chart` (retrieves), :mod:`.qicore`
(QICoreCommon, Status, medication periods), :mod:`.common` (Hospice, PalliativeCare, frailty,
outpatient encounters), one ``cmsNNN`` module per measure, :mod:`.registry` (the one table),
:mod:`.populations` (scoring) and :mod:`.report` (individual MeasureReports).
"""

from healthprep_desktop.screening.measures.base import GroupOutcome, MeasurementPeriod, Membership
from healthprep_desktop.screening.measures.evaluate import PatientMeasures, evaluate_measures
from healthprep_desktop.screening.measures.report import measure_defs, measure_report

__all__ = [
    "GroupOutcome",
    "MeasurementPeriod",
    "Membership",
    "PatientMeasures",
    "evaluate_measures",
    "measure_defs",
    "measure_report",
]
