"""``us-core``: only what the US Core Server CapabilityStatement says a server SHALL support.

Sources (US Core 6.1.0 and 7.0.0, the server CapabilityStatement and each profile's
"Mandatory Search Parameters" section):
  https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html
  https://hl7.org/fhir/us/core/STU7/CapabilityStatement-us-core-server.html
  https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-observation-lab.html
  https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-medicationrequest.html
  https://hl7.org/fhir/R4/search.html#errors  (lenient vs strict handling of unknown parameters)

Every search must use one of the SHALL combinations below (e.g. ``Observation?patient`` alone is
refused: US Core requires ``patient+category`` or ``patient+code``); only the parameters of
those combinations are supported. No Patient/$everything, no batch, no _revinclude; the one
SHALL _include is ``MedicationRequest:medication``.
"""

from __future__ import annotations

from types import MappingProxyType

from healthprep_desktop.sandbox.profiles.model import (
    GROUP_EXPORT_ONLY,
    READ,
    CountPolicy,
    RateLimit,
    ServerProfile,
    TypeRules,
    UnsupportedParam,
    rules,
)

SOURCES = (
    "https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html",
    "https://hl7.org/fhir/us/core/STU7/CapabilityStatement-us-core-server.html",
    "https://hl7.org/fhir/R4/search.html#errors",
)

# assumed: US Core lists _lastUpdated only as a SHOULD (Observation, Condition, Encounter...);
# servers generally honour it on every clinical type, and an incremental rerun needs it.
_LU = ("_lastUpdated",)

TYPES: dict[str, TypeRules] = {
    "Patient": rules("_id", "identifier", "name", "birthdate+name", "gender+name"),
    "AllergyIntolerance": rules("patient", extra=_LU),
    "CarePlan": rules("patient+category", extra=_LU),
    "Condition": rules("patient", "patient+category", extra=_LU),
    "Coverage": rules("patient", extra=_LU),  # US Core 6.0+
    "Device": rules("patient", extra=_LU),
    "DiagnosticReport": rules(
        "patient", "patient+category", "patient+code", "patient+category+date", extra=_LU
    ),
    "DocumentReference": rules(
        "_id", "patient", "patient+category", "patient+category+date", "patient+type", extra=_LU
    ),
    "Encounter": rules("_id", "patient", "date+patient", extra=_LU),
    "Goal": rules("patient", extra=_LU),
    "Immunization": rules("patient", extra=_LU),
    "MedicationDispense": rules("patient", extra=_LU),  # US Core 6.0+
    "MedicationRequest": rules("patient+intent", "patient+intent+status", extra=_LU),
    "Observation": rules("patient+category", "patient+code", "patient+category+date", extra=_LU),
    "Procedure": rules("patient", "patient+date", extra=_LU),
    "ServiceRequest": rules(  # US Core 6.0+
        "_id", "patient", "patient+category", "patient+code", "patient+category+authored", extra=_LU
    ),
    "Practitioner": rules("name", "identifier"),
    "Organization": rules("name"),
    "Location": rules("name"),
    # Read by reference only (US Core Medication has no search).
    "Medication": TypeRules(frozenset(), (), frozenset({READ})),
    "Binary": TypeRules(frozenset(), (), frozenset({READ})),
    # assumed: US Core has no Appointment profile; clinics' servers expose the schedule this
    # way (a day's appointments by date, optionally by practitioner or location), and the app
    # cannot build a day without it.
    "Appointment": rules("date", "patient", extra=("practitioner", "location", "status")),
}

PROFILE = ServerProfile(
    name="us-core",
    title="US Core 6.1/7.0 server (SHALL searches only)",
    sources=SOURCES,
    types=MappingProxyType(TYPES),
    everything=False,
    batch=False,
    includes=frozenset({"MedicationRequest:medication"}),
    revincludes=frozenset(),
    controls=frozenset(),
    default_page_size=50,  # assumed: US Core sets no page size
    max_page_size=100,  # assumed: a typical cap, served silently with next links
    count_policy=CountPolicy.CAP,
    # assumed: strict handling (FHIR search.html "handling=strict") so a client learns at once.
    unsupported=UnsupportedParam.REFUSE,
    rate_limit=RateLimit(20.0, burst=20),  # assumed: unpublished on real servers
    # ONC (g)(10) certified EHRs must offer Bulk Data Group export (with _type and _since);
    # system and Patient-level export are optional there, so not modelled.
    bulk=GROUP_EXPORT_ONLY,
    notes=(
        "Searches must use one of the parameter combinations listed per resource "
        "(capabilitystatement-search-parameter-combination); others are refused with 400.",
        "Unsupported parameters are refused with 400.",
    ),
)
