"""Benchmark: fetch every patient's chart from the sandbox under a server rate limit.

    .venv/bin/python bench/fetch.py [--patients 500] [--latency-ms 100] [--rate 50]

The sandbox runs in a child process (so its CPU does not compete with the client for the GIL)
with 100 ms latency and a 50 requests/s limit that answers 429 + Retry-After. HealthPrep's
client paces with its token bucket at the server's rate, so the wall time should approach the
lower bound: total requests / rate limit. The same fetch ($everything per patient, following
next links, then each document's Binary) is then run with fhirpy (an independent async FHIR
client; `pip install fhirpy`, bench-only), which has no pacing, so it gets a naive
retry-after-429 loop and a fixed concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.record import RECORD_TYPES, fetch_patient_record
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore

SCOPES = ("system/*.read",)


def serve(
    pipe: multiprocessing.connection.Connection,
    patients: int,
    latency_ms: float,
    rate: float,
    jwks: dict[str, Any],
) -> None:
    """The child process: the sandbox until the parent says stop."""
    from healthprep_desktop.sandbox import (
        FaultConfig,
        OrgConfig,
        SandboxConfig,
        SandboxServer,
        demo_clients,
    )
    from healthprep_desktop.sandbox.clinic import SyntheticClinic

    org = OrgConfig(
        "bench",
        clients=demo_clients(backend_jwks=jwks),
        source=SyntheticClinic(seed=42, patients=patients),
    )
    config = SandboxConfig(orgs=[org], faults=FaultConfig(latency_ms=latency_ms, rate_limit=rate))
    with SandboxServer(config) as sandbox:
        pipe.send((sandbox.url, sandbox.base_url()))
        pipe.recv()


async def server_requests(root: str) -> tuple[int, dict[str, int]]:
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{root}/_sandbox/stats")).json()
    by_status = stats["by_status"]
    data = sum(d["count"] for d in stats["detail"] if d["interaction"] not in ("token", "sandbox"))
    return data, by_status


@dataclass
class Run:
    name: str
    wall: float
    requests: int
    throttled: int
    resources: int


async def run_healthprep(
    base_url: str, secrets: MemorySecrets, rate: float, patient_ids: list[str]
) -> Run:
    config = ConnectionConfig(
        name="bench",
        base_url=base_url,
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id="healthprep-backend",
        scopes=SCOPES,
        # Pace at the server's rate (evenly: burst 1); enough in flight to cover the latency.
        rate_limit=RateLimitConfig(requests_per_second=rate, burst=1, max_concurrency=32),
        retry=RetryConfig(max_attempts=8),
    )
    secrets.values[config.secret_key("bench", "private_key")] = secrets.values["key"]
    async with FhirConnection(
        config, tenant="bench", tokens=MemoryTokenStore(), secrets=secrets
    ) as connection:
        await connection.login_backend_services()
        capabilities = await connection.capabilities()
        client = connection.client
        before = client.stats.requests
        gate = asyncio.Semaphore(24)  # patients in flight: keeps the bucket busy
        resources = 0

        async def one(patient_id: str) -> int:
            nonlocal resources
            async with gate:
                result = await fetch_patient_record(client, patient_id, capabilities=capabilities)
            resources += len(result.record.resources)
            return result.report.requests

        started = time.perf_counter()
        per_patient = await asyncio.gather(*(one(p) for p in patient_ids))
        wall = time.perf_counter() - started
        assert sum(per_patient) == client.stats.requests - before
        return Run("healthprep", wall, sum(per_patient), client.stats.rate_limited, resources)


async def run_fhirpy(base_url: str, token: str, patient_ids: list[str], in_flight: int) -> Run:
    from fhirpy import AsyncFHIRClient
    from fhirpy.base.exceptions import OperationOutcome

    client = AsyncFHIRClient(base_url, authorization=f"Bearer {token}")
    counts = {"requests": 0, "throttled": 0, "resources": 0}
    gate = asyncio.Semaphore(in_flight)

    async def call(path: str, params: dict[str, Any] | None = None) -> Any:
        while True:
            counts["requests"] += 1
            try:
                async with gate:
                    return await client.execute(path, method="get", params=params)
            except OperationOutcome as exc:
                if "throttled" not in str(exc):
                    raise
                counts["throttled"] += 1
                await asyncio.sleep(1.0)  # the sandbox's Retry-After is whole seconds

    async def one(patient_id: str) -> None:
        page = await call(f"Patient/{patient_id}/$everything", {"_count": 200})
        entries = list(page.get("entry") or [])
        while next_url := next(
            (lk["url"] for lk in page.get("link") or [] if lk.get("relation") == "next"), None
        ):
            page = await call(next_url.removeprefix(base_url + "/"))
            entries += page.get("entry") or []
        counts["resources"] += sum(
            1 for e in entries if e["resource"]["resourceType"] in RECORD_TYPES
        )
        for entry in entries:
            doc = entry["resource"]
            if doc["resourceType"] != "DocumentReference":
                continue
            attachment = doc["content"][0]["attachment"]
            if attachment.get("url"):
                await call(attachment["url"].removeprefix(base_url + "/"))

    started = time.perf_counter()
    await asyncio.gather(*(one(p) for p in patient_ids))
    wall = time.perf_counter() - started
    return Run(
        f"fhirpy ({in_flight} in flight)",
        wall,
        counts["requests"],
        counts["throttled"],
        counts["resources"],
    )


async def main_async(args: argparse.Namespace) -> int:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "RS384")
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve,
        args=(child, args.patients, args.latency_ms, args.rate, key.jwks()),
        daemon=True,
    )
    process.start()
    try:
        root, base_url = await asyncio.to_thread(parent.recv)
        # Setup (not measured): the patient list, unthrottled by our pacing.
        setup = ConnectionConfig(
            name="setup",
            base_url=base_url,
            auth_method=AuthMethod.SMART_BACKEND_SERVICES,
            client_id="healthprep-backend",
            scopes=SCOPES,
            rate_limit=RateLimitConfig(requests_per_second=args.rate, burst=1),
        )
        secrets.values[setup.secret_key("bench", "private_key")] = secrets.values["key"]
        async with FhirConnection(
            setup, tenant="bench", tokens=MemoryTokenStore(), secrets=secrets
        ) as conn:
            tokens = await conn.login_backend_services()
            patients = await conn.client.search_all("Patient", {"_count": 1000, "_elements": "id"})
        patient_ids = [p["id"] for p in patients][: args.patients]
        await asyncio.sleep(1.2)  # let the server's bucket refill after setup

        print(
            f"{len(patient_ids)} patients, server latency {args.latency_ms:.0f} ms, "
            f"limit {args.rate:.0f} requests/s"
        )
        runs: list[Run] = []
        before, _ = await server_requests(root)
        ours = await run_healthprep(base_url, secrets, args.rate, patient_ids)
        after, by_status = await server_requests(root)
        runs.append(ours)
        print(f"  server saw {after - before} data requests, statuses {by_status}")
        if not args.skip_fhirpy:
            try:
                import fhirpy  # noqa: F401
            except ImportError:
                print("  fhirpy is not installed (pip install fhirpy): skipped")
            else:
                await asyncio.sleep(1.2)
                runs.append(
                    await run_fhirpy(
                        base_url, tokens.access_token, patient_ids, args.fhirpy_in_flight
                    )
                )
        print()
        print(
            f"{'client':<24}{'wall s':>9}{'requests':>10}{'per patient':>13}"
            f"{'bound s':>9}{'ratio':>8}{'429s':>6}{'resources':>11}"
        )
        for run in runs:
            bound = run.requests / args.rate
            print(
                f"{run.name:<24}{run.wall:>9.2f}{run.requests:>10}"
                f"{run.requests / len(patient_ids):>13.2f}{bound:>9.2f}"
                f"{run.wall / bound:>8.3f}{run.throttled:>6}{run.resources:>11}"
            )
        ratio = ours.wall / (ours.requests / args.rate)
        print(f"\nhealthprep wall time / lower bound = {ratio:.3f} (target <= 1.15)")
        return 0
    finally:
        parent.send("stop")
        process.join(20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--fhirpy-in-flight", type=int, default=8)
    parser.add_argument("--skip-fhirpy", action="store_true")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
