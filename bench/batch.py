"""Benchmark: prepare a 500-patient clinic day three ways against a rate-limited sandbox.

    .venv/bin/python bench/batch.py [--patients 500] [--latency-ms 100] [--rate 50]
                                    [--only pipeline,naive,batches10]

The sandbox runs in a child process with 100 ms latency per request and a 50 requests/s token
bucket that answers 429 + Retry-After. Each approach runs in its own process (clean peak RSS)
and does the same work per patient: fetch the chart and its documents, extract the text,
screen, render the sheet.

- pipeline:  this app's BatchJob (paced client, bounded concurrency, process pool, store).
- naive:     one patient after another, one request at a time, CPU work inline.
- batches10: the pattern multi-EHR aggregation guides recommend: 10 patients at a time, then a
             1 s pause between batches; CPU work inline.
- rerun:     (with --only rerun) the pipeline preparing the same day a second time, forced
             (its CPU figures cover both runs):
             charts refetched and sheets re-rendered, document text from the cache (no OCR).
- multi:     (--multi-source: runs pipeline, then multi) the pipeline reading two more sources
             per patient, a hospital EHR and an immunization registry (issue 16), each served
             by its own sandbox process with the same latency and its OWN rate limit: patient
             search and match, linked charts fetched, charts merged. Prints the multi-source
             day's wall time against the single-source day's (target: at most 1.3x).

Printed for each: wall time, requests, requests per patient, the lower bound (requests / rate
limit) and the ratio to it, peak memory of the whole process tree (the process, its pool
workers and their tesseract runs; PSS, with summed RSS beside it); for the pipeline also the
event loop's longest stall. Targets: pipeline within 1.15x of its lower bound, longest stall
under 50 ms, peak memory under 500 MB (under 600 MB for --patients 2000, issue 12).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

DAY = date(2026, 12, 1)
CORES = os.cpu_count() or 1


# --- the sandbox (child process) -------------------------------------------------------------


class _DayOf:
    """A clinic source whose schedule for the benchmark day holds exactly N appointments."""

    def __init__(self, clinic: Any, day: date, count: int) -> None:
        self.clinic, self.day, self.count = clinic, day, count

    def resources(self) -> Any:
        return self.clinic.resources()

    def schedule(self, day: date) -> list[dict[str, Any]]:
        count = self.count if day == self.day else None
        result: list[dict[str, Any]] = self.clinic.schedule(day, count=count)
        return result


def serve(
    pipe: multiprocessing.connection.Connection,
    patients: int,
    latency: float,
    rate: float,
    org_id: str = "bench",
) -> None:
    from healthprep_desktop.sandbox import (
        FaultConfig,
        OrgConfig,
        SandboxConfig,
        SandboxServer,
        demo_clients,
    )
    from healthprep_desktop.sandbox.clinic import SyntheticClinic

    clinic = SyntheticClinic(seed=1, patients=patients, reference_date=DAY)
    org = OrgConfig("bench", clients=demo_clients(), source=_DayOf(clinic, DAY, patients))
    if org_id != "bench":  # a hospital or registry sharing the clinic's patients
        from healthprep_desktop.workers.multi_source_demo import SharedOrgs

        org = next(o for o in SharedOrgs()(clinic) if o.org_id == org_id)
    faults = FaultConfig(latency_ms=latency, rate_limit=rate, rate_burst=max(1, int(rate)))
    server = SandboxServer(SandboxConfig(orgs=[org], faults=faults))
    server.start()
    pipe.send({"base_url": server.base_url(org.org_id), "tz": clinic.time_zone})
    while pipe.recv() == "cpu":  # CPU seconds so far, or "stop"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        pipe.send(usage.ru_utime + usage.ru_stime)
    pipe.send(server.stats)
    server.stop()


# --- memory ----------------------------------------------------------------------------------


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _pss_of(pid: int) -> int:
    """Proportional set size: resident memory with each shared page divided among the
    processes sharing it (Linux 4.14+; RSS elsewhere). Summed over a tree it counts shared
    libraries once, and a worker's fork for tesseract (a copy-on-write twin of the worker for
    the instant before exec) adds nothing, where summed RSS counted the worker twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _rss_of(pid)


