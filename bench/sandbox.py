"""Sandbox benchmark: clinic generation time and requests per second served.

    .venv/bin/python bench/sandbox.py [--patients 500] [--seconds 10] [--concurrency 32]
                                     [--source auto|clinic|synthea]

The server runs in its own process (as the CLI runs it), so the load-generating client does
not share its interpreter lock. Prints figures; asserts nothing (timings on a shared machine
are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import multiprocessing as mp
import statistics
import time
from collections import Counter
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients

SYNTHEA = Path(__file__).resolve().parent.parent.parent / "shared" / "synthea" / "bundles"
DAY = date(2026, 12, 1)
REDIRECT = "http://127.0.0.1:8765/callback"


def clinic_class() -> Any | None:
    try:
        module = importlib.import_module("healthprep_desktop.sandbox.clinic")
    except ModuleNotFoundError as exc:
        if exc.name != "healthprep_desktop.sandbox.clinic":
            raise
        return None
    return module.SyntheticClinic


def time_generation(patients: int) -> None:
    clinic = clinic_class()
    if clinic is None:
        print("generator: absent (healthprep_desktop.sandbox.clinic is not importable)")
        return
    started = time.perf_counter()
    resources = list(clinic(seed=42, patients=patients).resources())
    elapsed = time.perf_counter() - started
    counts = Counter(r["resourceType"] for r in resources)
    print(
        f"generator: {patients} patients with documents in {elapsed:.1f} s "
        f"({len(resources)} resources; {counts['DocumentReference']} DocumentReferences, "
        f"{counts['Binary']} Binaries)"
    )


def serve(source: str, patients: int, conn: Connection) -> None:
    """The server process: load, start, report the base URL, serve until told to stop."""
    org = OrgConfig("bench", clients=demo_clients())
    if source == "clinic":
        clinic = clinic_class()
        assert clinic is not None
        org.source = clinic(seed=42, patients=patients)
    else:
        org.import_paths = [SYNTHEA]
    started = time.perf_counter()
    server = SandboxServer(SandboxConfig(orgs=[org]))
    server.org().ensure_day(DAY)
    loaded = time.perf_counter() - started
    server.start()
    conn.send(
        (
            server.base_url(),
            server.authorize_url(),
            server.token_url(),
            loaded,
            server.org().store.count(),
        )
    )
    conn.recv()  # the load starts
    server.reset_stats()
    cpu = time.process_time()  # all threads of this process: the server's own cost
    conn.recv()  # the load ended
    conn.send((server.stats, time.process_time() - cpu))
    server.stop()


def login(http: httpx.Client, base: str, authorize: str, token: str) -> str:
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    response = http.get(
        authorize,
        params={
            "response_type": "code",
            "client_id": "healthprep-desktop",
            "redirect_uri": REDIRECT,
            "scope": "user/*.rs",
            "state": "bench",
            "aud": base,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
    )
    code = httpx.URL(response.headers["location"]).params["code"]
    reply = http.post(
        token,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "healthprep-desktop",
            "code_verifier": verifier,
        },
    ).json()
    access: str = reply["access_token"]
    return access


MIX: list[tuple[str, str, dict[str, str]]] = [
    # (name, path with {p} for a patient id, query)
    ("read Patient", "Patient/{p}", {}),
    ("search Condition by patient", "Condition", {"patient": "{p}"}),
    (
        "search Observation by patient+code",
        "Observation",
        {"patient": "{p}", "code": "http://loinc.org|4548-4"},
    ),
    ("search Observation page of 50", "Observation", {"patient": "{p}", "_count": "50"}),
    ("search Appointment by date", "Appointment", {"date": DAY.isoformat(), "_count": "20"}),
]


async def load(
    base: str, access: str, patient_ids: list[str], seconds: float, workers: int, offset: int
) -> tuple[dict[str, list[float]], Counter[int], float]:
    """``workers`` concurrent request loops, each with its own httpx client."""
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {access}"}
    deadline = time.perf_counter() + seconds

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        i = n + offset
        while time.perf_counter() < deadline:
            name, path, query = MIX[i % len(MIX)]
            patient = patient_ids[i % len(patient_ids)]
            params = {k: v.replace("{p}", patient) for k, v in query.items()}
            started = time.perf_counter()
            response = await client.get(
                f"{base}/{path.replace('{p}', patient)}", params=params, headers=headers
            )
            latencies[name].append(time.perf_counter() - started)
            statuses[response.status_code] += 1
            i += workers

    # One client per worker: a single AsyncClient's pool serialises badly past a few
    # connections (httpcore), which would measure the client rather than the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(workers)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, clients[n]) for n in range(workers)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    return latencies, statuses, elapsed


def client_process(args: tuple[str, str, list[str], float, int, int], conn: Connection) -> None:
    conn.send(asyncio.run(load(*args)))


def drive(
    base: str, access: str, patient_ids: list[str], seconds: float, concurrency: int, processes: int
) -> None:
    """Several client processes (httpx costs more CPU per request than the server does)."""
    per_process = max(1, concurrency // processes)
    pipes = []
    context = mp.get_context("spawn")
    for n in range(processes):
        parent, child = context.Pipe()
        args = (base, access, patient_ids, seconds, per_process, n * per_process)
        context.Process(target=client_process, args=(args, child)).start()
        pipes.append(parent)
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    statuses: Counter[int] = Counter()
    elapsed = 0.0
    for parent in pipes:
        part, codes, seconds_taken = parent.recv()
        for name, values in part.items():
            latencies[name] += values
        statuses.update(codes)
        elapsed = max(elapsed, seconds_taken)
    total = sum(statuses.values())
    print(
        f"throughput: {total / elapsed:.0f} requests/s over {elapsed:.1f} s, "
        f"{per_process * processes} concurrent requests from {processes} client processes "
        f"(no injected latency); statuses {dict(statuses)}"
    )
    for name, values in latencies.items():
        if values:
            p50 = statistics.median(values) * 1000
            p95 = sorted(values)[int(len(values) * 0.95)] * 1000
            print(
                f"  {name:36} {len(values) / elapsed:6.0f}/s  p50 {p50:5.1f} ms  p95 {p95:5.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=3)
    parser.add_argument("--source", choices=["auto", "clinic", "synthea"], default="auto")
    args = parser.parse_args()

    time_generation(args.patients)
    source = args.source
    if source == "auto":
        source = "clinic" if clinic_class() is not None else "synthea"
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=serve, args=(source, args.patients, child))
    process.start()
    base, authorize, token_url, loaded, count = parent.recv()
    print(f"server: {source} data, {count} resources loaded and indexed in {loaded:.1f} s")
    with httpx.Client(timeout=30) as http:
        access = login(http, base, authorize, token_url)
        bundle = http.get(
            f"{base}/Patient",
            params={"_count": "1000"},
            headers={"Authorization": f"Bearer {access}"},
        ).json()
        patient_ids = [e["resource"]["id"] for e in bundle.get("entry", [])]
    parent.send("begin")
    drive(base, access, patient_ids, args.seconds, args.concurrency, args.client_processes)
    parent.send("stop")
    stats, cpu_seconds = parent.recv()
    print(
        f"server: {stats['requests']} requests, by status {stats['by_status']}; "
        f"{cpu_seconds:.1f} CPU-seconds, i.e. {stats['requests'] / max(cpu_seconds, 1e-9):.0f} "
        "requests per CPU-second (its capacity on one core, whatever else runs here)"
    )
    process.join(30)


if __name__ == "__main__":
    main()
