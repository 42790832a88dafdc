"""The Panel view's export buttons, as requests to the export package (``exports.run``), and the
one sentence each gives back.

Runs in a worker thread (``panel_export_bar``). The export package writes 0600 files, makes a
new folder 0700 and records the export in the audit trail; this module only chooses what to
ask for and words the outcome without PHI (counts, file names and the folder the user chose).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from healthprep_desktop.exports.run import ExportRequest, ExportResult
from healthprep_desktop.exports.run import run_export as write_export
from healthprep_desktop.exports.writers import Format
from healthprep_desktop.store import TenantScope
from healthprep_desktop.workers.private_files import shared_folder_warning


@dataclass(frozen=True, slots=True)
class ExportTarget:
    """What the buttons export: one connection's stored panel."""

    scope: TenantScope
    connection_id: int


# Button -> (format, de-identified, with summary, with completeness). The three extras are
# CSV: the format a coordinator opens in a spreadsheet; the command line offers the others.
REQUESTS: dict[str, tuple[Format, bool, bool, bool]] = {
    "csv": (Format.CSV, False, False, False),
    "json": (Format.JSON, False, False, False),
    "parquet": (Format.PARQUET, False, False, False),
    "deidentified": (Format.CSV, True, False, False),
    "summary": (Format.CSV, False, True, False),
    "completeness": (Format.CSV, False, False, True),
}


def request_for(kind: str, target: ExportTarget, folder: Path) -> ExportRequest:
    if kind not in REQUESTS:
        raise ValueError(f"There is no {kind!r} export; choose one of the buttons.")
    fmt, deidentify, summary, completeness = REQUESTS[kind]
    return ExportRequest(
        fmt=fmt,
        out=folder,
        connection_id=target.connection_id,
        deidentify=deidentify,
        summary=summary,
        completeness=completeness,
    )


def sentence(result: ExportResult, folder: Path) -> str:
    """What was written, in one sentence (no patient data: counts and file names)."""
    files = ", ".join(p.name for p in result.files)
    patients = "1 patient" if result.patients == 1 else f"{result.patients:,} patients"
    text = f"Wrote {files} ({result.rows:,} rows for {patients}) in {folder}."
    warning = shared_folder_warning(folder)
    return f"{text} {warning}" if warning else text


def run_export(
    kind: str,
    target: ExportTarget,
    folder: Path,
    progress: Callable[[int], None] | None = None,
) -> str:
    result = write_export(target.scope, request_for(kind, target, folder), progress=progress)
    return sentence(result, folder)


__all__ = ["REQUESTS", "request_for", "run_export", "sentence"]
