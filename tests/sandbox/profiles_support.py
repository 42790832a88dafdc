"""Running the sandbox as a given server profile, for tests and benchmarks anywhere.

Only package imports here, so a test outside tests/sandbox can use it once this folder is on
``sys.path`` (``sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))``).

    PROFILES                 every profile name: generic, us-core, epic-like, oracle-like,
                             athena-like
    INTEGRATION_PROFILES     the ones the integration tests run against: generic, us-core,
                             epic-like
    profile_config(name, config=None, rate_limit=False)   a SandboxConfig set up for a profile
                             (the demo organization with the demo clients when none is given)
    start_profile_sandbox(name, config=None, rate_limit=False)   a started SandboxServer
    profile_fixture(config_factory, profiles=INTEGRATION_PROFILES, scope="module")
                             a pytest fixture parametrized over ``profiles``, yielding a
                             started SandboxServer per profile (stopped afterwards); assign it
                             to a module-level name in the test module:
                                 clinic = profile_fixture(lambda: my_config())
                             and every test taking ``clinic`` runs once per profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.profiles import PROFILE_NAMES, apply_profile

PROFILES: tuple[str, ...] = PROFILE_NAMES
INTEGRATION_PROFILES: tuple[str, ...] = ("generic", "us-core", "epic-like")


def profile_config(
    profile: str, config: SandboxConfig | None = None, *, rate_limit: bool = False
) -> SandboxConfig:
    """``config`` (or the demo organization over the synthetic clinic) behaving like
    ``profile``; with ``rate_limit`` the profile's 429 behaviour is on too."""
    if config is None:
        from healthprep_desktop.sandbox.clinic import SyntheticClinic

        org = OrgConfig("demo", clients=demo_clients(), source=SyntheticClinic(seed=7, patients=20))
        config = SandboxConfig(orgs=[org])
    return apply_profile(config, profile, rate_limit=rate_limit)


def start_profile_sandbox(
    profile: str, config: SandboxConfig | None = None, *, rate_limit: bool = False
) -> SandboxServer:
    return SandboxServer(profile_config(profile, config, rate_limit=rate_limit)).start()


def profile_fixture(
    config_factory: Callable[[], SandboxConfig],
    profiles: Sequence[str] = INTEGRATION_PROFILES,
    *,
    scope: Any = "module",
    rate_limit: bool = False,
) -> Any:
    """A fixture yielding a started sandbox per profile (see the module docstring)."""

    @pytest.fixture(scope=scope, params=list(profiles), ids=list(profiles))
    def sandbox_per_profile(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
        config = profile_config(request.param, config_factory(), rate_limit=rate_limit)
        with SandboxServer(config) as server:
            yield server

    return sandbox_per_profile


# --- data the profile tests page through ------------------------------------------------------

VITALS = "vital-signs"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def many_vitals(patient: str, n: int, prefix: str = "pv") -> list[dict[str, Any]]:
    """``n`` heart-rate Observations of one patient: enough to page through any cap."""
    return [
        {
            "resourceType": "Observation",
            "id": f"{prefix}-{i}",
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": VITALS}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": f"2024-01-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
            "valueQuantity": {"value": 60 + i % 40, "unit": "/min"},
        }
        for i in range(n)
    ]


def medication_order(patient: str, rid: str = "mr-1") -> list[dict[str, Any]]:
    """A Medication and a MedicationRequest naming it (for _include tests)."""
    return [
        {
            "resourceType": "Medication",
            "id": f"{rid}-med",
            "code": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}
                ]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": "active",
            "intent": "order",
            "medicationReference": {"reference": f"Medication/{rid}-med"},
            "subject": {"reference": f"Patient/{patient}"},
            "authoredOn": "2024-02-01",
        },
    ]
