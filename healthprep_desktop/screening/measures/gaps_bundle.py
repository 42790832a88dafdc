"""One patient's Da Vinci DEQM gaps-in-care report: a FHIR document Bundle.

Shape (DEQM "Gaps in Care Reporting"): a ``document`` Bundle whose first entry is the
Composition (LOINC 96315-7 "Gaps in care report", the patient, the date, the clinic's
Organization as author), one section per measure with a gap status (its individual
MeasureReport as ``focus``, its DetectedIssues as entries), then the MeasureReports, one
DetectedIssue per measure group with a gap (CAREGAP, the gapStatus modifier extension, the
MeasureReport as evidence), the Patient and the Organization.

Every entry gets a RESTful fullUrl on the EHR's base, so the relative references measure mode
writes ("Patient/123") resolve inside the document. Ids of generated resources are derived
(uuid5) from the clinic, the patient, the period and the content: the same gaps give the same
document, which is what makes posting it again a no-op (workers/gaps_cli.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthprep_desktop.screening.measures.base import MeasurementPeriod
from healthprep_desktop.screening.measures.gaps_status import (
    GAPS_STATUS_SYSTEM,
    IMPROVEMENT_SYSTEM,
    GapStatus,
    GroupGap,
    improvement_notation,
)
from healthprep_desktop.screening.measures.report import measure_defs

JSON = dict[str, Any]

DEQM = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition"
GAP_STATUS_EXTENSION = f"{DEQM}/extension-gapStatus"
PROFILE_BUNDLE = f"{DEQM}/gaps-bundle-deqm"
PROFILE_COMPOSITION = f"{DEQM}/gaps-composition-deqm"
PROFILE_DETECTED_ISSUE = f"{DEQM}/gaps-detectedissue-deqm"
PROFILE_MEASURE_REPORT = f"{DEQM}/indv-measurereport-deqm"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
GAPS_REPORT = ("96315-7", "Gaps in care report")
URI_SYSTEM = "urn:ietf:rfc:3986"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "healthprep-desktop:deqm-gaps")


@dataclass(frozen=True, slots=True)
class ClinicOrganization:
    """The report's author: the clinic (tenant) running the app."""

    key: str  # stable: the tenant id
    name: str

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"organization|{self.key}"))

    def resource(self) -> JSON:
        return {"resourceType": "Organization", "id": self.id, "active": True, "name": self.name}


