"""Vendor defaults: what differs between Epic, Oracle Health, athenahealth and a plain R4 server.

The values are starting points an admin can change; each comes from the vendor's public
documentation or from how the SMART App Launch specification is commonly implemented.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, Vendor
from healthprep_desktop.fhir.record import RECORD_TYPES

# What the record fetch (derived from the library and the measures) and the schedule read.
# v1 scopes are still the common denominator:
# Epic and Oracle Health accept them, SMART 2 servers map them to v2.
READ_TYPES = (
    "Patient",
    *RECORD_TYPES,
    "Binary",
    "Appointment",
    "Practitioner",
    "Location",
)


def user_read_scopes() -> tuple[str, ...]:
    return tuple(f"user/{t}.read" for t in READ_TYPES)


def system_read_scopes() -> tuple[str, ...]:
    return tuple(f"system/{t}.read" for t in READ_TYPES)


@dataclass(frozen=True, slots=True)
class VendorPreset:
    vendor: Vendor
    label: str
    auth_method: AuthMethod
    scopes: tuple[str, ...]
    # Epic's DocumentReference.Create for clinical notes accepts only text/plain and keeps the
    # first attachment; other servers take the PDF.
    writeback_content_type: str
    writeback_single_attachment: bool
    writeback_needs_encounter: bool
    fixed_redirect_port: int = 0  # 0 = ephemeral port; Epic test apps register exact URIs


_OPENID = ("openid", "fhirUser", "offline_access")

PRESETS: dict[Vendor, VendorPreset] = {
    Vendor.EPIC: VendorPreset(
        vendor=Vendor.EPIC,
        label="Epic",
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        scopes=(*_OPENID, *user_read_scopes(), "user/DocumentReference.write"),
        writeback_content_type="text/plain",
        writeback_single_attachment=True,
        writeback_needs_encounter=True,
    ),
    Vendor.ORACLE_HEALTH: VendorPreset(
        vendor=Vendor.ORACLE_HEALTH,
        label="Oracle Health (Cerner)",
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        scopes=(*_OPENID, *user_read_scopes(), "user/DocumentReference.write"),
        # Millennium's DocumentReference create takes only XHTML documents (see fhir/writeback).
        writeback_content_type="application/xhtml+xml",
        writeback_single_attachment=True,
        writeback_needs_encounter=True,
    ),
    Vendor.ATHENAHEALTH: VendorPreset(
        vendor=Vendor.ATHENAHEALTH,
        label="athenahealth",
        auth_method=AuthMethod.SMART_CONFIDENTIAL_BASIC,
        scopes=(*_OPENID, *user_read_scopes(), "user/DocumentReference.write"),
        writeback_content_type="application/pdf",
        writeback_single_attachment=True,
        writeback_needs_encounter=False,
    ),
    Vendor.GENERIC: VendorPreset(
        vendor=Vendor.GENERIC,
        label="FHIR R4 server",
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        scopes=(*_OPENID, *user_read_scopes(), "user/DocumentReference.write"),
        writeback_content_type="application/pdf",
        writeback_single_attachment=False,
        writeback_needs_encounter=False,
    ),
}


def preset_for(vendor: Vendor) -> VendorPreset:
    return PRESETS[vendor]


def new_connection(name: str, base_url: str, vendor: Vendor, client_id: str) -> ConnectionConfig:
    """A connection filled with the vendor's defaults."""
    preset = PRESETS[vendor]
    return ConnectionConfig(
        name=name,
        base_url=base_url,
        vendor=vendor,
        auth_method=preset.auth_method,
        client_id=client_id,
        scopes=preset.scopes,
    )
