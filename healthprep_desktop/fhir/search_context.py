"""What an EHR needs on searches that name no patient (the schedule, a Patient search).

athenahealth scopes such searches to a practice with ``ah-practice``
(https://fhir.athena.io/athenacoreext/StructureDefinition-ah-practice.html); other EHRs need
nothing. The client adds it (FhirClient._with_context) so every caller gets it.
"""

from __future__ import annotations

from healthprep_desktop.fhir.config import Vendor

# Parameters that name the patient a search is about; a search without one is "patient-less".
_PATIENT_PARAMS = frozenset({"patient", "subject", "_id", "beneficiary", "actor"})


def patientless_context(vendor: Vendor, practice_id: str) -> tuple[tuple[str, str], ...]:
    """What the EHR needs on every search that names no patient: athenahealth's practice
    (https://fhir.athena.io/athenacoreext/StructureDefinition-ah-practice.html); nothing else."""
    if vendor is Vendor.ATHENAHEALTH and practice_id.strip():
        return (("ah-practice", f"Organization/a-1.Practice-{practice_id.strip()}"),)
    return ()


def names_a_patient(params: list[tuple[str, object]]) -> bool:
    """Whether a search names the patient it is about (then no practice is needed)."""
    return any(name.split(":")[0] in _PATIENT_PARAMS for name, _ in params)
