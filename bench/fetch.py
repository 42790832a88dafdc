"""Benchmark: a clinic day's chart fetch against each server profile, under its rate limit.

    .venv/bin/python bench/fetch.py --profile us-core [--patients 500] [--latency-ms 100]
    .venv/bin/python bench/fetch.py --all [--rate 50]

The sandbox runs in a child process (so its CPU does not compete with the client for the GIL)
behaving like the profile (sandbox.profiles: searches, required categories, page caps, no
$everything...), with 100 ms latency and the profile's rate limit (or --rate), answering 429 to
what exceeds it. Per profile, three runs over the same patients:

  naive     every type the engine knows, every category, the server's default page size,
            every attachment (what a fetch that does not read the CapabilityStatement costs);
  planned   the fetch plan (fhir/fetch_plan.py) a batch uses;
  rerun     the same day again after 5 % of the patients changed: the planned fetch with
            `_lastUpdated`/`_since` and ETags, and where the server allows a search without a
            patient, one `_lastUpdated` search per type first to skip unchanged patients;
            where it does not but offers Bulk Data export (us-core, epic-like...), one
            `Group/panel/$export?_since=` (fhir/changed_patients.py) instead.

Printed: requests per patient, wall time, the rate-limit bound (requests / rate) and the ratio
(target <= 1.1), the planned saving (target >= 30 % on us-core), the rerun's share of the first
run (target <= 20 %). The client is told the rate limit, as a connection's settings would.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from healthprep_desktop.fhir.changed_patients import changed_patients
from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.fetch_plan import plan_fetch
from healthprep_desktop.fhir.record import FetchResult, fetch_patient_record
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.screening.needs import chart_needs

SCOPES = ("system/*.read",)
CHANGED_FRACTION = 0.05
PANEL_GROUP = "panel"  # the sandbox's Group of every patient (docs/sandbox-bulk.md)


def serve(
    pipe: multiprocessing.connection.Connection,
    patients: int,
    latency_ms: float,
    profile: str,
    rate: float | None,
    jwks: dict[str, Any],
) -> None:
    """The child process: the sandbox, and on request a change to some patients' charts."""
    from healthprep_desktop.sandbox import (
        FaultConfig,
        OrgConfig,
        SandboxConfig,
        SandboxServer,
        demo_clients,
    )
    from healthprep_desktop.sandbox.clinic import SyntheticClinic
    from healthprep_desktop.sandbox.profiles import apply_profile

    org = OrgConfig(
        "bench",
        clients=demo_clients(backend_jwks=jwks),
        source=SyntheticClinic(seed=42, patients=patients),
    )
    config = SandboxConfig(orgs=[org], faults=FaultConfig(latency_ms=latency_ms))
    apply_profile(config, profile, rate_limit=True)
    if rate is not None:
        config.faults.rate_limit = rate
        config.faults.rate_burst = None
    with SandboxServer(config) as sandbox:
        store = sandbox.org().store
        pipe.send((sandbox.base_url(), store.patient_ids()[:patients], config.faults.rate_limit))
        while (message := pipe.recv()) != "stop":
            _, ids = message
            for pid in ids:  # a new version of one Observation: a changed chart
                found = store.compartment(pid, ["Observation"])
                if found:
                    store.put(dict(found[0].json()))
            pipe.send(len(ids))


@dataclass
class Run:
    name: str
    wall: float
    requests: int
    patients: int
    throttled: int
    resources: int


def _connection(base_url: str, secrets: MemorySecrets, rate: float) -> ConnectionConfig:
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
    return config


async def fetch_day(
    connection: FhirConnection,
    name: str,
    patient_ids: list[str],
    *,
    naive: bool = False,
    since: datetime | None = None,
    previous: dict[str, FetchResult] | None = None,
) -> tuple[Run, dict[str, FetchResult]]:
    client = connection.client
    capabilities = await connection.capabilities()
    before, throttled = client.stats.requests, client.stats.rate_limited
    gate = asyncio.Semaphore(24)  # patients in flight: keeps the bucket busy
    results: dict[str, FetchResult] = {}
    started = time.perf_counter()
    wanted = patient_ids
    if since is not None:
        changed = await changed_patients(
            client, capabilities, chart_needs().types, since, group_id=PANEL_GROUP
        )
        if changed is not None:
            wanted = [p for p in patient_ids if p in changed]

    async def one(patient_id: str) -> None:
        etags = previous[patient_id].report.etags if previous else None
        async with gate:
            results[patient_id] = await fetch_patient_record(
                client,
                patient_id,
                capabilities=capabilities,
                naive=naive,
                since=since,
                etags=etags,
            )

    await asyncio.gather(*(one(p) for p in wanted))
    wall = time.perf_counter() - started
    resources = sum(len(r.record.resources) for r in results.values())
    run = Run(
        name,
        wall,
        client.stats.requests - before,
        len(patient_ids),
        client.stats.rate_limited - throttled,
        resources,
    )
    return run, results