def _children(pid: int) -> list[int]:
    """Every child of ``pid``. Linux lists children per thread that started them, and the
    process pool is spawned from a helper thread (CpuPool.warm): reading only the main
    thread's list missed every pool worker."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (pool workers, their tesseract runs, the resource
    tracker): the whole process tree, as the issue measures it."""
    # Each process once: a child can be listed under more than one thread of its parent
    # (counted twice, a pool worker showed up as a third worker of a two-worker pool).
    out: list[int] = []
    seen: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        out.append(current)
        todo.extend(_children(current))
    return out


def _name(pid: int, me: int) -> str:
    """main, worker, tracker or the program's name (tesseract), for the peak's breakdown."""
    if pid == me:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "resource_tracker" in cmd:
        return "tracker"
    if "spawn_main" in cmd:
        return "worker"
    return os.path.basename(cmd.split(" ", 1)[0]) or "?"


class RssSampler:
    """Peak memory of this process's whole tree (itself, the process pool and any
    grandchildren), summed per sample: as PSS (each page once; the figure the target is
    checked on) and as plain RSS (shared pages counted in every process)."""

    def __init__(self) -> None:
        self.peak = 0  # PSS
        self.rss_peak = 0
        self.main_peak = 0  # this process alone
        self.most_processes = 0  # the largest tree seen
        self.at_peak: list[tuple[str, int]] = []  # (process name, bytes) in the peak sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            tree = _tree(me)
            sizes = [(p, _pss_of(p)) for p in tree]
            total = sum(size for _, size in sizes)
            self.rss_peak = max(self.rss_peak, sum(_rss_of(p) for p in tree))
            self.main_peak = max(self.main_peak, _pss_of(me))
            self.most_processes = max(self.most_processes, len(tree))
            if total > self.peak:
                self.peak = total
                self.at_peak = [(_name(p, me), size) for p, size in sizes]
            # Reading smaps_rollup costs the kernel a page-table walk per process: 10 samples
            # a second keep the sampler's own CPU out of the figures it measures.
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the approaches (each in its own process) ------------------------------------------------


def _connection(base_url: str, rate: float, concurrency: int) -> Any:
    from healthprep_desktop.fhir.config import (
        AuthMethod,
        ConnectionConfig,
        RateLimitConfig,
        Vendor,
    )
    from healthprep_desktop.fhir.credentials import MemorySecrets
    from healthprep_desktop.fhir.session import FhirConnection
    from healthprep_desktop.fhir.tokens import MemoryTokenStore
    from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
    from healthprep_desktop.workers.demo import DEMO_SCOPES

    config = ConnectionConfig(
        name="bench",
        base_url=base_url,
        vendor=Vendor.GENERIC,
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        client_id=DEMO_PUBLIC_CLIENT,
        scopes=DEMO_SCOPES,
        rate_limit=RateLimitConfig(requests_per_second=rate, max_concurrency=concurrency),
    )
    return FhirConnection(
        config,
        tenant="bench",
        tokens=MemoryTokenStore(),
        secrets=MemorySecrets(),
        keep_invalid=True,
    )


async def _add_sources(store: Any, tenant_id: str, sources: list[str], rate: float) -> None:
    """The hospital and the registry as the clinic's secondary sources, signed in."""
    from healthprep_desktop.fhir.store_adapters import config_for_store
    from healthprep_desktop.workers.connections import open_connection
    from healthprep_desktop.workers.demo import follow_authorize_redirects
    from healthprep_desktop.workers.multi_source_demo import DEMO_SOURCES
    from healthprep_desktop.workers.source_config import SOURCE_KEY, SourceSettings

    scope = store.tenant(tenant_id)
    for demo_source, base_url in zip(DEMO_SOURCES, sources, strict=True):
        config = config_for_store(_connection(base_url, rate, 16).config)
        config[SOURCE_KEY] = SourceSettings(
            demo_source.org_id, demo_source.kind, demo_source.name
        ).to_json()
        row = scope.connections.add(
            demo_source.name, "generic", base_url, config=config, priority=demo_source.priority
        )
        conn = open_connection(store, tenant_id, row.id)
        await conn.login_interactive(open_url=follow_authorize_redirects)
        await conn.aclose()


