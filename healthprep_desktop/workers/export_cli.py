"""``healthprep-desktop export``: stored results of a clinic day or of the panel as CSV, JSON Lines
or Parquet, optionally de-identified (HIPAA Safe Harbor), with a summary and a completeness report.

    healthprep-desktop export --tenant T (--day YYYY-MM-DD | --panel --connection C)
        --format csv|json|parquet [--deidentify] [--summary] [--completeness] --out DIR

Nothing is fetched: the export reads what batches and panel runs stored. Exit codes: 0 written;
2 the store, the arguments or the folder were wrong (one sentence on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    p = subparsers.add_parser(
        "export",
        help="export stored screening results (a clinic day or the panel) as CSV, JSON or Parquet",
        description=(
            "Write one row per patient per screening from the local store. JSON is written as "
            "JSON Lines (one object per line). --deidentify applies HIPAA Safe Harbor and writes "
            "deidentification.json beside the files."
        ),
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--day", type=_day, metavar="YYYY-MM-DD", help="a prepared clinic day")
    which.add_argument("--panel", action="store_true", help="the screened panel of --connection")
    p.add_argument("--connection", help="connection name or number (with --panel)")
    p.add_argument("--tenant", help="clinic (tenant) id or name (needed with several)")
    p.add_argument("--format", required=True, choices=("csv", "json", "parquet"))
    p.add_argument("--deidentify", action="store_true", help="HIPAA Safe Harbor de-identification")
    p.add_argument("--summary", action="store_true", help="patients per status; measure rates")
    p.add_argument(
        "--completeness", action="store_true", help="per resource type and source: data, recency"
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write into")
    add_unlock_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.entries_cli import _scope

    if args.panel and not args.connection:
        print(
            "--panel needs --connection (the connection whose panel was screened).", file=sys.stderr
        )
        return EXIT_ERROR
    if args.day is not None and args.connection:
        print(
            "--connection goes with --panel; a clinic day's sheets name their own.", file=sys.stderr
        )
        return EXIT_ERROR
    opened = _scope(args)
    if opened is None:
        return EXIT_ERROR
    store, scope = opened
    with store:
        return _export(scope, args)


def _export(scope: Any, args: argparse.Namespace) -> int:
    from healthprep_desktop.exports.run import ExportRequest, run_export
    from healthprep_desktop.exports.writers import Format
    from healthprep_desktop.workers.exports import chosen_folder
    from healthprep_desktop.workers.private_files import environment_failure

    connection_id = None
    if args.panel:
        connection = _connection(scope, args.connection)
        if connection is None:
            names = ", ".join(c.name for c in scope.connections.all()) or "none yet"
            print(f"No connection {args.connection!r} in this clinic ({names}).", file=sys.stderr)
            return EXIT_ERROR
        connection_id = connection.id
        if scope.panel.count(connection_id) == 0:
            print(
                f"Nothing to export: the panel of {connection.name!r} has not been screened "
                "(run 'healthprep-desktop panel' first).",
                file=sys.stderr,
            )
            return EXIT_ERROR
    elif not scope.sheets.all(clinic_day=args.day):
        print(f"Nothing to export: no prep sheets are stored for {args.day}.", file=sys.stderr)
        return EXIT_ERROR
    request = ExportRequest(
        fmt=Format(args.format),
        out=args.out,
        day=args.day,
        connection_id=connection_id,
        deidentify=args.deidentify,
        summary=args.summary,
        completeness=args.completeness,
    )
    try:
        chosen_folder(args.out, lambda text: print(text, file=sys.stderr))
        result = run_export(scope, request, progress=_progress())
    except OSError as exc:
        print(environment_failure(exc, f"writing the export to {args.out}"), file=sys.stderr)
        return EXIT_ERROR
    kind = "de-identified " if args.deidentify else ""
    print(f"Exported {result.rows} {kind}rows for {result.patients} patients ({request.what}):")
    for path in result.files:
        rows = result.counts.get(path.name)
        print(f"  {path}" + (f" ({rows} rows)" if rows is not None else ""))
    return EXIT_OK


def _progress() -> Callable[[int], None] | None:
    """Patients done, every 1,000, on a terminal (a panel export can take a minute)."""
    if not sys.stderr.isatty():
        return None

    def say(done: int) -> None:
        if done % 1000 == 0:
            print(f"  {done:,} patients exported...", file=sys.stderr, flush=True)

    return say


def _connection(scope: Any, wanted: str) -> Any:
    found = scope.connections.by_name(wanted)
    if found is None and wanted.isdigit():
        found = scope.connections.get(int(wanted))
    return found


__all__ = ["register", "run"]
