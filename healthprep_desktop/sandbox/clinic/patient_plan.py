"""The plan of one synthetic patient: what scenarios.py decides before the chart is written.

Its own module so that visit_scenarios (which scenarios.py calls) can use it without an import
cycle; scenarios.py re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class PatientPlan:
    """Everything decided about a patient before the chart is written."""

    index: int
    id: str
    sex: str  # sex assigned at birth
    birth_date: date
    age: int
    archetype: str | None
    practitioner: int  # index into the primary-care clinicians
    smoking: str  # "current", "former", "never"
    pack_years: int
    diabetes: str  # "type1", "type2", "prediabetes", "refuted", "none"
    hypertension: bool
    ascvd: bool = False  # coronary artery disease on the problem list (CMS347 population 1)
    profile: dict[str, str] = field(default_factory=dict)  # screening key -> scenario
    traits: dict[str, str] = field(default_factory=dict)  # chart facts worth a test's attention
    # screening key -> visit-day scenario (status after visit_status.refine), see visit_scenarios
    visit: dict[str, str] = field(default_factory=dict)
