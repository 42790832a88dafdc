"""SMART on FHIR connections and the resilient async FHIR client (no Qt).

Modules: ``config`` (ConnectionConfig and its value objects), ``presets`` (vendor defaults),
``session`` (FhirConnection: discovery, logins, tokens, status, the client), ``client``
(FhirClient: pacing, retries, paging, lenient parsing, attachments), ``tokens`` (token sets and
the single-flight refresh manager), ``auth`` (httpx auth layers), ``oauth`` and ``pkce``
(OAuth 2 and SMART Backend Services), ``loopback`` (the RFC 8252 redirect listener),
``discovery`` (SMART configuration, CapabilityStatement), ``record`` (one patient's chart),
``schedule`` (a clinic day), ``writeback`` (prep sheet as DocumentReference, idempotent),
``directory`` (endpoint directory import), ``diagnose`` (test connection), ``credentials``
(secrets Protocol), ``store_adapters`` (the Protocols on the encrypted store), ``errors``.
"""

from healthprep_desktop.fhir.client import FhirClient, SearchPage, WriteResult
from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RedirectConfig,
    RetryConfig,
    TimeoutConfig,
    Vendor,
)
from healthprep_desktop.fhir.errors import (
    AuthError,
    FhirError,
    FhirHttpError,
    FhirTransportError,
    OAuthError,
    ReauthenticationRequired,
)
from healthprep_desktop.fhir.record import (
    FetchReport,
    FetchResult,
    RawDocument,
    fetch_patient_record,
)
from healthprep_desktop.fhir.schedule import ScheduledVisit, fetch_schedule
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status import AuditEvent, ConnectionStatus
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.fhir.writeback import PrepSheetDocument, WritebackResult, write_back

__all__ = [
    "AuditEvent",
    "AuthError",
    "AuthMethod",
    "ConnectionConfig",
    "ConnectionStatus",
    "FetchReport",
    "FetchResult",
    "FhirClient",
    "FhirConnection",
    "FhirError",
    "FhirHttpError",
    "FhirTransportError",
    "OAuthError",
    "PrepSheetDocument",
    "RateLimitConfig",
    "RawDocument",
    "ReauthenticationRequired",
    "RedirectConfig",
    "RetryConfig",
    "ScheduledVisit",
    "SearchPage",
    "TimeoutConfig",
    "TokenSet",
    "Vendor",
    "WriteResult",
    "WritebackResult",
    "fetch_patient_record",
    "fetch_schedule",
    "write_back",
]