def gaps_digest(
    patient_id: str,
    period: MeasurementPeriod,
    reports: Mapping[str, JSON],
    gaps: Mapping[str, Sequence[GroupGap]],
) -> str:
    """What the report says, without its timestamps: the gaps and each report's counts."""
    measures = sorted(cms for cms in reports if gaps.get(cms))
    content = {
        "patient": patient_id,
        "period": [period.first_day.isoformat(), period.last_day.isoformat()],
        "gaps": {
            cms: [[g.group_id, g.status.value, list(g.open_episodes)] for g in gaps[cms]]
            for cms in measures
        },
        "reports": {
            cms: [
                [
                    g.get("id"),
                    [[p["code"]["coding"][0]["code"], p["count"]] for p in g["population"]],
                ]
                for g in reports[cms]["group"]
            ]
            for cms in measures
        },
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def _concept(system: str, code: str, display: str) -> JSON:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _detected_issue(
    issue_id: str, gap: GroupGap, patient_ref: str, report_ref: str, title: str, stamp: str
) -> JSON:
    status = gap.status
    issue: JSON = {
        "resourceType": "DetectedIssue",
        "id": issue_id,
        "meta": {"profile": [PROFILE_DETECTED_ISSUE]},
        "modifierExtension": [
            {
                "url": GAP_STATUS_EXTENSION,
                "valueCodeableConcept": _concept(GAPS_STATUS_SYSTEM, status.value, status.display),
            }
        ],
        # A closed gap is settled for the period; an open or prospective one can still change.
        "status": "final" if status is GapStatus.CLOSED else "preliminary",
        "code": _concept(ACT_CODE, "CAREGAP", "Care Gaps"),
        "patient": {"reference": patient_ref},
        "identifiedDateTime": stamp,
        "evidence": [{"detail": [{"reference": report_ref}]}],
        "detail": f"{gap.cms} {title} (group {gap.group_id}): {status.display.lower()}",
    }
    if gap.open_episodes:
        issue["implicated"] = [{"reference": ref} for ref in gap.open_episodes]
    return issue


def gaps_bundle(
    patient: JSON,
    period: MeasurementPeriod,
    reports: Mapping[str, JSON],
    gaps: Mapping[str, Sequence[GroupGap]],
    organization: ClinicOrganization,
    base_url: str,
    *,
    now: datetime | None = None,
) -> JSON | None:
    """The gaps-in-care document of one patient; None when no measure has a gap status
    (the patient is in no measure's denominator: there is nothing to report)."""
    patient_id = str(patient.get("id") or "")
    if not patient_id:
        raise ValueError("the patient has no id")
    measures = [cms for cms in reports if gaps.get(cms)]
    if not measures:
        return None
    base = base_url.rstrip("/")
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    digest = gaps_digest(patient_id, period, reports, gaps)

    def derived(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, "|".join((organization.key, patient_id, digest, *parts))))

    patient_ref = f"Patient/{patient_id}"
    org_ref = f"Organization/{organization.id}"
    entries: list[JSON] = []
    sections: list[JSON] = []
    issues: list[JSON] = []
    for cms in measures:
        definition = measure_defs()[cms]
        report = copy.deepcopy(dict(reports[cms]))
        report["id"] = derived("MeasureReport", cms)
        report["meta"] = {"profile": [PROFILE_MEASURE_REPORT]}
        report["reporter"] = {"reference": org_ref}
        notation = improvement_notation(cms)
        report["improvementNotation"] = _concept(
            IMPROVEMENT_SYSTEM,
            notation,
            "Increased score indicates improvement"
            if notation == "increase"
            else "Decreased score indicates improvement",
        )
        report_ref = f"MeasureReport/{report['id']}"
        entries.append(report)
        section_refs: list[JSON] = []
        for gap in gaps[cms]:
            issue_id = derived("DetectedIssue", cms, gap.group_id)
            issues.append(
                _detected_issue(issue_id, gap, patient_ref, report_ref, definition.title, stamp)
            )
            section_refs.append({"reference": f"DetectedIssue/{issue_id}"})
        sections.append(
            {
                "title": f"{cms} {definition.title}",
                "focus": {"reference": report_ref},
                "entry": section_refs,
            }
        )
    composition: JSON = {
        "resourceType": "Composition",
        "id": derived("Composition"),
        "meta": {"profile": [PROFILE_COMPOSITION]},
        "status": "final",
        "type": _concept(LOINC, *GAPS_REPORT),
        "subject": {"reference": patient_ref},
        "date": stamp,
        "author": [{"reference": org_ref}],
        "title": "Gaps in Care Report",
        "section": sections,
    }
    document_id = derived("Bundle")
    resources = [composition, *entries, *issues, patient, organization.resource()]
    return {
        "resourceType": "Bundle",
        "id": document_id,
        "meta": {"profile": [PROFILE_BUNDLE]},
        "identifier": {"system": URI_SYSTEM, "value": f"urn:uuid:{document_id}"},
        "type": "document",
        "timestamp": stamp,
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def bundle_gaps(bundle: JSON) -> list[tuple[str, str]]:
    """(detail, gap status) of each DetectedIssue in a gaps bundle (tests and summaries)."""
    out: list[tuple[str, str]] = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "DetectedIssue":
            continue
        for ext in resource.get("modifierExtension") or []:
            if ext.get("url") == GAP_STATUS_EXTENSION:
                code = ext["valueCodeableConcept"]["coding"][0]["code"]
                out.append((str(resource.get("detail", "")), str(code)))
    return out


__all__ = [
    "GAP_STATUS_EXTENSION",
    "ClinicOrganization",
    "bundle_gaps",
    "gaps_bundle",
    "gaps_digest",
]
