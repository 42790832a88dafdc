"""Who is signed in, as a person's name: from the id_token's claims, else the fhirUser resource
(Practitioner, Person, ...) read once from the EHR, else "Practitioner 123" (never a raw URL).

The id_token is decoded without verifying its signature: the name is only shown, never trusted
for access (the token exchange already authenticated the EHR over TLS).
"""

from __future__ import annotations

from typing import Any

import jwt

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import TokenSet


def _claims(id_token: str | None) -> dict[str, Any]:
    if not id_token:
        return {}
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def name_from_claims(id_token: str | None) -> str | None:
    """OpenID Connect's name, given/family or preferred_username, when the EHR sends them."""
    claims = _claims(id_token)
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [claims.get("given_name"), claims.get("family_name")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if joined:
        return joined
    username = claims.get("preferred_username")
    return username.strip() if isinstance(username, str) and username.strip() else None


def reference_of(fhir_user: str | None) -> tuple[str, str] | None:
    """("Practitioner", "123") from "Practitioner/123" or a full URL ending in it."""
    if not fhir_user:
        return None
    parts = [p for p in fhir_user.rstrip("/").split("/") if p]
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return None
    return parts[-2], parts[-1]


def short_reference(fhir_user: str | None) -> str | None:
    ref = reference_of(fhir_user)
    return f"{ref[0]} {ref[1]}" if ref else None


def human_name(resource: dict[str, Any]) -> str | None:
    """The first usable HumanName of a Practitioner/Person/Patient resource."""
    names = resource.get("name")
    if not isinstance(names, list):
        return None
    for name in names:
        if not isinstance(name, dict):
            continue
        text = name.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()
        given = [g for g in name.get("given") or [] if isinstance(g, str)]
        family = name.get("family")
        joined = " ".join([*given, family] if isinstance(family, str) else given).strip()
        if joined:
            prefix = [p for p in name.get("prefix") or [] if isinstance(p, str)]
            return " ".join([*prefix, joined]) if prefix else joined
    return None


def display_name(tokens: TokenSet | None) -> str | None:
    """The best name available without a request."""
    if tokens is None:
        return None
    return name_from_claims(tokens.id_token) or short_reference(tokens.fhir_user)


async def resolve_display_name(live: FhirConnection) -> str | None:
    """The signed-in user's name, reading the fhirUser resource when the token has no name."""
    tokens = live.tokens.tokens
    if tokens is None:
        return None
    claimed = name_from_claims(tokens.id_token)
    if claimed:
        return claimed
    ref = reference_of(tokens.fhir_user)
    if ref is None:
        return None
    try:
        resource = await live.client.read(*ref)
    except Exception:  # the name is a nicety: any failure shows the reference
        return short_reference(tokens.fhir_user)
    return human_name(resource) or short_reference(tokens.fhir_user)
