"""``batch --list-jobs``: the stored jobs of each clinic, newest first, to find the one to resume.

Shows numbers, days, states and patient counts only (no patient ids, no PHI).
"""

from __future__ import annotations

import argparse
import sys

from healthprep_desktop.store import PatientState, Store, TenantScope

EXIT_OK, EXIT_ERROR = 0, 2
DEFAULT_LIMIT = 20  # per clinic


def job_lines(scope: TenantScope, limit: int = DEFAULT_LIMIT) -> list[str]:
    jobs = scope.jobs.all(limit=limit)
    if not jobs:
        return ["  (no jobs)"]
    lines = [f"  {'job':>5}  {'day':<10}  {'state':<9}  patients"]
    for job in jobs:
        counts = scope.jobs.counts(job.id)
        total = sum(counts.values())
        left = counts[PatientState.PENDING] + counts[PatientState.RUNNING]
        detail = (
            f"{total} ({counts[PatientState.DONE]} done, {counts[PatientState.FAILED]} failed, "
            f"{left} to do)"
        )
        lines.append(
            f"  {job.id:>5}  {job.clinic_day.isoformat():<10}  {job.state.value:<9}  {detail}"
        )
    return lines


def describe_jobs(store: Store, tenant: str | None = None) -> list[str] | None:
    """Lines for every clinic (or the one named); None when no clinic matches ``tenant``."""
    tenants = store.tenants()
    if tenant:
        tenants = [t for t in tenants if tenant in (t.id, t.name)]
        if not tenants:
            return None
    lines: list[str] = []
    for t in tenants:
        lines.append(f"Clinic {t.name}:")
        lines.extend(job_lines(store.tenant(t.id)))
    if not lines:
        lines.append("No clinics are set up yet, so there are no jobs.")
    else:
        lines.append("Continue one with: healthprep-desktop batch --resume JOB (or --resume last)")
    return lines


def list_jobs(args: argparse.Namespace) -> int:
    from healthprep_desktop.store.cli import open_for_cli

    if args.demo:
        print("--list-jobs reads the local store; a --demo run keeps no jobs.", file=sys.stderr)
        return EXIT_ERROR
    store = open_for_cli(args, create=False)
    if store is None:
        return EXIT_ERROR
    with store:
        lines = describe_jobs(store, args.tenant)
    if lines is None:
        print(f"No clinic called {args.tenant!r} in the local store.", file=sys.stderr)
        return EXIT_ERROR
    for line in lines:
        print(line)
    return EXIT_OK


__all__ = ["describe_jobs", "job_lines", "list_jobs"]
