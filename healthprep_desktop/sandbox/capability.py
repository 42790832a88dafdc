"""Discovery documents: SMART configuration and the CapabilityStatement.

Both are built from the same tables the server runs on (search_params, the client auth
methods, the scope grammar), so a client that trusts them to choose between Patient/$everything
and per-type searches chooses something that works.
"""

from __future__ import annotations

from datetime import UTC, datetime

from healthprep_desktop import __version__
from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.search_params import CORE_TYPES, ParamKind, params_for

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
WRITABLE = frozenset({"DocumentReference"})

SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.read",
    "patient/*.rs",
    "patient/DocumentReference.cruds",
    "user/*.read",
    "user/*.rs",
    "user/DocumentReference.cruds",
    "system/*.read",
    "system/*.rs",
]


def auth_urls(root: str, org_id: str) -> dict[str, str]:
    base = f"{root}/org/{org_id}/auth"
    return {
        "authorize": f"{base}/authorize",
        "token": f"{base}/token",
        "jwks": f"{base}/jwks",
    }


def smart_configuration(root: str, org_id: str, fhir_base: str) -> JSON:
    urls = auth_urls(root, org_id)
    return {
        "issuer": fhir_base,
        "jwks_uri": urls["jwks"],
        "authorization_endpoint": urls["authorize"],
        "token_endpoint": urls["token"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES_SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-standalone-patient",
            "permission-offline",
            "permission-online",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
            "sso-openid-connect",
        ],
    }


def _resource_entry(rtype: str, all_types: list[str]) -> JSON:
    params = params_for(rtype)
    interactions = ["read", "vread", "search-type"]
    if rtype in WRITABLE:
        interactions += ["create", "update"]
    search_params = [{"name": "_id", "type": "token"}, {"name": "_lastUpdated", "type": "date"}]
    search_params += [{"name": name, "type": defs[0].kind.value} for name, defs in params.items()]
    includes = [
        f"{rtype}:{name}" for name, defs in params.items() if defs[0].kind is ParamKind.REFERENCE
    ]
    revincludes = [
        f"{source}:{name}"
        for source in all_types
        for name, defs in params_for(source).items()
        if defs[0].kind is ParamKind.REFERENCE and any(d.target == rtype for d in defs)
    ]
    entry: JSON = {
        "type": rtype,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned",
        "readHistory": False,
        "conditionalRead": "full-support",
        "searchInclude": includes,
        "searchRevInclude": revincludes,
        "searchParam": search_params,
    }
    if rtype == "Patient":
        entry["operation"] = [
            {
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            }
        ]
    return entry


def capability_statement(
    root: str, org_id: str, org_name: str, fhir_base: str, stored_types: list[str]
) -> JSON:
    urls = auth_urls(root, org_id)
    types = list(CORE_TYPES) + [t for t in stored_types if t not in CORE_TYPES]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "HealthPrep Desktop sandbox",
        "kind": "instance",
        "software": {"name": "HealthPrep Sandbox", "version": __version__},
        "implementation": {"description": org_name, "url": fhir_base},
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [
                                {"url": "authorize", "valueUri": urls["authorize"]},
                                {"url": "token", "valueUri": urls["token"]},
                            ],
                        }
                    ],
                },
                "resource": [_resource_entry(t, types) for t in types],
                "interaction": [{"code": "batch"}],
            }
        ],
    }
