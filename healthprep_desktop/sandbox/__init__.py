"""Embedded SMART-on-FHIR sandbox: the demo clinic, the test server and the benchmark target.

No Qt here. ``SandboxServer(SandboxConfig(...))`` runs it on loopback in a background thread;
``healthprep-desktop sandbox`` runs it from the command line. The synthetic clinic generator
lives in ``sandbox.clinic`` and plugs in as a ``ClinicSource``.
"""

from healthprep_desktop.sandbox.config import (
    ClientAuth,
    ClientRegistration,
    ClinicSource,
    FaultConfig,
    LinkStyle,
    OrgConfig,
    OverCapacity,
    SandboxConfig,
    TokenSettings,
    UserAccount,
    demo_clients,
)
from healthprep_desktop.sandbox.importer import ImportedClinic, import_paths, resources_from_bundle
from healthprep_desktop.sandbox.server import BackgroundServer, SandboxServer, synthea_config

__all__ = [
    "BackgroundServer",
    "ClientAuth",
    "ClientRegistration",
    "ClinicSource",
    "FaultConfig",
    "ImportedClinic",
    "LinkStyle",
    "OrgConfig",
    "OverCapacity",
    "SandboxConfig",
    "SandboxServer",
    "TokenSettings",
    "UserAccount",
    "demo_clients",
    "import_paths",
    "resources_from_bundle",
    "synthea_config",
]
