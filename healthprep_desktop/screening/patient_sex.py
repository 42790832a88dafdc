"""The sex the screening rules use, read from a FHIR Patient (us-core-sex, gender, birthsex)."""

from __future__ import annotations

from typing import Any

from healthprep_desktop.screening.record import JSON

SNOMED_FEMALE = "248152002"
SNOMED_MALE = "248153007"
_FEMALE_CODES = frozenset({"female", "f", SNOMED_FEMALE})
_MALE_CODES = frozenset({"male", "m", SNOMED_MALE})
US_CORE_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"


def _sex_of(value: Any) -> str | None:
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _FEMALE_CODES:
            return "female"
        if v in _MALE_CODES:
            return "male"
    return None


def _extension_sex(patient: JSON, url: str) -> str | None:
    """The sex an extension states (valueCode, valueCoding or valueCodeableConcept)."""
    for ext in patient.get("extension") or ():
        if not isinstance(ext, dict) or ext.get("url") != url:
            continue
        values: list[Any] = [ext.get("valueCode")]
        coding = ext.get("valueCoding")
        if isinstance(coding, dict):
            values.append(coding.get("code"))
        cc = ext.get("valueCodeableConcept")
        if isinstance(cc, dict):
            values.extend(c.get("code") for c in cc.get("coding") or () if isinstance(c, dict))
        for value in values:
            sex = _sex_of(value)
            if sex is not None:
                return sex
    return None


def patient_sexes(patient: JSON) -> frozenset[str]:
    """The sex the screening rules use: one of "female"/"male", or none when unknown.

    Mirrors the 2026 eCQMs (CMS124/CMS125 test ``Patient.sex``, which QI-Core 6 reads from the
    us-core-sex extension) and, where that extension is absent, the 2025 eCQMs
    (``Patient.gender``). us-core-birthsex decides only when neither states female or male
    (gender missing, "unknown" or "other"), so a chart that says nothing else is still usable.
    The first source that states a sex wins; the others are not consulted.
    """
    for sex in (
        _extension_sex(patient, US_CORE_SEX),
        _sex_of(patient.get("gender")),
        _extension_sex(patient, US_CORE_BIRTHSEX),
    ):
        if sex is not None:
            return frozenset({sex})
    return frozenset()
