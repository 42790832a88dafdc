"""``epic-like``: the rules Epic's public R4 APIs document (open.epic / fhir.epic.com).

Sources:
  https://fhir.epic.com/Specifications  (the R4 API list, one page per API: e.g.
      "Observation.Search (Labs) (R4)": patient and a category or code;
      "DocumentReference.Create (Clinical Notes) (R4)": text/plain, one attachment,
      context.encounter required)
  https://fhir.epic.com/Documentation?docId=oauth2  (access tokens last one hour; refresh
      tokens only for apps configured to receive them)
  https://open.epic.com/Interface/FHIR  (the published FHIR interfaces)
  https://open.epic.com/Clinical/Observation  (Observation search: "Both patient and code or
      category are required"; checked by the lead with the search tool, 2026-12-03)

Epic offers one search per type (no Patient/$everything, no batch of reads, no _include or
_revinclude in the R4 APIs listed), requires the patient on clinical searches, and requires a
category or code on Observation. Anything marked "assumed" could not be confirmed on those pages.
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
    "https://fhir.epic.com/Specifications",
    "https://fhir.epic.com/Documentation?docId=oauth2",
    "https://open.epic.com/Interface/FHIR",
    "https://open.epic.com/Clinical/Observation",
)

# assumed: Epic documents _lastUpdated on some searches only; modelled on every clinical type
# so an incremental rerun can be measured.
_LU = "_lastUpdated"

TYPES: dict[str, TypeRules] = {
    "Patient": rules("_id", "identifier", "family+birthdate", "name+birthdate", extra=("gender",)),
    "AllergyIntolerance": rules("patient", extra=("clinical-status", _LU)),
    # assumed: CarePlan.Search needs a category (longitudinal, encounter-level, ...).
    "CarePlan": rules("patient+category", extra=("date", _LU)),
    "Condition": rules("patient", extra=("category", "clinical-status", "encounter", _LU)),
    "Coverage": rules("patient"),
    "Device": rules("patient", extra=("type",)),
    "DiagnosticReport": rules("patient", extra=("category", "code", "date", "issued", _LU)),
    "DocumentReference": rules(
        "patient", extra=("category", "type", "date", "period", "encounter", _LU)
    ),
    "Encounter": rules("patient", extra=("date", "class", "status", "identifier", _LU)),
    "Goal": rules("patient", extra=("lifecycle-status",)),
    "Immunization": rules("patient", extra=("date", "status", _LU)),
    "MedicationRequest": rules(
        "patient", extra=("status", "intent", "category", "authoredon", _LU)
    ),
    # assumed: MedicationDispense.Search (Fill Status) R4 behaves like the other order searches.
    "MedicationDispense": rules("patient", extra=("status",)),
    "Observation": rules(
        "patient+category", "patient+code", extra=("date", "status", "issued", _LU)
    ),
    "Procedure": rules("patient", extra=("date", "category", "code", "status", _LU)),
    "ServiceRequest": rules("patient", extra=("category", "code", "authored", "status", _LU)),
    "Practitioner": rules("_id", "identifier", "name", "family", "given"),
    "Organization": rules("_id", "name"),
    "Location": rules("_id", "name"),
    "Medication": TypeRules(frozenset(), (), frozenset({READ})),
    "Binary": TypeRules(frozenset(), (), frozenset({READ})),
    # assumed: Appointment.Search (R4) is documented by patient; a provider's day by date,
    # practitioner and location is modelled so the schedule can be read the same way.
    "Appointment": rules("patient", "date", extra=("practitioner", "location", "status")),
}

PROFILE = ServerProfile(
    name="epic-like",
    title="Epic-like R4 server (per-type searches, required category or code)",
    sources=SOURCES,
    types=MappingProxyType(TYPES),
    everything=False,
    batch=False,  # assumed: no batch of reads in the public R4 APIs
    includes=frozenset(),
    revincludes=frozenset(),
    controls=frozenset(),
    default_page_size=100,  # assumed
    max_page_size=1000,  # assumed: larger _count values are served at the cap
    count_policy=CountPolicy.CAP,
    # assumed: Epic runs the search without an unknown parameter and says so in a warning
    # OperationOutcome entry (search.mode outcome); the self link names the parameters used.
    unsupported=UnsupportedParam.IGNORE,
    writes=MappingProxyType(
        {
            "DocumentReference": WriteRules(
                content_types=frozenset({"text/plain"}),
                single_attachment=True,
                needs_encounter=True,
            )
        }
    ),
    tokens=TokenLifetimes(access_token=3600.0, refresh_for_public_clients=False),
    rate_limit=RateLimit(10.0, burst=10),  # assumed: Epic does not publish its limits
    # https://fhir.epic.com/Documentation?docId=fhir_bulk_data: Group export only; the export is
    # not incremental (all data is collected before any file is ready), so a running status
    # says nothing about progress (no X-Progress). assumed: _type and _since are honoured.
    bulk=BulkSupport(
        system_export=False,
        patient_export=False,
        progress=False,
        sources=("https://fhir.epic.com/Documentation?docId=fhir_bulk_data",),
    ),
    notes=(
        "Observation searches need patient with category or code.",
        "DocumentReference create: text/plain, one attachment, context.encounter required.",
        "Unsupported parameters are ignored; the self link lists the parameters used.",
    ),
)
