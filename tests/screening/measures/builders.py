"""Small builders for measure test bundles: FHIR R4 JSON with QI-Core shapes.

Case files are plain FHIR Bundles (``cases/<CMS>/<Definition>/<case>.json``) whose last entry is
the individual MeasureReport expected for the patient, like the test decks measure authors
export. The scripts in ``make/`` write them with these builders; the files are the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
CASES = Path(__file__).resolve().parent / "cases"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CVX = "http://hl7.org/fhir/sid/cvx"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
FEMALE = "248152002"
MALE = "248153007"
US_CORE_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"
POP = "http://terminology.hl7.org/CodeSystem/measure-population"
VALUESETS = Path(__file__).resolve().parents[3] / "resources" / "valuesets"


def code_in(oid: str, system_hint: str | None = None) -> tuple[str, str]:
    """A (system, code) from a shipped value set, optionally from one code system."""
    data = json.loads((VALUESETS / f"{oid}.json").read_text(encoding="utf-8"))
    for system, code, _display in data["codes"]:
        if system_hint is None or system_hint in system:
            return system, code
    raise KeyError(f"no {system_hint} code in {oid}")


def cc(system: str, code: str) -> JSON:
    return {"coding": [{"system": system, "code": code}]}


class Case:
    """One patient and the resources of a case; ids are stable per case."""

    def __init__(
        self, pid: str, *, birth: str | None, sex: str | None = FEMALE, gender: str | None = None
    ):
        self.pid = pid
        patient: JSON = {"resourceType": "Patient", "id": pid}
        if birth is not None:
            patient["birthDate"] = birth
        if gender is None and sex is not None:
            gender = "female" if sex == FEMALE else "male" if sex == MALE else None
        if gender is not None:
            patient["gender"] = gender
        if sex is not None:
            patient["extension"] = [{"url": US_CORE_SEX, "valueCode": sex}]
        self.patient = patient
        self.resources: list[JSON] = []

    def add(self, resource_type: str, **fields: Any) -> JSON:
        n = sum(1 for r in self.resources if r["resourceType"] == resource_type) + 1
        resource: JSON = {
            "resourceType": resource_type,
            "id": f"{self.pid}-{resource_type.lower()}-{n}",
        }
        if resource_type not in ("Medication",):
            key = (
                "patient"
                if resource_type in ("Immunization", "AllergyIntolerance", "Coverage")
                else "subject"
            )
            if resource_type == "Coverage":
                key = "beneficiary"
            resource[key] = {"reference": f"Patient/{self.pid}"}
        resource.update(fields)
        self.resources.append(resource)
        return resource

    # Common shapes -------------------------------------------------------------------------

    def encounter(
        self,
        code: tuple[str, str],
        start: str,
        end: str | None = None,
        status: str = "finished",
        **more: Any,
    ) -> JSON:
        return self.add(
            "Encounter",
            status=status,
            **{
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                }
            },
            type=[cc(*code)],
            period={"start": start, "end": end or start},
            **more,
        )

    def observation(
        self,
        code: tuple[str, str],
        when: str,
        *,
        category: str | None = None,
        status: str = "final",
        **more: Any,
    ) -> JSON:
        fields: JSON = {"status": status, "code": cc(*code), "effectiveDateTime": when}
        if category:
            fields["category"] = [
                cc("http://terminology.hl7.org/CodeSystem/observation-category", category)
            ]
        fields.update(more)
        return self.add("Observation", **fields)

    def procedure(
        self, code: tuple[str, str], when: str, status: str = "completed", **more: Any
    ) -> JSON:
        return self.add("Procedure", status=status, code=cc(*code), performedDateTime=when, **more)

    def condition(
        self,
        code: tuple[str, str],
        onset: str | None,
        *,
        clinical: str | None = "active",
        abatement: str | None = None,
        category: str = "problem-list-item",
        **more: Any,
    ) -> JSON:
        fields: JSON = {
            "code": cc(*code),
            "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category", category)],
        }
        if clinical:
            fields["clinicalStatus"] = cc(
                "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical
            )
        if onset:
            fields["onsetDateTime"] = onset
        if abatement:
            fields["abatementDateTime"] = abatement
        fields.update(more)
        return self.add("Condition", **fields)

    # Output ----------------------------------------------------------------------------------

    def bundle(
        self, cms: str, measure_url: str, groups: list[tuple[str, dict[str, int]]], year: int = 2026
    ) -> JSON:
        report = {
            "resourceType": "MeasureReport",
            "id": f"expected-{self.pid}",
            "status": "complete",
            "type": "individual",
            "measure": measure_url,
            "subject": {"reference": f"Patient/{self.pid}"},
            "period": {"start": f"{year}-01-01", "end": f"{year}-12-31"},
            "group": [
                {
                    "id": gid,
                    "population": [
                        {"code": {"coding": [{"system": POP, "code": code}]}, "count": count}
                        for code, count in counts.items()
                    ],
                }
                for gid, counts in groups
            ],
        }
        entries = [self.patient, *self.resources, report]
        return {
            "resourceType": "Bundle",
            "id": self.pid,
            "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
        }


def write_case(cms: str, definition: str, name: str, bundle: JSON) -> Path:
    target = CASES / cms / definition / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
    return target
