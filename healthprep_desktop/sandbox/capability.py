"""Discovery documents: SMART configuration and the CapabilityStatement.

Both are built from the same tables the server runs on (search_params, the client auth
methods, the scope grammar), so a client that trusts them to choose between Patient/$everything
and per-type searches chooses something that works.
"""

from __future__ import annotations

from datetime import UTC, datetime

from healthprep_desktop import __version__
from healthprep_desktop.sandbox.bulk.capability import advertise_bulk
from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.profiles import ServerProfile, TypeRules
from healthprep_desktop.sandbox.profiles.enforce import combination_text, ordered
from healthprep_desktop.sandbox.profiles.generic import PROFILE as GENERIC
from healthprep_desktop.sandbox.search_params import CORE_TYPES, ParamKind, params_for

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

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


COMBINATION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)
EXPECTATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation"
# No standard element says how a server pages or answers unknown parameters; this sandbox
# extension does, so a client (and its tests) can plan page sizes without probing.
SEARCH_BEHAVIOUR = "https://healthprep-desktop.invalid/fhir/StructureDefinition/search-behaviour"
_SPECIAL_PARAMS = {"_id": "token", "_lastUpdated": "date"}


def _param_type(rtype: str, name: str) -> str:
    if name in _SPECIAL_PARAMS:
        return _SPECIAL_PARAMS[name]
    defs = params_for(rtype).get(name)
    return defs[0].kind.value if defs else "reference"  # e.g. athena's ah-practice


def _resource_entry(rtype: str, all_types: list[str], profile: ServerProfile) -> JSON:
    rules = profile.type_rules(rtype) or TypeRules()
    params = params_for(rtype)
    interactions = [i for i in ("read", "vread", "search-type") if profile.offers(rtype, i)]
    interactions += [i for i in ("create", "update") if profile.offers(rtype, i)]
    if rules.params is None:
        names = ["_id", "_lastUpdated", *params]
    else:
        names = sorted(rules.params, key=lambda n: (not n.startswith("_"), n))
        if profile.practice_param and profile.practice_param not in names:
            names.append(profile.practice_param)
    search_params = [{"name": name, "type": _param_type(rtype, name)} for name in names]
    includes = [
        f"{rtype}:{name}" for name, defs in params.items() if defs[0].kind is ParamKind.REFERENCE
    ]
    revincludes = [
        f"{source}:{name}"
        for source in all_types
        for name, defs in params_for(source).items()
        if defs[0].kind is ParamKind.REFERENCE and any(d.target == rtype for d in defs)
    ]
    if profile.includes is not None:
        includes = [i for i in includes if i in profile.includes]
    if profile.revincludes is not None:
        revincludes = [i for i in revincludes if i in profile.revincludes]
    if "search-type" not in interactions:
        search_params, includes, revincludes = [], [], []
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
    if rules.required and "search-type" in interactions:
        # US Core's way of saying which combinations a search must use (SHALL = enforced).
        entry["extension"] = [
            {
                "url": COMBINATION,
                "extension": [
                    {"url": EXPECTATION, "valueCode": "SHALL"},
                    *({"url": "required", "valueString": n} for n in ordered(combo)),
                ],
            }
            for combo in rules.required
        ]
        entry["documentation"] = (
            f"Searches must use one of: {combination_text(rules)}; others get 400."
        )
    write = profile.writes.get(rtype)
    if write is not None and not profile.is_generic:
        rules_text = []
        if write.content_types is not None:
            rules_text.append("attachments " + ", ".join(sorted(write.content_types)))
        if write.single_attachment:
            rules_text.append("one attachment")
        if write.needs_encounter:
            rules_text.append("context.encounter required")
        if rules_text:
            text = "Write-back: " + "; ".join(rules_text) + "."
            entry["documentation"] = " ".join(filter(None, [entry.get("documentation"), text]))
    if rtype == "Patient" and profile.everything:
        entry["operation"] = [
            {
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            }
        ]
    return entry


def _search_behaviour(profile: ServerProfile, default_count: int, max_count: int) -> JSON:
    behaviour: JSON = {
        "url": SEARCH_BEHAVIOUR,
        "extension": [
            {"url": "profile", "valueCode": profile.name},
            {"url": "defaultCount", "valueInteger": profile.default_page_size or default_count},
            {"url": "maxCount", "valueInteger": profile.max_page_size or max_count},
            {"url": "overMaxCount", "valueCode": profile.count_policy.value},
            {"url": "unsupportedParameter", "valueCode": profile.unsupported.value},
        ],
    }
    if profile.practice_param and profile.practice_value:
        # athenahealth: searches naming no patient must carry this parameter and value.
        behaviour["extension"].append(
            {
                "url": "searchWithoutPatientNeeds",
                "valueString": f"{profile.practice_param}={profile.practice_value}",
            }
        )
    return behaviour


def capability_statement(
    root: str,
    org_id: str,
    org_name: str,
    fhir_base: str,
    stored_types: list[str],
    profile: ServerProfile = GENERIC,
    page_sizes: tuple[int, int] = (50, 1000),
) -> JSON:
    """The CapabilityStatement of one organization under ``profile``; ``page_sizes`` are the
    sandbox's (default, max) used where the profile sets none."""
    urls = auth_urls(root, org_id)
    if profile.types is None:
        types = list(CORE_TYPES) + [t for t in stored_types if t not in CORE_TYPES]
        types += [t for t in profile.writes if t not in types]  # e.g. Bundle create
    else:
        types = list(profile.types)
    rest: JSON = {
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
        "extension": [_search_behaviour(profile, *page_sizes)],
        "resource": [_resource_entry(t, types, profile) for t in types],
        "interaction": [{"code": "batch"}] if profile.batch else [],
    }
    if profile.notes:
        rest["documentation"] = " ".join(profile.notes)
    if not rest["interaction"]:
        del rest["interaction"]
    description = org_name if profile.is_generic else f"{org_name} ({profile.title})"
    document: JSON = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "HealthPrep Desktop sandbox",
        "kind": "instance",
        "software": {"name": "HealthPrep Sandbox", "version": __version__},
        "implementation": {"description": description, "url": fhir_base},
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [rest],
    }
    return advertise_bulk(document, profile)  # Group and $export (sandbox/bulk)
