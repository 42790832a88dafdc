"""``healthprep-desktop batch``: prepare a clinic day headless (terminal progress, exit codes).

Exit codes: 0 every patient prepared; 1 some patients failed (summary printed); 2 the job could
not run (bad arguments, store or connection problems); 3 stopped early (authorization lost with
nobody to sign in again, or interrupted): the job is stored and ``--resume JOB`` continues it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from healthprep_desktop.workers.events import JobPhase

EXIT_OK, EXIT_FAILURES, EXIT_ERROR, EXIT_STOPPED = 0, 1, 2, 3


def next_clinic_day(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    p = subparsers.add_parser(
        "batch",
        help="prepare the prep sheets of a clinic day (or of a list of patients) headless",
        description="Fetch every chart, screen it, render and store the prep sheets.",
    )
    where = p.add_argument_group("which EHR")
    where.add_argument("--demo", action="store_true", help="the embedded demo clinic (sandbox)")
    where.add_argument(
        "--import",
        dest="imports",
        action="append",
        type=Path,
        metavar="PATH",
        help="with --demo: serve these FHIR bundles (file or folder; repeatable) instead of "
        "the synthetic clinic, e.g. Synthea exports; use with --all-patients or --patients",
    )
    where.add_argument("--tenant", help="clinic (tenant) id or name in the local store")
    where.add_argument("--connection", help="connection name or id within the clinic")
    where.add_argument("--fhir-url", help="a one-off FHIR server (not saved as a connection)")
    where.add_argument(
        "--auth",
        choices=("none", "basic", "bearer", "smart", "smart-backend"),
        default="none",
        help="with --fhir-url: how to authenticate (secrets come from the environment: "
        "HEALTHPREP_PASSWORD, HEALTHPREP_BEARER_TOKEN)",
    )
    where.add_argument("--client-id", default="", help="with --auth smart / smart-backend")
    where.add_argument("--username", default="", help="with --auth basic")
    where.add_argument("--scopes", default="", help="space-separated scopes to ask for")
    what = p.add_argument_group("which patients")
    what.add_argument("--date", type=_day, help="clinic day (default: the next weekday)")
    what.add_argument("--practitioner", help="only this practitioner's schedule (id)")
    what.add_argument("--location", help="only this location's schedule (id)")
    what.add_argument("--patients", help="comma-separated patient ids instead of a schedule")
    what.add_argument("--all-patients", action="store_true", help="every patient on the server")
    what.add_argument("--resume", type=int, metavar="JOB", help="continue a stored job")
    how = p.add_argument_group("how")
    how.add_argument("--as-of", type=_day, help="screening date (default: the clinic day)")
    how.add_argument("--out", type=Path, help="write one PDF per patient and the day's PDF here")
    how.add_argument("--json", type=Path, help="write machine-readable results here")
    how.add_argument("--write-back", action="store_true", help="post each sheet to the chart")
    how.add_argument("--force", action="store_true", help="refetch and re-screen everything")
    how.add_argument("--concurrency", type=int, help="patients in flight (default: from limits)")
    how.add_argument(
        "--measure-period",
        type=int,
        metavar="YYYY",
        help="measure mode: compute every CMS measure for this calendar year",
    )
    how.add_argument(
        "--measure-reports",
        type=Path,
        metavar="DIR",
        help="with --measure-period: write DIR/<patient id>/<CMS id>.json (individual "
        "MeasureReports)",
    )
    how.add_argument("--patients-in-demo", type=int, default=500, help=argparse.SUPPRESS)
    add_unlock_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.logging_setup import configure_logging
    from healthprep_desktop.workers.gc_tuning import tune_garbage_collector

    configure_logging("INFO")
    if args.patients and args.all_patients:
        print("Choose --patients or --all-patients, not both.", file=sys.stderr)
        return EXIT_ERROR
    if (args.measure_period is None) != (args.measure_reports is None):
        print("--measure-period and --measure-reports go together.", file=sys.stderr)
        return EXIT_ERROR
    if args.measure_period is not None and not 1900 <= args.measure_period <= 2999:
        print("--measure-period takes a calendar year, e.g. 2026.", file=sys.stderr)
        return EXIT_ERROR
    if args.imports and not args.demo:
        print("--import goes with --demo (the embedded sandbox serves the bundles).")
        return EXIT_ERROR
    if args.demo and (args.fhir_url or args.connection):
        print("--demo runs against the embedded sandbox; drop --fhir-url/--connection.")
        return EXIT_ERROR
    if not (args.demo or args.fhir_url or args.connection or args.resume):
        print(
            "Say which EHR: --demo (the embedded demo clinic), --tenant/--connection (a saved "
            "connection) or --fhir-url URL --auth ... (a one-off server).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    import healthprep_desktop.workers.headless  # noqa: F401 - start-up imports before tuning

    tune_garbage_collector()
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("\nInterrupted: the job is saved; run again with --resume to continue.")
        return EXIT_STOPPED


async def _run(args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.headless import HeadlessSession, SessionError

    try:
        async with HeadlessSession.from_args(args) as session:
            job = session.make_job(args)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
                    loop.add_signal_handler(sig, job.cancel)
            summary = await job.run()
            session.progress.close()
            if args.out is not None or args.json is not None:
                await session.export(summary, out=args.out, json_path=args.json)
            if args.measure_reports is not None:
                await session.measure_reports(summary, args.measure_period, args.measure_reports)
    except SessionError as exc:
        print(f"Cannot run the batch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"Job {summary.job_id} ({summary.clinic_day}): {summary.done} prepared, "
        f"{summary.skipped} unchanged, {summary.failed} failed of {summary.total} "
        f"in {summary.seconds:.1f} s ({summary.requests} requests"
        + (f", {summary.written_back} written back" if args.write_back else "")
        + ")"
    )
    if summary.phase in (JobPhase.CANCELLED, JobPhase.RECONNECT):
        why = "authorization was lost" if summary.phase is JobPhase.RECONNECT else "it was stopped"
        print(f"Stopped early because {why}; continue with --resume {summary.job_id}.")
        return EXIT_STOPPED
    if summary.failed:
        print("Patients that failed:")
        for pid, reason in sorted(summary.failures.items()):
            print(f"  {pid}: {reason}")
        return EXIT_FAILURES
    return EXIT_OK


def demo_home() -> Path:
    """Where a demo run keeps its throwaway store (never the user's real store)."""
    return Path(tempfile.mkdtemp(prefix="healthprep-demo-"))


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
