"""``oracle-like``: the rules Oracle Health (Cerner) Millennium R4 documents publicly.

Sources:
  https://fhir.cerner.com/millennium/r4/  (the R4 resource list; each resource page lists its
      search parameters, which of them are required, _count and paging, and the errors)
  https://fhir.cerner.com/millennium/r4/clinical/diagnostics/observation/  (Observation: patient
      or subject required; category, code, date, _lastUpdated, _count)
  https://fhir.cerner.com/millennium/r4/foundation/documents/document-reference/  (create with an
      encounter)
  https://fhir.cerner.com/authorization/  (SMART authorization; access tokens last ten minutes)
  Checked by the lead with the search tool (2026-12-03):
  https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/op-observation-get.html
      (Observation: _count default 50, maximum 200; _id required when patient or subject is not
      given; _lastUpdated up to twice with eq/ge/gt/le/lt; results newest first)
  https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/r4_overview.html
      (the CapabilityStatement: patient "is a required field if the subject field is not given")
  https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfdap/op-documentreference-post.html
      (DocumentReference create: "only XHTML-formatted documents are supported")

Millennium requires the patient on clinical searches, answers an unsupported or invalid
parameter with 400 and an OperationOutcome, offers no Patient/$everything and no batch of reads,
and only ``_revinclude=Provenance:target`` (not modelled: the sandbox stores no Provenance).
Anything marked "assumed" could not be confirmed on those pages.
"""

from __future__ import annotations

from types import MappingProxyType

from healthprep_desktop.sandbox.profiles.model import (
    READ,
    BulkSupport,
    CountPolicy,
    RateLimit,
    ServerProfile,
    TokenLifetimes,
    TypeRules,
    UnsupportedParam,
    WriteRules,
    rules,
)

SOURCES = (
    "https://fhir.cerner.com/millennium/r4/",
    "https://fhir.cerner.com/millennium/r4/clinical/diagnostics/observation/",
    "https://fhir.cerner.com/millennium/r4/foundation/documents/document-reference/",
    "https://fhir.cerner.com/authorization/",
    "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/op-observation-get.html",
    "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/r4_overview.html",
    "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfdap/op-documentreference-post.html",
)

_LU = "_lastUpdated"

TYPES: dict[str, TypeRules] = {
    "Patient": rules("_id", "identifier", "name", "family", "given", extra=("birthdate", "gender")),
    "AllergyIntolerance": rules("patient", extra=("clinical-status", _LU)),
    "CarePlan": rules("patient+category"),  # Millennium: category=assess-plan
    "Condition": rules("patient", "subject", extra=("category", "clinical-status", _LU)),
    "Coverage": rules("patient"),
    "Device": rules("patient"),
    "DiagnosticReport": rules("patient", "subject", extra=("category", "code", "date", _LU)),
    "DocumentReference": rules(
        "_id", "patient", "subject", "encounter", extra=("category", "type", "date", "period", _LU)
    ),
    "Encounter": rules("_id", "patient", "subject", "identifier", extra=("date", "status", _LU)),
    "Goal": rules("patient", extra=("lifecycle-status",)),
    "Immunization": rules("patient", extra=("date", "vaccine-code", "status", _LU)),
    "MedicationAdministration": rules("patient", extra=("status",)),
    "MedicationDispense": rules("patient", extra=("status",)),
    "MedicationRequest": rules("patient", extra=("status", "intent", _LU)),
    "Observation": rules("patient", "subject", extra=("category", "code", "date", _LU)),
    "Procedure": rules("patient", "subject", extra=("date", _LU)),
    "ServiceRequest": rules("_id", "patient", extra=("code", "authored", "status", _LU)),
    "Practitioner": rules("_id", "identifier", "name", "family", "given"),
    "Organization": rules("_id", "name"),
    "Location": rules("_id", "name"),
    "Medication": TypeRules(frozenset(), (), frozenset({READ})),
    "Binary": TypeRules(frozenset(), (), frozenset({READ})),
    # Millennium Appointment: _id, patient, practitioner or location, with a date.
    "Appointment": rules(
        "_id", "patient", "date+practitioner", "date+location", "date", extra=("status",)
    ),
}

PROFILE = ServerProfile(
    name="oracle-like",
    title="Oracle Health (Cerner) Millennium-like R4 server",
    sources=SOURCES,
    types=MappingProxyType(TYPES),
    everything=False,
    batch=False,
    includes=frozenset(),
    revincludes=frozenset(),
    controls=frozenset(),
    default_page_size=50,  # documented for Observation (op-observation-get); assumed elsewhere
    max_page_size=200,  # documented for Observation (op-observation-get); assumed elsewhere
    count_policy=CountPolicy.REFUSE,  # assumed: an over-large _count is an invalid parameter
    unsupported=UnsupportedParam.REFUSE,
    writes=MappingProxyType(
        {
            "DocumentReference": WriteRules(
                content_types=frozenset({"application/xhtml+xml"}),
                single_attachment=True,
                needs_encounter=True,
                update=False,
            )
        }
    ),
    tokens=TokenLifetimes(access_token=600.0),
    rate_limit=RateLimit(10.0, burst=10),  # assumed: limits are not published
    # Bulk Data: Group export only; one export per client in progress at a time (a second
    # kick-off gets 429); Prefer: handling=lenient honoured; files kept 30 days; DELETE cleans
    # up. Sources: mfbda/op-group-group_id-export-get.html and mfbda/group_export.html.
    bulk=BulkSupport(
        system_export=False,
        patient_export=False,
        one_job_per_client=True,
        file_expiry_seconds=30 * 86_400.0,
        sources=(
            "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfbda/op-group-group_id-export-get.html",
            "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfbda/group_export.html",
        ),
    ),
    notes=(
        "Clinical searches need patient (or subject); unsupported parameters get 400.",
        "_count above the maximum gets 400.",
        "DocumentReference: create only (no update), XHTML only, one attachment, "
        "context.encounter required.",
    ),
)
