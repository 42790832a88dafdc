"""The files a headless batch writes for the user: one PDF per patient and the day's PDF
(``--out``), and machine-readable results (``--json``).

Every folder the app creates is 0700 and every file 0600 (private_files.py); an existing folder
readable by other users gets a one-sentence warning. Writes are atomic: a full disk leaves the
older file or none, never half of one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from healthprep_desktop.screening.sheet_day import day_title, render_day_print
from healthprep_desktop.store import AuditAction, TenantScope
from healthprep_desktop.workers.private_files import (
    make_private_dir,
    shared_folder_warning,
    write_private_bytes,
    write_private_json,
)


def chosen_folder(folder: Path, say: Callable[[str], None]) -> None:
    """Make ``folder`` (private when new); warn once when it exists and others can look in."""
    existed = folder.exists()
    make_private_dir(folder)
    warning = shared_folder_warning(folder) if existed else None
    if warning:
        say(warning)


def newest_sheets(scope: TenantScope, summary: Any, patients: list[str]) -> list[int]:
    """A resumed or re-run job: the newest sheet per patient of this job's day, in job order."""
    newest: dict[str, int] = {}
    for known in scope.sheets.all(clinic_day=summary.clinic_day):
        newest[known.patient_id] = max(newest.get(known.patient_id, 0), known.id)
    return [newest[p] for p in patients if p in newest]


def write_pdfs(scope: TenantScope, summary: Any, wanted: list[int], out: Path) -> int:
    make_private_dir(out)  # normally made (and warned about) before the run: chosen_folder
    pdfs: list[bytes] = []
    for n, sheet_id in enumerate(wanted, start=1):
        sheet = scope.sheets.get(sheet_id)
        if sheet is None:
            continue
        # File names carry the order and the FHIR id, never the patient's name.
        write_private_bytes(out / f"{n:03d}-{sheet.info.patient_id}.pdf", sheet.pdf)
        pdfs.append(sheet.pdf)
    # The day print: huddle list per provider, then the sheets by provider and time, one
    # bookmark per patient (vector text: a few MB for a whole day).
    title = day_title(scope.tenant.name, summary.clinic_day)
    day = render_day_print(pdfs, title=title).pdf
    write_private_bytes(out / f"day-{summary.clinic_day.isoformat()}.pdf", day)
    scope.audit(
        AuditAction.EXPORT,
        resource_ids=tuple(f"sheet/{i}" for i in wanted),
        detail=f"job {summary.job_id}: {len(pdfs)} sheets exported as PDF files",
    )
    return len(pdfs)


def _evidence(e: dict[str, Any]) -> Any:
    """The evidence's reference; with several sources (issue 16) also where it came from:
    {"reference", "source", "also_in"?}."""
    if "source" not in e:
        return e.get("reference")
    item = {"reference": e.get("reference"), "source": e["source"]}
    if e.get("also_in"):
        item["also_in"] = e["also_in"]
    return item


def _screening(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r.get("screening_id"),
        "name": r.get("name"),
        "status": r.get("status"),
        "reason": r.get("reason"),
        "last_done": r.get("last_done"),
        "next_due": r.get("next_due"),
        "evidence": [_evidence(e) for e in r.get("evidence", [])],
        "explanation": r.get("explanation"),
        "flags": r.get("flags", []),
    }


def write_results_json(
    scope: TenantScope, summary: Any, wanted: list[int], path: Path, job_json: dict[str, Any]
) -> int:
    patients: list[dict[str, Any]] = []
    for sheet_id in wanted:
        info = scope.sheets.info(sheet_id)
        if info is None:
            continue
        envelope = info.results if isinstance(info.results, dict) else {}
        patients.append(
            {
                "patient_id": info.patient_id,
                "sheet_id": info.id,
                "as_of": envelope.get("as_of"),
                "summary": envelope.get("summary", {}),
                "screenings": [_screening(r) for r in envelope.get("results", [])],
            }
        )
    failures = [
        {"patient_id": pid, "reason": reason} for pid, reason in sorted(summary.failures.items())
    ]
    make_private_dir(path.parent)
    write_private_json(path, {"job": job_json, "patients": patients, "failures": failures})
    scope.audit(
        AuditAction.EXPORT,
        detail=f"job {summary.job_id}: results exported as JSON ({len(patients)})",
    )
    return len(patients)


__all__ = ["chosen_folder", "newest_sheets", "write_pdfs", "write_results_json"]
