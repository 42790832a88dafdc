"""What the CapabilityStatement says about Bulk Data export under a server profile."""

from __future__ import annotations

from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.profiles import ServerProfile

BULK_DATA_CS = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
_OPERATIONS = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
EXPORT = _OPERATIONS + "export"
PATIENT_EXPORT = _OPERATIONS + "patient-export"
GROUP_EXPORT = _OPERATIONS + "group-export"


def _operation(definition: str) -> JSON:
    return {"name": "export", "definition": definition}


# The same extension sandbox/capability.py writes (not imported: that module imports this one).
_COMBINATION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)
_EXPECTATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation"
GROUP_SEARCH_PARAMS = ("_id", "identifier", "name")


def group_entry(with_export: bool, restricted: bool) -> JSON:
    """The Group entry; a restricted profile (not generic) needs one search parameter."""
    entry: JSON = {
        "type": "Group",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",  # derived from the patients on each request
        "readHistory": False,
        "conditionalRead": "not-supported",
        "searchInclude": [],
        "searchRevInclude": [],
        "searchParam": [
            {"name": "_id", "type": "token"},
            {"name": "identifier", "type": "token"},
            {"name": "name", "type": "string"},
        ],
    }
    if restricted:
        entry["extension"] = [
            {
                "url": _COMBINATION,
                "extension": [
                    {"url": _EXPECTATION, "valueCode": "SHALL"},
                    {"url": "required", "valueString": name},
                ],
            }
            for name in GROUP_SEARCH_PARAMS
        ]
        entry["documentation"] = "Searches must use one of: _id, identifier, name; others get 400."
    if with_export:
        entry["operation"] = [_operation(GROUP_EXPORT)]
    return entry


def advertise_bulk(document: JSON, profile: ServerProfile) -> JSON:
    """Add the profile's export operations to a CapabilityStatement (changed in place)."""
    support = profile.bulk
    rest = document["rest"][0]
    resources: list[JSON] = rest.setdefault("resource", [])
    resources[:] = [r for r in resources if r.get("type") != "Group"]
    resources.append(group_entry(support.group_export, not profile.is_generic))
    if not support.any:
        return document
    document["instantiates"] = [BULK_DATA_CS]
    operations: list[JSON] = rest.setdefault("operation", [])
    if support.system_export:
        operations.append(_operation(EXPORT))
    if support.patient_export:
        operations.append(_operation(PATIENT_EXPORT))
        for entry in resources:
            if entry.get("type") == "Patient":
                entry.setdefault("operation", []).append(_operation(PATIENT_EXPORT))
    if support.group_export:
        operations.append(_operation(GROUP_EXPORT))
    return document
