"""``healthprep-desktop launch URL``: an EHR launch, headless.

The EHR (or ``sandbox launch``) gives ``healthprep://launch?iss=...&launch=...``. This command
finds the configured connection whose FHIR base is ``iss`` (refusing any other server before
contacting it), completes the SMART EHR-launch sign-in, and prepares that one patient's prep
sheet into the store (``--out`` also writes the PDF).

Exit codes as ``batch``: 0 prepared; 1 the patient failed; 2 could not run (a bad or unknown
launch, the store, the sign-in); 3 stopped.

The launch handle arrives in this process's argv from the operating system; it is taken out of
``sys.argv`` at once (worker processes receive a copy of ``sys.argv``) and never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from healthprep_desktop.workers.cli import EXIT_ERROR, EXIT_FAILURES, EXIT_OK, EXIT_STOPPED

REDACTED = "healthprep://launch?(launch parameters removed)"
log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    p = subparsers.add_parser(
        "launch",
        help="complete an EHR launch (healthprep://launch?...) and prepare that patient's sheet",
        description="Sign in through the EHR launch the address carries and prepare the "
        "launched patient's prep sheet, without the window.",
    )
    p.add_argument("url", help="the healthprep://launch?iss=...&launch=... address")
    p.add_argument("--out", type=Path, help="also write the patient's PDF into this folder")
    p.add_argument("--as-of", type=date_arg, help="screening date (default: today)")
    p.add_argument("--write-back", action="store_true", help="post the sheet to the chart")
    p.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds to wait for the browser sign-in"
    )
    add_unlock_option(p)
    p.set_defaults(func=run)


def date_arg(text: str) -> Any:
    from healthprep_desktop.workers.cli import _day

    return _day(text)


def scrub_argv(url: str) -> None:
    """Take the launch address out of sys.argv (child processes get a copy of it)."""
    sys.argv[:] = [REDACTED if arg == url else arg for arg in sys.argv]


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.ehr_launch import LaunchError, parse_launch_url
    from healthprep_desktop.logging_setup import configure_logging

    url = str(args.url)
    scrub_argv(url)
    args.url = REDACTED
    configure_logging("INFO")
    try:
        request = parse_launch_url(url)
    except LaunchError as exc:
        print(f"Cannot launch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return asyncio.run(_run(args, request))
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:
        # Never a traceback for the user: the log keeps it (without the launch address, which
        # left sys.argv above); the user gets one sentence.
        from healthprep_desktop.workers.private_files import environment_failure

        log.error("launch failed", exc_info=exc)
        if isinstance(exc, OSError):
            print(
                f"Cannot launch: {environment_failure(exc, 'preparing the sheet')}",
                file=sys.stderr,
            )
        else:
            print(
                f"Cannot launch: an unexpected error ({type(exc).__name__}) stopped it; "
                "the log has the details.",
                file=sys.stderr,
            )
        return EXIT_ERROR


def _batch_args(args: argparse.Namespace) -> argparse.Namespace:
    """The options ``HeadlessSession`` and ``make_job`` read, for one saved connection."""
    return argparse.Namespace(
        demo=False,
        imports=None,
        fhir_url=None,
        tenant=None,
        connection=None,
        resume=None,
        date=None,
        practitioner=None,
        location=None,
        patients="",
        all_patients=False,
        as_of=args.as_of,
        write_back=bool(args.write_back),
        force=True,  # the user asked for this patient now: prepare it again
        concurrency=1,
        passphrase_stdin=bool(args.passphrase_stdin),
        out=args.out,
        json=None,
    )


async def _run(args: argparse.Namespace, request: Any) -> int:
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.workers.headless import ExportError, SessionError
    from healthprep_desktop.workers.launch_session import LaunchSession

    batch_args = _batch_args(args)
    try:
        session = LaunchSession(batch_args, request, time_limit=args.time_limit)
        async with session:
            assert session.context is not None
            batch_args.patients = session.context.patient
            job = session.make_job(batch_args)
            summary = await job.run()
            session.progress.close()
            if args.out is not None:
                await session.export(summary, out=args.out, json_path=None)
    except (SessionError, ExportError) as exc:
        print(f"Cannot launch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except FhirError as exc:
        log.warning("launch could not run: %s", type(exc).__name__)
        print(f"Cannot launch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if summary.failed:
        for _pid, reason in sorted(summary.failures.items()):
            print(f"The prep sheet could not be prepared: {reason}", file=sys.stderr)
        return EXIT_FAILURES
    if summary.phase.name in ("CANCELLED", "RECONNECT"):
        print("Stopped before the prep sheet was ready.", file=sys.stderr)
        return EXIT_STOPPED
    print(
        f"Prepared the prep sheet of the launched patient (job {summary.job_id}, "
        f"{summary.seconds:.1f} s); it is stored and opens in HealthPrep Desktop."
    )
    return EXIT_OK
