"""``healthprep-desktop audit verify`` and ``audit export --csv FILE``.

Both print the trail's head (entry number and hash), which is also anchored in a file beside the
database; keeping a copy elsewhere lets a later ``verify`` be checked against it by hand.

Exit codes: 0 success; 1 the chain is broken (verify); 2 the store could not be opened (the
message says why and what to do) or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from healthprep_desktop.store.audit import AuditAction, AuditEvent, AuditFilter
from healthprep_desktop.store.audit_csv import write_audit_csv
from healthprep_desktop.store.errors import (
    KeyringUnavailableError,
    PassphraseRequiredError,
    StoreError,
)
from healthprep_desktop.store.store import Store

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="check or export the audit trail")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    verify = actions.add_parser(
        "verify", help="check the hash chain; exit 1 and name the first broken link"
    )
    add_unlock_option(verify)
    verify.set_defaults(func=run_verify)

    export = actions.add_parser("export", help="write audit entries to a CSV file")
    export.add_argument("--csv", required=True, type=Path, metavar="FILE", help="output file")
    export.add_argument(
        "--since", type=_moment, help="from this UTC date or time (YYYY-MM-DD[THH:MM[:SS]])"
    )
    export.add_argument(
        "--until", type=_moment, help="up to and including this UTC date, or before this time"
    )
    export.add_argument("--user", help="OS or EHR user name")
    export.add_argument("--patient", help="FHIR Patient id")
    export.add_argument(
        "--action",
        action="append",
        choices=[a.value for a in AuditAction],
        help="only this action (repeat for several)",
    )
    export.add_argument("--tenant", help="clinic (tenant) id")
    add_unlock_option(export)
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    store = open_for_cli(args)
    if store is None:
        return EXIT_ERROR
    with store:
        result = store.audit.verify()
    print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_BROKEN


def run_export(args: argparse.Namespace) -> int:
    since, until = args.since, args.until
    if isinstance(until, date) and not isinstance(until, datetime):
        until = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime.combine(since, datetime.min.time(), UTC)
    where = AuditFilter(
        since=since,
        until=until,
        user=args.user,
        patient_id=args.patient,
        actions=frozenset(args.action or ()),
        tenant_id=args.tenant,
    )
    store = open_for_cli(args)
    if store is None:
        return EXIT_ERROR
    with store:
        entries = store.audit.entries(where)
        try:
            write_audit_csv(args.csv, entries)
        except OSError as exc:
            print(f"Cannot write {args.csv}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        # Exporting the trail is itself an access worth recording.
        store.audit.append(
            AuditEvent(
                AuditAction.EXPORT,
                tenant_id=args.tenant,
                patient_id=args.patient,
                detail=f"audit export: {len(entries)} entries",
            )
        )
        store.audit.flush_anchor()
        seq, head = store.audit.head()
        anchor = store.audit.anchor
    print(f"Wrote {len(entries)} audit entries to {args.csv}")
    # Keep this line somewhere else too: it anchors the trail outside this computer.
    anchored = f"; also anchored in {anchor.path}" if anchor is not None else ""
    print(f"Audit head: entry #{seq}, hash {head}{anchored}")
    return EXIT_OK


def add_unlock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the database passphrase from standard input (when no keyring is available)",
    )


def open_for_cli(args: argparse.Namespace, *, create: bool = False) -> Store | None:
    """The user's store for a command: keyring first, else the passphrase (stdin or a prompt).
    None, with the reason printed, when it cannot be opened."""
    passphrase: str | None = None
    if args.passphrase_stdin:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    try:
        try:
            return Store.open(passphrase=passphrase, create=create)
        except (KeyringUnavailableError, PassphraseRequiredError) as exc:
            if passphrase is not None or not sys.stdin.isatty():
                raise
            print(exc, file=sys.stderr)
            return Store.open(passphrase=getpass.getpass("Database passphrase: "), create=create)
    except StoreError as exc:
        print(exc, file=sys.stderr)
        if isinstance(exc, KeyringUnavailableError | PassphraseRequiredError):
            print("Run again with --passphrase-stdin to give the passphrase.", file=sys.stderr)
        return None
    except ValueError as exc:  # an empty passphrase
        print(f"Cannot open the database: {exc}", file=sys.stderr)
        return None


def _moment(text: str) -> date | datetime:
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"
        ) from None