async def _pipeline(
    base_url: str, rate: float, tz: str, *, rerun: bool = False, sources: list[str] | None = None
) -> dict[str, Any]:
    from healthprep_desktop.store import Store
    from healthprep_desktop.workers.batch import BatchJob
    from healthprep_desktop.workers.demo import follow_authorize_redirects
    from healthprep_desktop.workers.job import JobSpec
    from healthprep_desktop.workers.loop_monitor import LoopStallMonitor

    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    store = Store.open_ephemeral(tmp / "bench.db")
    tenant = store.create_tenant("Bench clinic")
    scope = store.tenant(tenant.id)
    conn_row = scope.connections.add("bench", "generic", base_url)
    if sources:
        await _add_sources(store, tenant.id, sources, rate)

    # Pace at the server's published limit; enough in flight to cover 100 ms of latency.
    conn = _connection(base_url, rate, 16)
    await conn.login_interactive(open_url=follow_authorize_redirects)
    login_requests = conn.client.stats.requests
    spec = JobSpec(tenant_id=tenant.id, connection_id=str(conn_row.id), clinic_date=DAY)
    if rerun:
        # The same day again, forced: every chart refetched and every sheet re-rendered, but
        # document text comes from the encrypted cache (the OCR of the first run is not redone).
        first = BatchJob(store, spec, connection=conn, connection_id=conn_row.id, tz=tz)
        await first.run()
        spec = JobSpec(
            tenant_id=tenant.id, connection_id=str(conn_row.id), clinic_date=DAY, force=True
        )
        login_requests = conn.client.stats.requests
    job = BatchJob(store, spec, connection=conn, connection_id=conn_row.id, concurrency=16, tz=tz)
    monitor = LoopStallMonitor()
    monitor.start()
    started = time.perf_counter()
    summary = await job.run()
    wall = time.perf_counter() - started
    stall = await monitor.stop()
    await conn.aclose()
    store.close()
    return {
        "wall": wall,
        "requests": conn.client.stats.requests - login_requests,
        "patients": summary.done + summary.skipped,
        "failed": summary.failed,
        "stall_ms": stall * 1000,
        "stall_at_s": monitor.longest_at,
        "stalls_over_50ms": [(round(a, 2), round(d * 1000)) for a, d in monitor.stalls][:10],
        "rate_limited": conn.client.stats.rate_limited,
    }


async def _inline_patient(conn: Any, pid: str, tz: str, capabilities: Any) -> None:
    """Fetch, extract, screen and render one patient with everything on the event loop."""
    from healthprep_desktop.fhir.record import fetch_patient_record
    from healthprep_desktop.screening.documents import ExtractJob, extract_text_job
    from healthprep_desktop.screening.engine import evaluate
    from healthprep_desktop.screening.sheet import render_sheet
    from healthprep_desktop.screening.sheet_model import SheetContext

    # The same fetch plan as the pipeline ($everything where offered): the comparison is about
    # scheduling, not about how many requests a chart takes.
    fetched = await fetch_patient_record(conn.client, pid, capabilities=capabilities)
    record = fetched.record
    record.documents = [
        extract_text_job(ExtractJob(d.reference, d.title, d.date, d.content_type, d.data))
        for d in fetched.documents
        if d.data is not None
    ]
    results = evaluate(record, DAY, tz=tz)
    render_sheet(SheetContext(record=record, results=results, as_of=DAY))


