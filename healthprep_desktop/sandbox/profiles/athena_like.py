"""``athena-like``: the rules athenahealth documents for its FHIR R4 API.

Sources:
  https://docs.athenahealth.com/api/guides/fhir-apis  (the R4 resources; searches that do not
      name a patient carry ``ah-practice=Organization/a-1.Practice-{practiceid}``)
  https://docs.athenahealth.com/api/guides/base-fhir-urls  (the base URLs and practice ids)
  https://docs.athenahealth.com/api/guides/throttling  (rate limits: 429 Too Many Requests)
  https://docs.athenahealth.com/api/guides/authorization-overview  (OAuth 2.0 tokens)
  Checked by the lead with the search tool (2026-12-03):
  https://fhir.athena.io/athenacoreext/StructureDefinition-ah-practice.html  (the practice is the
      tenant, an Organization with id a-1.Practice-{PID})
  https://docs.athenahealth.com/api/guides/best-practices  (daily API quotas and a per-minute
      OAuth limit, reported in response headers)

Per-type searches by patient; a search without a patient needs ah-practice; no
Patient/$everything, no batch, no _include/_revinclude. Anything marked "assumed" could not be
confirmed on those pages.
"""

from __future__ import annotations

from types import MappingProxyType

from healthprep_desktop.sandbox.profiles.model import (
    GROUP_EXPORT_ONLY,
    READ,
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
    "https://docs.athenahealth.com/api/guides/fhir-apis",
    "https://docs.athenahealth.com/api/guides/base-fhir-urls",
    "https://docs.athenahealth.com/api/guides/throttling",
    "https://docs.athenahealth.com/api/guides/authorization-overview",
    "https://fhir.athena.io/athenacoreext/StructureDefinition-ah-practice.html",
    "https://docs.athenahealth.com/api/guides/best-practices",
)

PRACTICE_PARAM = "ah-practice"
# The preview (sandbox) practice athenahealth documents; any client must send it verbatim.
PRACTICE_VALUE = "Organization/a-1.Practice-195900"

_LU = "_lastUpdated"
_AH = (PRACTICE_PARAM,)

TYPES: dict[str, TypeRules] = {
    "Patient": rules("_id", "identifier", "name", "family+birthdate", extra=("gender", *_AH)),
    "AllergyIntolerance": rules("patient", extra=("clinical-status", _LU, *_AH)),
    "CarePlan": rules("patient", extra=("category", *_AH)),
    "Condition": rules("patient", extra=("category", "clinical-status", _LU, *_AH)),
    "Coverage": rules("patient", extra=_AH),
    "Device": rules("patient", extra=_AH),
    "DiagnosticReport": rules("patient", extra=("category", "code", "date", _LU, *_AH)),
    "DocumentReference": rules("patient", extra=("category", "type", "date", _LU, *_AH)),
    "Encounter": rules("patient", extra=("date", "class", "status", _LU, *_AH)),
    "Goal": rules("patient", extra=_AH),
    "Immunization": rules("patient", extra=("date", _LU, *_AH)),
    "MedicationRequest": rules("patient", extra=("status", "intent", _LU, *_AH)),
    # assumed: athena, like US Core, wants a category or code on Observation searches.
    "Observation": rules("patient+category", "patient+code", extra=("date", _LU, *_AH)),
    "Procedure": rules("patient", extra=("date", _LU, *_AH)),
    "ServiceRequest": rules("patient", extra=("category", _LU, *_AH)),  # assumed
    "Practitioner": rules("_id", "name", "identifier", extra=_AH),
    "Organization": rules("_id", "name", extra=_AH),
    "Location": rules("_id", "name", extra=_AH),
    "Medication": TypeRules(frozenset(), (), frozenset({READ})),
    "Binary": TypeRules(frozenset(), (), frozenset({READ})),
    # assumed: the schedule is read by date (athena's own scheduling API is not FHIR).
    "Appointment": rules("date", "patient", extra=("practitioner", "location", "status", *_AH)),
}

PROFILE = ServerProfile(
    name="athena-like",
    title="athenahealth-like R4 server (ah-practice, small pages, strict throttling)",
    sources=SOURCES,
    types=MappingProxyType(TYPES),
    everything=False,
    batch=False,
    includes=frozenset(),
    revincludes=frozenset(),
    controls=frozenset(),
    default_page_size=20,  # assumed
    max_page_size=100,  # assumed
    count_policy=CountPolicy.CAP,
    unsupported=UnsupportedParam.IGNORE,  # assumed
    writes=MappingProxyType(
        {"DocumentReference": WriteRules(single_attachment=True, update=False)}
    ),
    tokens=TokenLifetimes(access_token=3600.0),  # assumed
    # The throttling guide describes per-second limits answered with 429; the number and the
    # Retry-After header are assumed.
    rate_limit=RateLimit(15.0, burst=15, retry_after=True),
    practice_param=PRACTICE_PARAM,
    practice_value=PRACTICE_VALUE,
    # We did not find public athenahealth Bulk Data details; modelled as us-core (ONC (g)(10)
    # Group export with _type and _since).
    bulk=GROUP_EXPORT_ONLY,
    notes=(
        f"Searches that name no patient need {PRACTICE_PARAM}={PRACTICE_VALUE}.",
        "Unsupported parameters are ignored; the self link lists the parameters used.",
    ),
)
