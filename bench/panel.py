"""Benchmark: whole-panel screening, per patient vs Bulk Data, and memory at 20,000 patients.

    .venv/bin/python bench/panel.py                       # (a) + (b) + (c), one run
    .venv/bin/python bench/panel.py --patients 500 --skip-large
    .venv/bin/python bench/panel.py --only-large [--large 20000]

(a) The per-patient pipeline (the batch's chart fetch with its fetch plan, then the same
    screening in the process pool) over every patient, on the us-core and the generic profile.
(b) The bulk panel (Group/panel/$export, NDJSON streamed into the encrypted staging database,
    then the same screening) on us-core: wall time and HTTP requests (kick-off, polls, delete,
    file downloads counted apart).
    The sandbox runs in a child process (its CPU does not count against the client's GIL) with
    100 ms latency and a 50 requests/s limit; the client is told the limit.
(c) A 20,000-patient panel over Bulk Data with the peak RSS of the panel's process tree (the
    panel process and its pool workers; the server child is excluded). Generating 20,000
    patients inside the sandbox takes many minutes and gigabytes in the server, so the NDJSON
    files are written straight from SyntheticClinic (two processes) and served by a minimal Bulk
    Data file server in a child process (kick-off, one status poll, files, delete).

Every figure is printed, and the ratios are from this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.panel.bulk_source import store_bulk_export
from healthprep_desktop.panel.run import PanelOptions, PanelSummary
from healthprep_desktop.panel.start import PathChoice, make_run
from healthprep_desktop.store import Store
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor

AS_OF = date(2026, 12, 1)
SCOPES = ("system/*.read",)


# --- the sandbox child ---------------------------------------------------------------------------


def serve(
    pipe: multiprocessing.connection.Connection,
    patients: int,
    latency_ms: float,
    profile: str,
    rate: float,
    jwks: dict[str, Any],
) -> None:
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
        source=SyntheticClinic(seed=42, patients=patients, reference_date=AS_OF),
    )
    config = SandboxConfig(orgs=[org], faults=FaultConfig(latency_ms=latency_ms))
    apply_profile(config, profile, rate_limit=True)
    config.faults.rate_limit = rate
    config.faults.rate_burst = None
    with SandboxServer(config) as sandbox:
        pipe.send(sandbox.base_url())
        pipe.recv()  # "stop"


def _connection(base_url: str, secrets: MemorySecrets, rate: float) -> ConnectionConfig:
    config = ConnectionConfig(
        name="bench",
        base_url=base_url,
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id="healthprep-backend",
        scopes=SCOPES,
        rate_limit=RateLimitConfig(requests_per_second=rate, burst=1, max_concurrency=32),
        retry=RetryConfig(max_attempts=8),
    )
    secrets.values[config.secret_key("bench", "private_key")] = secrets.values["key"]
    return config


@dataclass
class Measured:
    name: str
    summary: PanelSummary
    wall: float
    peak_rss_mb: float = 0.0


async def _panel(
    conn: FhirConnection,
    path: str,
    group: str | None,
    cpu: CpuPool,
    home: Path,
    *,
    rss: RssSampler | None = None,
) -> Measured:
    """One panel run into a fresh encrypted store (nothing carries over between runs)."""
    store = Store.open_ephemeral(home / f"{path}-{time.monotonic_ns()}.db")
    db = StoreExecutor()
    try:
        tenant = store.create_tenant("Bench clinic")
        scope = store.tenant(tenant.id)
        connection_id = scope.connections.add("bench", "generic", conn.config.base_url).id
        choice = (
            PathChoice(store_bulk_export(conn, scope, connection_id, say=_quiet), "bulk")
            if path == "bulk"
            else PathChoice(None, "per-patient")
        )
        run = make_run(
            store, tenant.id, connection_id, conn, as_of=AS_OF,
            options=PanelOptions(group_id=group, since="never", concurrency=24),
            choice=choice, capabilities=await conn.capabilities(), cpu=cpu, db=db,
            say=_quiet, work_dir=home / "exports",
        )  # fmt: skip
        started = time.perf_counter()
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # where the panel process spends its time
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        summary = await run.run()
        wall = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
        return Measured(path, summary, wall, rss.peak_mb() if rss else 0.0)
    finally:
        db.shutdown()
        store.close()


def _quiet(line: str) -> None:
    if os.environ.get("BENCH_VERBOSE"):
        print(f"    {line}", flush=True)


async def _profile_runs(
    args: argparse.Namespace, profile: str, paths: list[str], cpu: CpuPool, home: Path
) -> dict[str, Measured]:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "RS384")
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve,
        args=(child, args.patients, args.latency_ms, profile, args.rate, key.jwks()),
        daemon=True,
    )
    process.start()
    out: dict[str, Measured] = {}
    try:
        base_url = await asyncio.to_thread(parent.recv)
        config = _connection(base_url, secrets, args.rate)
        for path in paths:
            async with FhirConnection(
                config, tenant="bench", tokens=MemoryTokenStore(), secrets=secrets
            ) as conn:
                await conn.login_backend_services()
                await asyncio.sleep(1.2)  # the server's bucket refills after the login
                measured = await _panel(conn, path, "panel", cpu, home)  # fmt: skip
                out[path] = measured
                s = measured.summary
                print(
                    f"  {profile:<9} {path:<12} wall {measured.wall:7.2f} s  "
                    f"requests {s.requests:6d} (+{s.downloads} file downloads)  "
                    f"screened {s.counts.screened}  failed {s.counts.failed}  phases "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in s.phases.items()),
                    flush=True,
                )
    finally:
        parent.send("stop")
        process.join(20)
    return out


# --- (c): NDJSON written straight from SyntheticClinic, served by a minimal Bulk server ------


def _write_slice(folder: str, patients: int, part: int, parts: int) -> dict[str, int]:
    from healthprep_desktop.sandbox.clinic import SyntheticClinic

    clinic = SyntheticClinic(seed=42, patients=patients, reference_date=AS_OF)
    handles: dict[str, Any] = {}
    counts: dict[str, int] = {}
    try:
        for patient in clinic._patients[part::parts]:
            for resource in clinic._chart(patient):
                kind = resource["resourceType"]
                if kind in ("Binary", "Appointment"):
                    continue
                handle = handles.get(kind)
                if handle is None:
                    handle = handles[kind] = open(  # noqa: SIM115 - closed below
                        Path(folder) / f"{kind}-{part}.ndjson", "w", encoding="utf-8"
                    )
                handle.write(json.dumps(resource, separators=(",", ":")) + "\n")
                counts[kind] = counts.get(kind, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def _file_server(pipe: multiprocessing.connection.Connection, folder: str) -> None:
    """Kick-off (202), status (one 202, then the manifest), files (streamed), DELETE."""
    files = sorted(p.name for p in Path(folder).glob("*.ndjson"))
    polls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _base(self) -> str:
            port = self.server.server_address[1]  # type: ignore[index]  # an (host, port) pair
            return f"http://127.0.0.1:{port}/fhir"

        def do_GET(self) -> None:
            if "/$export-status" in self.path:
                polls["n"] += 1
                if polls["n"] == 1:
                    self.send_response(202)
                    self.send_header("Retry-After", "1")
                    self.send_header("X-Progress", "writing")
                    self.end_headers()
                    return
                manifest = {
                    "transactionTime": "2026-12-01T12:00:00Z",
                    "request": f"{self._base()}/Group/panel/$export",
                    "requiresAccessToken": False,
                    "output": [
                        {"type": n.split("-")[0], "url": f"{self._base()}/files/{n}"} for n in files
                    ],
                    "error": [],
                }
                self._json(200, manifest)
            elif "/$export" in self.path:
                self.send_response(202)
                self.send_header("Content-Location", f"{self._base()}/$export-status/1")
                self.end_headers()
            elif self.path.startswith("/fhir/files/"):
                path = Path(folder) / Path(self.path).name
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+ndjson")
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                with path.open("rb") as handle:
                    shutil.copyfileobj(handle, self.wfile, 1 << 20)
            else:
                self._json(404, {"resourceType": "OperationOutcome", "issue": []})

        def do_DELETE(self) -> None:
            self.send_response(202)
            self.end_headers()

        def _json(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send(f"http://127.0.0.1:{server.server_address[1]}/fhir")
    pipe.recv()
    server.shutdown()


class RssSampler:
    """Peak resident memory of this process plus its pool workers (not the server child):
    sampled every 0.2 s from /proc (the sum at each instant), and each process's own peak."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def _tree(self) -> list[int]:
        me = os.getpid()
        pids = [me]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in self.exclude:
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me:
                pids.append(int(entry.name))
        return pids

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_kb = max(self.peak_kb, sum(self._rss_kb(p) for p in self._tree()))


