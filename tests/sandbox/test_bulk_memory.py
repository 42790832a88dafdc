"""A 2,000-patient Bulk Data export streams: the server's extra memory stays small and flat
while it writes and serves far more NDJSON than that."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from bulk_support import auth, kick_off, poll, started, system_token
from sandbox_smart import BACKEND, LOINC, OBS_CAT, KeyPair

from healthprep_desktop.sandbox import (
    ClientAuth,
    ClientRegistration,
    OrgConfig,
    SandboxConfig,
    SandboxServer,
    demo_clients,
)

JSON = dict[str, object]
PATIENTS = 2000
OBSERVATIONS = 12


class WidePanel:
    """Many patients with a dozen padded observations each, generated fast."""

    def resources(self) -> Iterator[JSON]:
        note = "x" * 300  # pads each line so the files dwarf any per-patient buffer
        for n in range(PATIENTS):
            pid = f"w{n}"
            yield {"resourceType": "Patient", "id": pid, "gender": "female"}
            for k in range(OBSERVATIONS):
                yield {
                    "resourceType": "Observation",
                    "id": f"{pid}-o{k}",
                    "status": "final",
                    "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
                    "code": {"coding": [{"system": LOINC, "code": "4548-4"}]},
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectiveDateTime": f"2020-{k % 12 + 1:02d}-01",
                    "valueQuantity": {"value": 5.0 + k / 10, "unit": "%"},
                    "note": [{"text": note}],
                }

    def schedule(self, day: date) -> list[JSON]:
        return []


@pytest.fixture(scope="module")
def wide(keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    jwks = {"keys": [k.public_jwk for k in keys.values()]}
    clients = [*demo_clients(), ClientRegistration(BACKEND, ClientAuth.PRIVATE_KEY_JWT, jwks=jwks)]
    config = SandboxConfig(orgs=[OrgConfig("wide", clients=clients, source=WidePanel())])
    with SandboxServer(config) as server:
        server.config.bulk.retry_after = 0
        server.config.bulk.max_lines_per_file = 5000
        yield server


def test_a_2000_patient_export_streams_with_bounded_server_memory(
    http: httpx.Client, wide: SandboxServer, keys: dict[str, KeyPair]
) -> None:
    token = system_token(http, wide, keys)
    tracemalloc.start()
    try:
        status_url = started(kick_off(http, wide, token))
        manifest = poll(http, status_url, token, limit=100_000).json()
        total_bytes = total_lines = 0
        for item in manifest["output"]:
            with http.stream("GET", item["url"], headers=auth(token)) as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes():
                    total_bytes += len(chunk)
                    total_lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total_lines == PATIENTS * (1 + OBSERVATIONS)
    files = [o["url"].rsplit("/", 1)[1] for o in manifest["output"]]
    assert len(files) == 1 + 24 // 5 + 1  # Patient-1, Observation-1..5 (24,000 lines)
    print(
        f"\nbulk export of {PATIENTS} patients: {total_lines} lines, "
        f"{total_bytes / 1e6:.1f} MB of NDJSON, traced peak {peak / 1e6:.2f} MB"
    )
    # The files are ~12 MB; a writer or server holding them would trace far more than 4 MB.
    assert total_bytes > 10_000_000
    assert peak < 4_000_000
