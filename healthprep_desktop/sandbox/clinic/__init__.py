"""Deterministic synthetic clinic for the sandbox: patients, staff, charts, documents, schedules."""

from healthprep_desktop.sandbox.clinic.clinic import DEFAULT_REFERENCE_DATE, SyntheticClinic
from healthprep_desktop.sandbox.clinic.scenarios import expected_status

__all__ = ["DEFAULT_REFERENCE_DATE", "SyntheticClinic", "expected_status"]
