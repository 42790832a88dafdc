"""Deterministic synthetic clinic for the sandbox: patients, staff, charts, documents, schedules."""

from healthprep_desktop.sandbox.clinic.clinic import DEFAULT_REFERENCE_DATE, SyntheticClinic
from healthprep_desktop.sandbox.clinic.scenarios import ENGINE_GROUPS, expected_status

__all__ = ["DEFAULT_REFERENCE_DATE", "ENGINE_GROUPS", "SyntheticClinic", "expected_status"]