async def _common(base_url: str, tz: str, *, group: int, pause: float) -> dict[str, Any]:
    from healthprep_desktop.fhir.schedule import fetch_schedule, unique_patients
    from healthprep_desktop.workers.demo import follow_authorize_redirects

    # No pacing: these patterns send as fast as they go and rely on retries after a 429.
    conn = _connection(base_url, 0.0, group)
    await conn.login_interactive(open_url=follow_authorize_redirects)
    login_requests = conn.client.stats.requests
    started = time.perf_counter()
    capabilities = await conn.capabilities()
    pids = unique_patients(await fetch_schedule(conn.client, DAY))
    failed = 0
    for i in range(0, len(pids), group):
        outcomes = await asyncio.gather(
            *(_inline_patient(conn, pid, tz, capabilities) for pid in pids[i : i + group]),
            return_exceptions=True,
        )
        failed += sum(isinstance(o, BaseException) for o in outcomes)
        if pause and i + group < len(pids):
            await asyncio.sleep(pause)
    wall = time.perf_counter() - started
    await conn.aclose()
    return {
        "wall": wall,
        "requests": conn.client.stats.requests - login_requests,
        "patients": len(pids) - failed,
        "failed": failed,
        "rate_limited": conn.client.stats.rate_limited,
    }


def _cpu_total(r: dict[str, Any]) -> float:
    return float(
        r["cpu_main_s"] + r["cpu_workers_s"] + r["cpu_sandbox_s"] + r["cpu_other_sources_s"]
    )


