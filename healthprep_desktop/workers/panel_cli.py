"""``healthprep-desktop panel``: screen every patient of a clinic's panel headless.

Bulk Data where the server offers it, else the per-patient fetch (the output says which and
why); results go to the encrypted store (``scope.panel``) and reruns are incremental.

Exit codes: 0 every patient screened; 1 some patients failed (listed); 2 the run could not
start (arguments, store, connection); 3 stopped (Ctrl-C / SIGTERM): run the same command again
to continue, patients already screened are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

from healthprep_desktop.workers.cli import EXIT_ERROR, EXIT_FAILURES, EXIT_OK, EXIT_STOPPED

log = logging.getLogger(__name__)
DEMO_GROUP = "panel"  # the sandbox's whole-panel group (docs/sandbox-bulk.md)
_LISTED = 50  # failed patients listed on the terminal


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    p = subparsers.add_parser(
        "panel",
        help="screen every patient of the clinic's panel (Bulk Data where offered)",
        description="Screen the whole panel: Bulk Data export where the server offers it, else "
        "one chart at a time; results are stored encrypted; reruns fetch only what changed.",
    )
    p.add_argument("--demo", action="store_true", help="the embedded demo clinic (sandbox)")
    p.add_argument("--tenant", help="clinic (tenant) id or name in the local store")
    p.add_argument("--connection", help="connection name or id within the clinic")
    p.add_argument(
        "--group",
        help="the panel's Group id on the server (default: every patient; 'panel' with --demo)",
    )
    p.add_argument(
        "--since",
        choices=("auto", "never"),
        default="auto",
        help="auto: only what changed since the last complete run; never: everything",
    )
    p.add_argument(
        "--path",
        choices=("auto", "bulk", "per-patient"),
        default="auto",
        help="auto: Bulk Data where the server offers it (default)",
    )
    p.add_argument("--as-of", type=_as_of, help="screening date (default: today)")
    p.add_argument("--json", type=Path, help="write the run's summary and panel counts here")
    p.add_argument("--concurrency", type=int, help="per-patient path: charts in flight")
    p.add_argument("--patients-in-demo", type=int, default=500, help=argparse.SUPPRESS)
    add_unlock_option(p)
    # What the batch's session reads and the panel does not offer.
    p.set_defaults(
        func=run, imports=None, fhir_url=None, resume=None, date=None, write_back=False,
        auth="none", client_id="", username="", scopes="", print_sign_in_link=False,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.logging_setup import configure_logging
    from healthprep_desktop.workers.gc_tuning import tune_garbage_collector

    configure_logging("INFO")
    if args.demo and args.connection:
        print("--demo runs against the embedded sandbox; drop --connection.", file=sys.stderr)
        return EXIT_ERROR
    if not (args.demo or args.connection):
        print(
            "Say which EHR: --demo (the embedded demo clinic) or --tenant/--connection (a saved "
            "connection).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        print("--concurrency takes a number from 1 to 64.", file=sys.stderr)
        return EXIT_ERROR
    tune_garbage_collector()
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("\nStopped: run the same command again to continue.", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:
        from healthprep_desktop.workers.private_files import environment_failure

        if isinstance(exc, OSError):
            print(f"Cannot run the panel: {environment_failure(exc, 'writing')}", file=sys.stderr)
            return EXIT_ERROR
        log.error("panel failed", exc_info=exc)
        print(
            f"Cannot run the panel: an unexpected error ({type(exc).__name__}) stopped it; the "
            "log has the details. Patients already screened are kept.",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _say(line: str) -> None:
    print(line, flush=True)


async def _run(args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.panel.bulk_source import bulk_problem, store_bulk_export
    from healthprep_desktop.panel.run import PanelOptions
    from healthprep_desktop.panel.start import choose_path, make_run
    from healthprep_desktop.workers.cpu import CpuPool
    from healthprep_desktop.workers.db import StoreExecutor
    from healthprep_desktop.workers.headless import HeadlessSession, SessionError

    group = args.group if args.group is not None else (DEMO_GROUP if args.demo else None)
    cpu = CpuPool()
    db = StoreExecutor()
    try:
        async with HeadlessSession.from_args(args) as session:
            store, scope, conn = session.store, session.scope, session.connection
            assert store is not None and scope is not None and conn is not None
            connection_id = session.connection_id
            assert connection_id is not None
            capabilities = None
            try:
                capabilities = await conn.capabilities()
            except FhirError as exc:
                _say(f"The server's CapabilityStatement could not be read ({exc}).")
            if args.path == "bulk" and (
                capabilities is None or bulk_problem(capabilities, group) is not None
            ):
                why = bulk_problem(capabilities, group) if capabilities else "no statement"
                print(f"Cannot use Bulk Data: {why}.", file=sys.stderr)
                return EXIT_ERROR
            choice = choose_path(
                capabilities,
                args.path,
                probe=lambda caps: bulk_problem(caps, group),
                make_bulk=lambda: store_bulk_export(conn, scope, connection_id, say=_say),
            )
            if choice.bulk is None and args.group is None:
                group = None  # per patient, without a named group: every patient
            limits = conn.config.rate_limit.max_concurrency
            options = PanelOptions(
                group_id=group, since=args.since, concurrency=args.concurrency or limits
            )
            panel = make_run(
                store, scope.id, connection_id, conn,
                as_of=args.as_of or date.today(), options=options, choice=choice,
                capabilities=capabilities, cpu=cpu, db=db, say=_say,
            )  # fmt: skip
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
                    loop.add_signal_handler(sig, panel.request_stop)
            summary = await panel.run()
            if args.json is not None:
                await _write_json(args.json, summary.to_json(), scope, connection_id, db)
    except SessionError as exc:
        print(f"Cannot run the panel: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except FhirError as exc:
        log.warning("panel could not run: %s", exc)
        print(f"Cannot run the panel: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        db.shutdown()
        cpu.shutdown()
    return _report(summary.to_json())


def _report(data: dict[str, Any]) -> int:
    print(
        f"Panel run {data['run']} ({data['path']}): {data['screened']} screened, "
        f"{data['unchanged']} unchanged, {data['failed']} failed of {data['patients']} "
        f"in {data['seconds']:.1f} s ({data['requests']} requests, {data['downloads']} files)"
    )
    if data["bad_lines"]:
        print(f"{data['bad_lines']} lines of the export were not resources and were skipped.")
    if data["state"] == "stopped":
        print("Stopped early: run the same command again to continue (screened patients kept).")
        return EXIT_STOPPED
    if data["failed"]:
        print("Patients that failed:")
        failures = list(data["failures"].items())
        for pid, reason in failures[:_LISTED]:
            print(f"  {pid}: {reason}")
        if len(failures) > _LISTED:
            print(f"  ... and {len(failures) - _LISTED} more (all in the run's summary, --json)")
        return EXIT_FAILURES
    return EXIT_OK


async def _write_json(
    path: Path, run: dict[str, Any], scope: Any, connection_id: int, db: Any
) -> None:
    from healthprep_desktop.panel.totals import panel_totals
    from healthprep_desktop.workers.cli import write_json

    totals = await db.call(panel_totals, scope, connection_id)
    await asyncio.to_thread(write_json, path, {"run": run, **totals})
    _say(f"Wrote the run's summary and the panel's counts to {path}")


__all__ = ["register", "run"]
