"""How the synthetic clinic's codes are held: a ``Concept`` (one clinical idea, its codings in
several systems), the OIDs of the shipped value sets they come from, and their FHIR JSON.

Every concept names the value set it comes from, and its codes are looked up in that value set
when first used (a code missing from it raises), so a chart never carries a code the screening
engine cannot match. Concepts with no shipped value set (prediabetes, COPD, PHQ-9, Tdap, ...)
use well-known public codes, written out with the source they come from.
"""

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from healthprep_desktop.screening.valuesets import (
    Coding,
    ValueSet,
    load_valueset,
)

JSON = dict[str, Any]


class VS:
    """OIDs of the value sets the generator draws from (named as in valuesets/index.csv)."""

    ADVANCED_ILLNESS = "2.16.840.1.113883.3.464.1003.110.12.1082"
    ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
    ATHEROSCLEROSIS = "2.16.840.1.113762.1.4.1047.21"
    BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1005"
    CKD_STAGE_5 = "2.16.840.1.113883.3.526.3.1002"
    COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
    CT_COLONOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1038"
    DEMENTIA_MEDICATIONS = "2.16.840.1.113883.3.464.1003.196.12.1510"
    DEPRESSION_MEDICATIONS = "2.16.840.1.113883.3.526.3.1566"
    DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
    DXA = "2.16.840.1.113883.3.464.1003.113.12.1051"
    ED_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1010"
    EGFR = "2.16.840.1.113883.3.6929.3.1000"
    ENCOUNTER_INPATIENT = "2.16.840.1.113883.3.666.5.307"
    ESSENTIAL_HYPERTENSION = "2.16.840.1.113883.3.464.1003.104.12.1011"
    FLEXIBLE_SIGMOIDOSCOPY = "2.16.840.1.113883.3.464.1003.198.12.1010"
    FOBT = "2.16.840.1.113883.3.464.1003.198.12.1011"
    FRAILTY_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.113.12.1074"
    HBA1C = "2.16.840.1.113883.3.464.1003.198.12.1013"
    HIGH_INTENSITY_STATIN = "2.16.840.1.113883.3.526.3.1572"
    HISTORY_BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1068"
    HIV = "2.16.840.1.113883.3.464.1003.120.12.1003"
    HIV_LAB_TESTS = "2.16.840.1.113762.1.4.1056.50"
    HOSPICE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.1003"
    HOSPICE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1165"
    HPV_TEST = "2.16.840.1.113883.3.464.1003.110.12.1059"
    HYPERTENSION_MEDICATIONS = "2.16.840.1.113883.3.526.1577"
    HYSTERECTOMY_NO_CERVIX = "2.16.840.1.113883.3.464.1003.198.12.1014"
    ABSENCE_OF_CERVIX = "2.16.840.1.113883.3.464.1003.111.12.1016"
    INFLUENZA_VACCINE = "2.16.840.1.113883.3.464.1003.196.12.1218"
    LDL = "2.16.840.1.113883.3.526.3.1573"
    MAMMOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1018"
    COLON_CANCER = "2.16.840.1.113883.3.464.1003.108.12.1001"
    MODERATE_INTENSITY_STATIN = "2.16.840.1.113883.3.526.3.1575"
    OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
    OUTPATIENT_CONSULTATION = "2.16.840.1.113883.3.464.1003.101.12.1008"
    PALLIATIVE_CARE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1167"
    PALLIATIVE_CARE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1090"
    PAP_TEST = "2.16.840.1.113883.3.464.1003.108.12.1017"
    PNEUMOCOCCAL_CONJUGATE_VACCINE = "2.16.840.1.113883.3.464.1003.196.12.1221"
    PREVENTIVE_VISIT_18_UP = "2.16.840.1.113883.3.464.1003.101.12.1025"
    RETINAL_EYE_EXAM = "2.16.840.1.113883.3.464.1003.115.12.1088"
    SDNA_FIT = "2.16.840.1.113883.3.464.1003.108.12.1039"
    TOBACCO_NON_USER = "2.16.840.1.113883.3.526.3.1189"
    TOBACCO_USE_SCREENING = "2.16.840.1.113883.3.526.3.1278"
    TOBACCO_USER = "2.16.840.1.113883.3.526.3.1170"
    TOTAL_COLECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1019"
    TYPE_1_DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1020"
    UACR = "2.16.840.1.113883.3.6929.3.1007"
    UNILATERAL_MASTECTOMY_LEFT = "2.16.840.1.113883.3.464.1003.198.12.1133"
    UNILATERAL_MASTECTOMY_RIGHT = "2.16.840.1.113883.3.464.1003.198.12.1134"


@cache
def valueset(oid: str) -> ValueSet:
    """The shipped value set (resources/valuesets/<oid>.json)."""
    return load_valueset(oid)


@cache
def _member(oid: str, system: str, code: str) -> Coding:
    for coding in valueset(oid).codes:
        if coding.system == system and coding.code == code:
            return coding
    raise KeyError(f"{system}|{code} is not in value set {oid}")


@dataclass(frozen=True, slots=True)
class Concept:
    """One clinical idea with its codings in several systems (e.g. ICD-10-CM and SNOMED CT).

    `oid` is the value set the codes come from (None: public codes with no shipped value set).
    Codes are given as (system, code); displays come from the value set, or `displays` when
    there is none.
    """

    key: str
    text: str
    codes: tuple[tuple[str, str], ...]
    oid: str | None = None
    displays: tuple[str, ...] = ()

    def codings(self) -> tuple[Coding, ...]:
        return _codings(self)

    def first(self, system: str) -> Coding:
        for coding in self.codings():
            if coding.system == system:
                return coding
        raise KeyError(f"{self.key} has no {system} code")


@cache
def _codings(concept: Concept) -> tuple[Coding, ...]:
    if concept.oid is not None:
        return tuple(_member(concept.oid, system, code) for system, code in concept.codes)
    return tuple(
        Coding(system, code, display)
        for (system, code), display in zip(concept.codes, concept.displays, strict=True)
    )


def coding_json(coding: Coding) -> JSON:
    return {"system": coding.system, "code": coding.code, "display": coding.display}


def concept_json(concept: Concept, rng: random.Random | None = None) -> JSON:
    """A CodeableConcept. With an rng, charts vary: one coding (any system) or all of them,
    because real EHRs send either and the engine must match each system on its own."""
    codings = concept.codings()
    if rng is not None and len(codings) > 1 and rng.random() < 0.5:
        codings = (codings[rng.randrange(len(codings))],)
    return {"coding": [coding_json(c) for c in codings], "text": concept.text}


def pick(rng: random.Random, concepts: tuple[Concept, ...]) -> Concept:
    return concepts[rng.randrange(len(concepts))]


def vs_concept(key: str, text: str, oid: str, *codes: tuple[str, str]) -> Concept:
    """A concept whose (system, code) pairs must be members of the shipped value set ``oid``."""
    return Concept(key=key, text=text, codes=codes, oid=oid)


def public_concept(key: str, text: str, *codes: tuple[str, str, str]) -> Concept:
    """A concept with no shipped value set: (system, code, display) written out by hand."""
    return Concept(
        key=key,
        text=text,
        codes=tuple((system, code) for system, code, _ in codes),
        displays=tuple(display for _, _, display in codes),
    )
