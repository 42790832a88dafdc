"""``healthprep-desktop batch``: prepare a clinic day headless (terminal progress, exit codes).

Exit codes: 0 every patient prepared; 1 some patients failed (summary printed); 2 the job could
not run (bad arguments, store or connection problems); 3 stopped early (authorization lost with
nobody to sign in again, or interrupted): the job is stored and ``--resume JOB`` continues it.
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

from healthprep_desktop.workers.events import JobPhase

EXIT_OK, EXIT_FAILURES, EXIT_ERROR, EXIT_STOPPED = 0, 1, 2, 3


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _resume(text: str) -> int | str:
    if text.strip().lower() == "last":
        return "last"
    try:
        job = int(text)
    except ValueError:
        job = 0
    if job < 1:
        raise argparse.ArgumentTypeError(f"a job number or 'last': {text!r}")
    return job


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
    where.add_argument(
        "--multi-source",
        action="store_true",
        help="with --demo: also read the demo hospital's EHR and an immunization registry, "
        "matching each patient there and merging the charts",
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
    what.add_argument(
        "--resume",
        type=_resume,
        metavar="JOB",
        help="continue a stored job: its number, or 'last' for the clinic's newest job",
    )
    what.add_argument(
        "--list-jobs",
        action="store_true",
        help="list the stored jobs of each clinic (number, day, state, patient counts) and exit",
    )
    how = p.add_argument_group("how")
    how.add_argument("--as-of", type=_day, help="screening date (default: the clinic day)")
    how.add_argument("--out", type=Path, help="write one PDF per patient and the day's PDF here")
    how.add_argument("--json", type=Path, help="write machine-readable results here")
    how.add_argument("--write-back", action="store_true", help="post each sheet to the chart")
    how.add_argument(
        "--print-sign-in-link",
        action="store_true",
        help="without a terminal, print the sign-in address and wait for the sign-in "
        "(another program opens it) instead of stopping at once",
    )
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
    how.add_argument(
        "--gaps-in-care",
        type=Path,
        metavar="DIR",
        help="with --measure-period: write DIR/<patient id>.json (Da Vinci DEQM gaps-in-care "
        "Bundles); with --write-back also post them where the EHR allows",
    )
    how.add_argument(
        "--explain-fetch",
        action="store_true",
        help="print the chart fetch plan (per sandbox profile with --demo) and stop",
    )
    how.add_argument("--patients-in-demo", type=int, default=500, help=argparse.SUPPRESS)
    add_unlock_option(p)
    p.set_defaults(func=run)
    from healthprep_desktop.workers import export_cli  # `export`: stored results as files

    export_cli.register(subparsers)


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.logging_setup import configure_logging
    from healthprep_desktop.workers.gc_tuning import tune_garbage_collector

    configure_logging("INFO")
    if args.list_jobs:
        from healthprep_desktop.workers.jobs_list import list_jobs

        return list_jobs(args)
    if args.explain_fetch:
        from healthprep_desktop.workers.explain_fetch import explain_fetch

        return explain_fetch(args)
    if args.patients and args.all_patients:
        print("Choose --patients or --all-patients, not both.", file=sys.stderr)
        return EXIT_ERROR
    wants_measures = args.measure_reports is not None or args.gaps_in_care is not None
    if (args.measure_period is None) == wants_measures:
        print(
            "--measure-period goes with --measure-reports and/or --gaps-in-care.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.measure_period is not None and not 1900 <= args.measure_period <= 2999:
        print("--measure-period takes a calendar year, e.g. 2026.", file=sys.stderr)
        return EXIT_ERROR
    if args.imports and not args.demo:
        print("--import goes with --demo (the embedded sandbox serves the bundles).")
        return EXIT_ERROR
    if getattr(args, "multi_source", False) and not args.demo:
        print("--multi-source goes with --demo (a saved clinic reads its sources by itself).")
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

    if args.out is not None:
        from healthprep_desktop.workers.exports import chosen_folder
        from healthprep_desktop.workers.private_files import environment_failure

        try:  # before the run: a folder we cannot make should not wait for the last patient
            chosen_folder(args.out, lambda text: print(text, flush=True))
        except OSError as exc:
            print(environment_failure(exc, f"creating {args.out}"), file=sys.stderr)
            return EXIT_ERROR
    tune_garbage_collector()
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("\nInterrupted: the job is saved; run again with --resume to continue.")
        return EXIT_STOPPED
    except Exception as exc:
        # The environment failed under us (a full disk, a folder we may not write, a database
        # that cannot be written): one sentence, never a traceback. The store keeps what was
        # committed, so the job can be resumed once the cause is fixed.
        from healthprep_desktop.workers.private_files import environment_failure

        if not _environment_error(exc):
            # A bug of ours: the log keeps the traceback, the user gets one sentence.
            logging.getLogger(__name__).error("batch failed", exc_info=exc)
            print(
                f"Cannot run the batch: an unexpected error ({type(exc).__name__}) stopped it; "
                "the log has the details.",
                file=sys.stderr,
            )
            return EXIT_ERROR
        logging.getLogger(__name__).warning("batch stopped: %s", type(exc).__name__)
        where = "the demo's temporary store" if args.demo else "the local store"
        resume = "" if args.demo else " What was finished is kept: 'batch --resume last' goes on."
        print(
            "Cannot continue the batch: "
            + environment_failure(exc, f"writing to {where}", folder_hint=False)
            + resume,
            file=sys.stderr,
        )
        return EXIT_ERROR


def _environment_error(exc: BaseException) -> bool:
    """An OSError, or the database refusing a write (full disk, read-only, I/O error)."""
    for err in _chain(exc):
        if isinstance(err, OSError):
            return True
        module = type(err).__module__.split(".")[0]
        if module in ("sqlcipher3", "sqlite3") and type(err).__name__ in (
            "OperationalError",
            "DatabaseError",
        ):
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


async def _run(args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.sandbox.importer import NothingToImport
    from healthprep_desktop.store.repos.jobs import JobBusyError
    from healthprep_desktop.workers.headless import ExportError, HeadlessSession, SessionError

    try:
        async with HeadlessSession.from_args(args) as session:
            job = session.make_job(args)
            if job.spec is not None and job.spec.write_back and session.connection is not None:
                # A sign-in that may not file documents: offer the fix before the run (also
                # on --resume of a write-back job).
                from healthprep_desktop.workers.write_scope import offer_in_terminal

                assert session.store is not None and session.scope is not None
                assert session.connection_id is not None
                session.connection = job.connection = await offer_in_terminal(
                    session.store, session.scope.id, session.connection_id, session.connection
                )
            loop = asyncio.get_running_loop()
            main = asyncio.current_task()

            def stop() -> None:
                # Workers abort their requests themselves; before them (the check, the
                # listing) nothing is stored yet: the whole run stops at once.
                if not job.preparing_patients and not job.cancelled and main is not None:
                    main.cancel()
                job.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
                    loop.add_signal_handler(sig, stop)
            summary = await job.run()
            session.progress.close()
            if args.out is not None or args.json is not None:
                await session.export(summary, out=args.out, json_path=args.json)
            if args.measure_reports is not None:
                await session.measure_reports(summary, args.measure_period, args.measure_reports)
            if args.gaps_in_care is not None:
                await session.gaps_in_care(
                    summary,
                    args.measure_period,
                    args.gaps_in_care,
                    post=bool(args.write_back),
                    as_of=args.as_of,
                )
    except (SessionError, NothingToImport, JobBusyError) as exc:
        print(f"Cannot run the batch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ExportError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except FhirError as exc:
        # The check before the batch, the schedule or the patient list failed: our errors
        # are one sentence with the cause and the fix (fhir/failures.py), never PHI or tokens.
        logging.getLogger(__name__).warning("batch could not run: %s", exc)
        print(f"Cannot run the batch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except asyncio.CancelledError:
        print("Stopped before any patient was prepared; nothing to resume.", file=sys.stderr)
        return EXIT_STOPPED
    print(
        f"Job {summary.job_id} ({summary.clinic_day}): {summary.done} prepared, "
        f"{summary.skipped} unchanged, {summary.failed} failed of {summary.total} "
        f"in {summary.seconds:.1f} s ({summary.requests} requests"
        + (f", {summary.written_back} written back" if args.write_back else "")
        + ")"
    )
    for notice in summary.notices:  # e.g. write-back needs a new sign-in
        print(notice)
    if summary.not_posted:
        print(f"{len(summary.not_posted)} stored sheets were not posted to the EHR:")
        for pid, reason in sorted(summary.not_posted.items()):
            print(f"  {pid}: not posted: {reason}")
    if summary.phase in (JobPhase.CANCELLED, JobPhase.RECONNECT):
        why = "it was stopped"
        if summary.phase is JobPhase.RECONNECT:
            why = f"authorization was lost ({job.lost_reason or 'no reason given'})"
        print(f"Stopped early because {why}; continue with --resume {summary.job_id}.")
        return EXIT_STOPPED
    if summary.failed:
        print("Patients that failed:")
        for pid, reason in sorted(summary.failures.items()):
            print(f"  {pid}: {reason}")
        return EXIT_FAILURES
    return EXIT_OK


def write_json(path: Path, data: Any) -> None:
    """A private (0600) JSON file, written atomically; a new folder for it is 0700."""
    from healthprep_desktop.workers.private_files import make_private_dir, write_private_json

    make_private_dir(path.parent)
    write_private_json(path, data)
