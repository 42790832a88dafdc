"""``healthprep-desktop entries list|add|remove``: screening entries a user makes by hand.

"Done elsewhere" (with the date it was done), "declined" and "postponed until" a date, per
patient and screening in one clinic; the next batch honours them without refetching the chart.
Each change is audited with references only (patient id, screening id), never the note.

Exit codes: 0 done; 2 the store could not be opened or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 2
_KINDS = {"done-elsewhere": "done_elsewhere", "declined": "declined", "postponed": "postponed"}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    entries = subparsers.add_parser(
        "entries", help="list, add or remove screenings marked done elsewhere, declined, postponed"
    )
    actions = entries.add_subparsers(dest="entries_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the clinic's entries (optionally one patient's)")
    listing.add_argument("--patient", help="FHIR Patient id")
    add = actions.add_parser("add", help="add or replace the entry of a patient's screening")
    add.add_argument("--patient", required=True, help="FHIR Patient id")
    add.add_argument("--screening", required=True, help="screening id from the library")
    add.add_argument("--kind", required=True, choices=sorted(_KINDS))
    add.add_argument("--date", type=_day, help="when it was done (done-elsewhere) or declined")
    add.add_argument("--until", type=_day, help="postponed until this day")
    add.add_argument("--note", default="", help="e.g. where it was done (kept encrypted)")
    add.add_argument("--by", help="who enters it (default: the OS user)")
    remove = actions.add_parser("remove", help="remove an entry by its id (see list)")
    remove.add_argument("id", type=int)
    for p in (listing, add, remove):
        p.add_argument("--tenant", help="clinic (tenant) id or name (needed with several)")
        add_unlock_option(p)
    listing.set_defaults(func=run_list)
    add.set_defaults(func=run_add)
    remove.set_defaults(func=run_remove)


def _scope(args: argparse.Namespace) -> tuple[Any, Any] | None:
    from healthprep_desktop.store.cli import open_for_cli

    store = open_for_cli(args)
    if store is None:
        return None
    tenants = store.tenants()
    chosen = [t for t in tenants if args.tenant in (t.id, t.name)] if args.tenant else tenants
    if len(chosen) != 1:
        store.close()
        if not tenants:
            print("No clinic is set up yet: open the app first.", file=sys.stderr)
        elif args.tenant:
            print(f"No clinic called {args.tenant!r} in the local store.", file=sys.stderr)
        else:
            print("Several clinics are set up: say which with --tenant.", file=sys.stderr)
        return None
    return store, store.tenant(chosen[0].id)


def run_list(args: argparse.Namespace) -> int:
    opened = _scope(args)
    if opened is None:
        return EXIT_ERROR
    store, scope = opened
    with store:
        rows = scope.entries.all(patient_id=args.patient)
    if not rows:
        print("No entries.")
    for e in rows:
        when = f" on {e.on_date}" if e.on_date else ""
        until = f" until {e.until_date}" if e.until_date else ""
        print(
            f"{e.id}\t{e.patient_id}\t{e.screening_id}\t{e.kind.value}{when}{until}\t"
            f"by {e.entered_by} at {e.entered_at}"
        )
    return EXIT_OK


def run_add(args: argparse.Namespace) -> int:
    from healthprep_desktop.screening.library import default_library
    from healthprep_desktop.screening.visit_measures import VISIT_SCREENINGS
    from healthprep_desktop.store import AuditAction, EntryKind

    known = {s.id for s in default_library().screenings} | {sid for sid, _ in VISIT_SCREENINGS}
    if args.screening not in known:
        print(
            f"No screening {args.screening!r} in the library; one of: {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    kind = EntryKind(_KINDS[args.kind])
    opened = _scope(args)
    if opened is None:
        return EXIT_ERROR
    store, scope = opened
    with store:
        try:
            entry = scope.entries.put(
                args.patient,
                args.screening,
                kind,
                entered_by=args.by or getpass.getuser(),
                on_date=args.date,
                until_date=args.until,
                note=args.note,
            )
        except ValueError as exc:
            print(f"Cannot add the entry: {exc}.", file=sys.stderr)
            return EXIT_ERROR
        scope.audit(
            AuditAction.SCREENING_ENTRY,
            patient_id=args.patient,
            resource_ids=(f"screening/{args.screening}", f"entry/{entry.id}"),
            detail=f"entry {entry.id} set: {kind.value}",
            ehr_user=args.by,
        )
    print(f"Entry {entry.id}: {args.screening} {kind.value} for patient {args.patient}")
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    from healthprep_desktop.store import AuditAction

    opened = _scope(args)
    if opened is None:
        return EXIT_ERROR
    store, scope = opened
    with store:
        entry = scope.entries.get(args.id)
        if entry is None or not scope.entries.remove(args.id):
            print(f"No entry {args.id} in this clinic.", file=sys.stderr)
            return EXIT_ERROR
        scope.audit(
            AuditAction.SCREENING_ENTRY,
            patient_id=entry.patient_id,
            resource_ids=(f"screening/{entry.screening_id}", f"entry/{entry.id}"),
            detail=f"entry {entry.id} removed",
        )
    print(f"Removed entry {args.id}")
    return EXIT_OK


__all__ = ["register"]
