"""Public eCQM value sets (VSAC expansions) shipped in resources/valuesets/, looked up by OID.

Code systems are normalised to canonical FHIR URIs, because charts and value sets spell some of
them differently (CPT, HCPCS and ICD-10 above all) and a missed match would turn a completed
screening into a false "due".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from healthprep_desktop.paths import resources_dir

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CVX = "http://hl7.org/fhir/sid/cvx"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

_ALIASES = {
    "http://www.ama-assn.org/go/cpt": CPT,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets": HCPCS,
    "https://www.cms.gov/medicare/coding/hcpcsreleasecodesets": HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": HCPCS,
    "http://www.nlm.nih.gov/research/umls/hcpcs": HCPCS,
    "http://hl7.org/fhir/sid/icd-10": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "http://www.cms.gov/medicare/coding/icd10": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.4": ICD10PCS,
    "http://snomed.info/sct": SNOMED,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://loinc.org": LOINC,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://hl7.org/fhir/sid/cvx": CVX,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
}

_SHORT = {
    LOINC: "LOINC",
    SNOMED: "SNOMED",
    CPT: "CPT",
    HCPCS: "HCPCS",
    ICD10CM: "ICD-10-CM",
    ICD10PCS: "ICD-10-PCS",
    CVX: "CVX",
    RXNORM: "RxNorm",
}


def normalize_system(system: str | None) -> str:
    if not system:
        return ""
    return _ALIASES.get(system.strip().lower().rstrip("/"), system.strip())


def short_system_name(system: str | None) -> str:
    """'CPT', 'LOINC', ... for explanations on the sheet; the URI itself for anything else."""
    norm = normalize_system(system)
    return _SHORT.get(norm, norm)


def normalize_code(system: str, code: str) -> str:
    code = code.strip()
    # ICD-10 codes appear with and without the dot (E11.9 / E119).
    if system in (ICD10CM, ICD10PCS):
        return code.replace(".", "").upper()
    return code


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str = ""


@dataclass(frozen=True)
class ValueSet:
    oid: str
    name: str
    version: str | None
    codes: tuple[Coding, ...]

    @property
    def keys(self) -> frozenset[tuple[str, str]]:
        return _keys(self)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Coding):
            system = normalize_system(item.system)
            return (system, normalize_code(system, item.code)) in self.keys
        return False

    def matches(self, system: str | None, code: str | None) -> bool:
        if not code:
            return False
        norm = normalize_system(system)
        return (norm, normalize_code(norm, code)) in self.keys

    def by_system(self, system: str) -> Iterator[Coding]:
        norm = normalize_system(system)
        return (c for c in self.codes if c.system == norm)


@cache
def _keys(vs: ValueSet) -> frozenset[tuple[str, str]]:
    return frozenset((c.system, normalize_code(c.system, c.code)) for c in vs.codes)


def valueset_dir() -> Path:
    return resources_dir() / "valuesets"


@cache
def load_valueset(oid: str) -> ValueSet:
    path = valueset_dir() / f"{oid}.json"
    if not path.is_file():
        raise KeyError(f"value set {oid} is not in {valueset_dir()}")
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = tuple(
        Coding(normalize_system(system), code, display) for system, code, display in data["codes"]
    )
    return ValueSet(oid=data["oid"], name=data["name"], version=data.get("version"), codes=codes)


def union(oids: Iterable[str]) -> frozenset[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for oid in oids:
        keys |= load_valueset(oid).keys
    return frozenset(keys)


def available_oids() -> list[str]:
    return sorted(p.stem for p in valueset_dir().glob("*.json"))
