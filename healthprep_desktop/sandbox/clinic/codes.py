"""The codes the synthetic clinic writes, in one namespace: ``codes.DIABETES_T2``, ``codes.pick``.

The concepts live in one module per FHIR resource they go into (condition_codes.py,
procedure_codes.py, observation_codes.py, immunization_codes.py, medication_codes.py,
encounter_codes.py) and the machinery in concepts.py. The chart generators read them all through
this module, so a concept can move between those files without touching a generator.
"""

from __future__ import annotations

from types import ModuleType

from healthprep_desktop.sandbox.clinic import (
    condition_codes,
    encounter_codes,
    immunization_codes,
    medication_codes,
    observation_codes,
    procedure_codes,
)
from healthprep_desktop.sandbox.clinic.concepts import (
    JSON,
    VS,
    Concept,
    coding_json,
    concept_json,
    pick,
    public_concept,
    valueset,
    vs_concept,
)

# The generators read every concept as codes.NAME: re-export each module's public names.
from healthprep_desktop.sandbox.clinic.condition_codes import *  # noqa: F403
from healthprep_desktop.sandbox.clinic.encounter_codes import *  # noqa: F403
from healthprep_desktop.sandbox.clinic.immunization_codes import *  # noqa: F403
from healthprep_desktop.sandbox.clinic.medication_codes import *  # noqa: F403
from healthprep_desktop.sandbox.clinic.observation_codes import *  # noqa: F403
from healthprep_desktop.sandbox.clinic.procedure_codes import *  # noqa: F403

# The machinery, for the generators and tests that import it from here (__all__ makes it public
# for mypy; the concepts above are public through the star imports).
__all__ = [
    "JSON",
    "VS",
    "Concept",
    "all_concepts",
    "coding_json",
    "concept_json",
    "pick",
    "public_concept",
    "valueset",
    "vs_concept",
]

# In the order the single codes.py defined them (all_concepts keeps that order).
CODE_MODULES: tuple[ModuleType, ...] = (
    condition_codes,
    procedure_codes,
    observation_codes,
    immunization_codes,
    medication_codes,
    encounter_codes,
)


def all_concepts() -> tuple[Concept, ...]:
    """Every concept defined in the code modules (tests check each resolves against its value
    set)."""
    found: list[Concept] = []
    for module in CODE_MODULES:
        for value in vars(module).values():
            if isinstance(value, Concept):
                found.append(value)
            elif isinstance(value, tuple) and value and all(isinstance(v, Concept) for v in value):
                found.extend(value)
    return tuple(found)