async def large_run(args: argparse.Namespace, cpu: CpuPool, home: Path) -> Measured:
    folder = home / "large-ndjson"
    folder.mkdir()
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        parts = pool.starmap(_write_slice, [(str(folder), args.large, i, 2) for i in range(2)])
    resources = sum(sum(p.values()) for p in parts)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(
        f"  wrote {resources} resources ({size:.0f} MB NDJSON) for {args.large} patients in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    parent, child = multiprocessing.Pipe()
    server = ctx.Process(target=_file_server, args=(child, str(folder)), daemon=True)
    server.start()
    try:
        base_url = await asyncio.to_thread(parent.recv)
        config = ConnectionConfig(name="bench-large", base_url=base_url,
                                  auth_method=AuthMethod.NONE)  # fmt: skip
        rss = RssSampler(exclude={server.pid or 0}).start()
        try:
            async with FhirConnection(config, tenant="bench", tokens=MemoryTokenStore(),
                                      secrets=MemorySecrets()) as conn:  # fmt: skip
                conn._capabilities = _BULK_ONLY
                measured = await _panel(conn, "bulk", "panel", cpu, home, rss=rss)
        finally:
            rss.stop()
        measured.peak_rss_mb = rss.peak_mb()
        return measured
    finally:
        parent.send("stop")
        server.join(10)


_BULK_ONLY: Any = None


async def main_async(args: argparse.Namespace) -> int:
    global _BULK_ONLY
    from healthprep_desktop.fhir.discovery import Capabilities

    _BULK_ONLY = Capabilities(fhir_version="4.0.1")
    home = Path(tempfile.mkdtemp(prefix="healthprep-bench-panel-"))
    cpu = CpuPool()
    try:
        await cpu.warm()  # the pool's start-up is not what we measure
        print(
            f"panel bench: {args.patients} patients, latency {args.latency_ms:.0f} ms, "
            f"{args.rate:g} requests/s, {cpu.workers} pool workers, as of {AS_OF}"
            if not args.only_large
            else f"panel bench: {cpu.workers} pool workers, as of {AS_OF}",
            flush=True,
        )
        results: dict[str, Measured] = {}
        if not args.only_large:
            print("(a) per patient and (b) bulk:", flush=True)
            if args.bulk_only:  # a quick look at the bulk path alone (no ratios)
                await _profile_runs(args, "us-core", ["bulk"], cpu, home)
                return 0
            us = await _profile_runs(args, "us-core", ["per-patient", "bulk"], cpu, home)
            generic = await _profile_runs(args, "generic", ["per-patient"], cpu, home)
            results = {
                "per-patient us-core": us["per-patient"],
                "per-patient generic": generic["per-patient"],
                "bulk us-core": us["bulk"],
            }
            bulk = us["bulk"]
            print("ratios (this run):")
            for name in ("per-patient us-core", "per-patient generic"):
                r = bulk.wall / results[name].wall
                print(f"  bulk wall / {name} wall = {r:.3f} (target < 0.333)")
            print(
                f"  bulk requests: {bulk.summary.requests} + {bulk.summary.downloads} file "
                f"downloads (target <= 20 + downloads); per patient on us-core: "
                f"{results['per-patient us-core'].summary.requests}"
            )
        if not args.skip_large:
            print(f"(c) {args.large} patients over Bulk Data (files from SyntheticClinic):")
            large = await large_run(args, cpu, home)
            s = large.summary
            print(
                f"  wall {large.wall:.0f} s, {s.counts.screened} screened "
                f"({s.counts.screened / max(large.wall, 1e-9):.1f}/s), {s.counts.failed} "
                f"failed, {s.imported.resources} resources imported"
            )
            print(
                f"  peak RSS of the panel process tree (panel + {cpu.workers} pool workers; "
                f"the file server child excluded): {large.peak_rss_mb:.0f} MB (target < 600)"
            )
        return 0
    finally:
        cpu.shutdown()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--large", type=int, default=20_000)
    parser.add_argument("--skip-large", action="store_true", help="only (a) and (b)")
    parser.add_argument("--only-large", action="store_true", help="only (c)")
    parser.add_argument("--bulk-only", action="store_true", help="only (b), without ratios")
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
