"""FHIR Bulk Data Access 2.0 export in the embedded sandbox (docs/sandbox-bulk.md).

Groups (``groups``), kick-off checks (``kickoff``), jobs and their state (``jobs``), the NDJSON
writer (``writer``), file serving with Range and cuts (``files``), the HTTP side
(``service``), the CapabilityStatement entries (``capability``) and a way to change patients'
data for ``_since`` tests and benches (``changes``).
"""

from healthprep_desktop.sandbox.bulk.changes import touch_patients
from healthprep_desktop.sandbox.bulk.endpoints import FILE_PATH
from healthprep_desktop.sandbox.bulk.groups import GROUP_SYSTEM, PANEL, find_group
from healthprep_desktop.sandbox.bulk.service import STATUS_PATH, BulkService

__all__ = [
    "FILE_PATH",
    "GROUP_SYSTEM",
    "PANEL",
    "STATUS_PATH",
    "BulkService",
    "find_group",
    "touch_patients",
]