def run_approach(
    name: str, base_url: str, rate: float, tz: str, out: Any, sources: list[str] | None = None
) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # The same process settings as the app (healthprep_desktop.workers.cli / ui.app).
    import healthprep_desktop.workers.batch  # noqa: F401 - start-up imports first
    from healthprep_desktop.workers.gc_tuning import tune_garbage_collector

    tune_garbage_collector()
    with RssSampler() as rss:
        if name == "pipeline":
            result = asyncio.run(_pipeline(base_url, rate, tz))
        elif name == "multi" and os.environ.get("HEALTHPREP_BENCH_PROFILE"):
            import cProfile  # where the multi-source day's main-process CPU goes

            with cProfile.Profile() as prof:
                result = asyncio.run(_pipeline(base_url, rate, tz, sources=sources))
            prof.dump_stats(os.environ["HEALTHPREP_BENCH_PROFILE"])
        elif name == "multi":
            result = asyncio.run(_pipeline(base_url, rate, tz, sources=sources))
        elif name == "rerun":
            result = asyncio.run(_pipeline(base_url, rate, tz, rerun=True))
        elif name == "naive":
            result = asyncio.run(_common(base_url, tz, group=1, pause=0.0))
        else:
            result = asyncio.run(_common(base_url, tz, group=10, pause=1.0))
    result["peak_rss_mb"] = rss.peak / 2**20  # PSS summed over the tree
    result["peak_rss_sum_mb"] = rss.rss_peak / 2**20
    result["main_peak_mb"] = rss.main_peak / 2**20
    result["processes"] = rss.most_processes
    result["at_peak"] = ", ".join(f"{n} {b / 2**20:.0f}" for n, b in rss.at_peak)
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    result["cpu_main_s"] = me.ru_utime + me.ru_stime
    result["cpu_workers_s"] = kids.ru_utime + kids.ru_stime
    out.send(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--only", default="pipeline,naive,batches10")
    parser.add_argument(
        "--multi-source",
        action="store_true",
        help="the single-source pipeline, then the day read from three sources (issue 16)",
    )
    args = parser.parse_args(argv)
    if args.multi_source:
        args.only = "pipeline,multi"
    extra: list[Any] = []
    sources: list[str] = []
    if args.multi_source:
        from healthprep_desktop.workers.multi_source_demo import DEMO_SOURCES

        for demo_source in DEMO_SOURCES:  # each its own server: its own rate limit
            ours, theirs = multiprocessing.get_context("spawn").Pipe()
            proc = multiprocessing.get_context("spawn").Process(
                target=serve,
                args=(theirs, args.patients, args.latency_ms, args.rate, demo_source.org_id),
            )
            proc.start()
            sources.append(ours.recv()["base_url"])
            extra.append((ours, proc))
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child, args.patients, args.latency_ms, args.rate))
    server.start()
    info = parent.recv()
    print(
        f"sandbox: {args.patients}-patient day, {args.latency_ms:.0f} ms latency, "
        f"{args.rate:.0f} requests/s limit (429 + Retry-After)"
    )
    rows: dict[str, dict[str, Any]] = {}
    try:
        for name in args.only.split(","):
            parent.send("cpu")
            server_cpu_before = parent.recv()
            others_before = []
            for ours, _proc in extra:
                ours.send("cpu")
                others_before.append(ours.recv())
            rx, tx = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=run_approach,
                args=(name, info["base_url"], args.rate, info["tz"], tx, sources),
            )
            proc.start()
            rows[name] = rx.recv()
            proc.join()
            parent.send("cpu")
            r = rows[name]
            r["cpu_sandbox_s"] = parent.recv() - server_cpu_before
            # The other sources' servers share the 2 cores: their CPU counts in the floor.
            others = 0.0
            for (ours, _proc), before in zip(extra, others_before, strict=True):
                ours.send("cpu")
                others += ours.recv() - before
            r["cpu_other_sources_s"] = others
            bound = r["requests"] / args.rate
            print(
                f"{name:10s} wall {r['wall']:7.1f} s  requests {r['requests']:5d}  "
                f"per patient {r['requests'] / max(1, r['patients']):.2f}  "
                f"bound {bound:6.1f} s  ratio {r['wall'] / bound:5.2f}  "
                f"429s {r['rate_limited']:4d}  failed {r['failed']}  "
                f"peak memory (whole process tree, PSS) {r['peak_rss_mb']:6.0f} MB "
                f"[summed RSS {r['peak_rss_sum_mb']:.0f} MB] "
                f"(main process {r['main_peak_mb']:.0f} MB, up to {r['processes']} processes; "
                f"at the peak, MB: {r['at_peak']})"
                + (
                    f"  longest loop stall {r['stall_ms']:.0f} ms at {r['stall_at_s']:.1f} s"
                    f" (stalls over 50 ms: {len(r['stalls_over_50ms'])})"
                    if "stall_ms" in r
                    else ""
                )
                + f"  CPU main {r['cpu_main_s']:.1f} s, workers {r['cpu_workers_s']:.1f} s, "
                f"sandbox {r['cpu_sandbox_s']:.1f} s"
                + (f", other sources' servers {r['cpu_other_sources_s']:.1f} s" if extra else "")
                + f" (floor on {CORES} cores: {_cpu_total(r) / CORES:.1f} s)",
                flush=True,
            )
    finally:
        parent.send("stop")
        parent.recv()
        server.join(30)
        for ours, proc in extra:
            ours.send("stop")
            ours.recv()
            proc.join(30)
    if "multi" in rows and "pipeline" in rows:
        times = rows["multi"]["wall"] / rows["pipeline"]["wall"]
        print(
            f"multi-source day {rows['multi']['wall']:.1f} s against single-source day "
            f"{rows['pipeline']['wall']:.1f} s: {times:.2f}x (target: at most 1.3x; each source "
            f"{args.rate:.0f} requests/s of its own)"
        )
    if "pipeline" in rows:
        p = rows["pipeline"]
        ratio = p["wall"] / (p["requests"] / args.rate)
        print(
            json.dumps(
                {
                    "pipeline_ratio_to_bound": round(ratio, 3),
                    "target_ratio": 1.15,
                    "longest_stall_ms": round(p["stall_ms"], 1),
                    "target_stall_ms": 50,
                    "peak_rss_mb": round(p["peak_rss_mb"]),
                    "target_rss_mb": 600 if args.patients >= 2000 else 500,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
