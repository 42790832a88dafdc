"""The audit trail as CSV, for compliance officers (the CLI's ``audit export`` and the viewer)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from healthprep_desktop.store.audit import AuditEntry

CSV_COLUMNS = (
    "seq",
    "time_utc",
    "os_user",
    "ehr_user",
    "tenant",
    "action",
    "patient",
    "resources",
    "outcome",
    "detail",
    "hash",
)


def write_audit_csv(path: Path, entries: Sequence[AuditEntry]) -> None:
    # Patient ids are identifiers: create the file readable by this user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            writer.writerow(
                [
                    e.seq,
                    e.at,
                    _cell(e.os_user),
                    _cell(e.ehr_user),
                    _cell(e.tenant_id),
                    e.action,
                    _cell(e.patient_id),
                    _cell(" ".join(e.resource_ids)),
                    e.outcome,
                    _cell(e.detail),
                    e.hash,
                ]
            )


def _cell(value: str | None) -> str:
    text = value or ""
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