async def bench_profile(args: argparse.Namespace, profile: str) -> list[Run]:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "RS384")
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve,
        args=(child, args.patients, args.latency_ms, profile, args.rate, key.jwks()),
        daemon=True,
    )
    process.start()
    runs: list[Run] = []
    try:
        base_url, patient_ids, rate = await asyncio.to_thread(parent.recv)
        rate = float(rate or 50.0)
        config = _connection(base_url, secrets, rate)
        print(
            f"\n== {profile}: {len(patient_ids)} patients, latency {args.latency_ms:.0f} ms, "
            f"limit {rate:g} requests/s"
        )
        for naive in (False,) if args.skip_naive else (True, False):
            # A fresh connection per run: nothing learned or cached carries over.
            async with FhirConnection(
                config, tenant="bench", tokens=MemoryTokenStore(), secrets=secrets
            ) as conn:
                await conn.login_backend_services()
                caps = await conn.capabilities()
                if not naive:
                    print("plan:")
                    for line in plan_fetch(caps, limits=conn.client.search_limits).explain():
                        print(f"  {line}")
                await asyncio.sleep(1.2)  # let the server's bucket refill after the login
                first_started = datetime.now(UTC)
                run, results = await fetch_day(
                    conn, "naive" if naive else "planned", patient_ids, naive=naive
                )
                runs.append(run)
                if naive:
                    continue
                await asyncio.sleep(1.2)  # `_lastUpdated` has one-second precision
                changed = random.Random(7).sample(
                    patient_ids, max(1, round(len(patient_ids) * CHANGED_FRACTION))
                )
                parent.send(("touch", changed))
                await asyncio.to_thread(parent.recv)
                await asyncio.sleep(1.2)
                rerun, _ = await fetch_day(
                    conn,
                    "rerun (5 % changed)",
                    patient_ids,
                    since=first_started - timedelta(seconds=1),
                    previous=results,
                )
                runs.append(rerun)
        _print(runs, rate)
        return runs
    finally:
        parent.send("stop")
        process.join(20)


def _print(runs: list[Run], rate: float) -> None:
    print(
        f"  {'run':<22}{'wall s':>9}{'requests':>10}{'per patient':>13}"
        f"{'bound s':>9}{'ratio':>8}{'429s':>6}{'resources':>11}"
    )
    for run in runs:
        bound = run.requests / rate
        ratio = run.wall / bound if bound else float("nan")
        print(
            f"  {run.name:<22}{run.wall:>9.2f}{run.requests:>10}"
            f"{run.requests / max(1, run.patients):>13.2f}{bound:>9.2f}"
            f"{ratio:>8.3f}{run.throttled:>6}{run.resources:>11}"
        )
    by_name = {r.name.split(" ")[0]: r for r in runs}
    planned, rerun = by_name["planned"], by_name["rerun"]
    if "naive" in by_name:
        saving = 1 - planned.requests / by_name["naive"].requests
        print(f"  planned vs naive: {saving:.0%} fewer requests (target >= 30 % on us-core)")
    print(
        f"  rerun: {rerun.requests / planned.requests:.0%} of the first run (target <= 20 %); "
        f"planned wall / bound: {planned.wall / (planned.requests / rate):.3f} (target <= 1.1)"
    )


async def main_async(args: argparse.Namespace) -> int:
    from healthprep_desktop.sandbox.profiles import PROFILE_NAMES

    names = list(PROFILE_NAMES) if args.all else [args.profile]
    for name in names:
        await bench_profile(args, name)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--profile", default="generic", help="server profile (sandbox.profiles)")
    which.add_argument("--all", action="store_true", help="every profile, one after another")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--rate", type=float, default=None, help="requests/s (default: the profile's)"
    )
    parser.add_argument("--skip-naive", action="store_true", help="only the planned runs")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
