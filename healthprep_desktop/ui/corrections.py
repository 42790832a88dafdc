"""Corrections a user makes from the sheet viewer, recorded in the store and audited: dismiss a
document match (with a reason), undo a dismissal, and mark a screening "done elsewhere",
"declined" or "postponed until" (screening entries), or remove that mark.

Qt-free: the dialogs (correction_dialogs.py) and the viewer call these. Audit entries carry
references only (patient id, screening id, document reference), never the reason or note
(they may name people or conditions). The engine honours dismissals and entries on the next
screening of the patient (workers.job_steps.dismissed_pairs / user_entries).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date

from healthprep_desktop.store import AuditAction, EntryKind, Store, TenantScope
from healthprep_desktop.store.repos.screening_entries import ScreeningEntry

# Why a document match is wrong, in the words coordinators use; "Other" needs free text.
CANNED_REASONS = (
    "The document is about a different patient",
    "The test was ordered, planned or refused, not done",
    "The document mentions a different test or condition",
    "The date is wrong or outside the look-back period",
    "Family history or education text, not the patient's result",
)
OTHER_REASON = "Other (say why below)"

ENTRY_LABELS = {
    EntryKind.DONE_ELSEWHERE: "Done elsewhere",
    EntryKind.DECLINED: "Declined",
    EntryKind.POSTPONED: "Postpone until",
}


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def reason_text(canned: str, free_text: str) -> str:
    """The reason kept with a dismissal: the canned reason, plus the user's words if any."""
    canned = "" if canned == OTHER_REASON else canned.strip()
    free_text = free_text.strip()
    if canned and free_text:
        return f"{canned}: {free_text}"
    return canned or free_text


@dataclass(frozen=True, slots=True)
class StoredDocument:
    reference: str
    title: str
    day: str | None
    text: str


def find_document(scope: TenantScope, patient_id: str, reference: str) -> StoredDocument | None:
    """A document of the patient's last fetched chart, with its extracted text (offline)."""
    for connection in scope.connections.all():
        stored = scope.records.get(connection.id, patient_id)
        if stored is None:
            continue
        for doc in stored.record.get("documents") or []:
            if not isinstance(doc, dict) or doc.get("reference") != reference:
                continue
            text = scope.text_cache.get(str(doc.get("content_hash") or ""))
            if text is None:
                continue
            return StoredDocument(
                reference, str(doc.get("title") or reference), doc.get("date"), text
            )
    return None


def context_of(snippet: str, text: str, width: int = 240) -> str:
    """The matched sentence with some text either side (the snippet itself if not found)."""
    snippet = snippet.strip()
    if not snippet:
        return ""
    at = text.find(snippet)
    if at < 0:
        return snippet
    start = max(0, at - width)
    end = min(len(text), at + len(snippet) + width)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def dismiss_match(
    store: Store,
    scope: TenantScope,
    patient_id: str,
    screening_id: str,
    reference: str,
    *,
    reason: str,
    who: str | None = None,
    ehr_user: str | None = None,
) -> int:
    """Record the dismissal (who, when, why); returns its id for undo."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Say why the match is wrong.")
    with store.transaction():
        dismissal = scope.dismissals.dismiss(
            patient_id, screening_id, reference, reason=reason, dismissed_by=who or os_user()
        )
        scope.audit(
            AuditAction.DISMISS_MATCH,
            patient_id=patient_id,
            resource_ids=(reference,),
            detail=screening_id,
            ehr_user=ehr_user,
        )
    return dismissal.id


def undo_dismissal(
    store: Store,
    scope: TenantScope,
    patient_id: str,
    screening_id: str,
    reference: str,
    *,
    ehr_user: str | None = None,
) -> bool:
    found = [
        d
        for d in scope.dismissals.all(patient_id=patient_id, screening_id=screening_id)
        if d.evidence_reference == reference
    ]
    if not found:
        return False
    with store.transaction():
        for d in found:
            scope.dismissals.undo(d.id)
        scope.audit(
            AuditAction.DISMISS_MATCH,
            patient_id=patient_id,
            resource_ids=(reference,),
            detail=f"{screening_id}: dismissal undone",
            ehr_user=ehr_user,
        )
    return True


def entry_for(scope: TenantScope, patient_id: str, screening_id: str) -> ScreeningEntry | None:
    for entry in scope.entries.all(patient_id=patient_id):
        if entry.screening_id == screening_id:
            return entry
    return None


def set_entry(
    store: Store,
    scope: TenantScope,
    patient_id: str,
    screening_id: str,
    kind: EntryKind,
    *,
    on_date: date | None = None,
    until_date: date | None = None,
    note: str = "",
    who: str | None = None,
    ehr_user: str | None = None,
) -> ScreeningEntry:
    """Add or replace the patient's entry for the screening (ValueError: one plain sentence)."""
    with store.transaction():
        entry = scope.entries.put(
            patient_id,
            screening_id,
            kind,
            entered_by=who or ehr_user or os_user(),
            on_date=on_date,
            until_date=until_date,
            note=note.strip(),
        )
        scope.audit(
            AuditAction.SCREENING_ENTRY,
            patient_id=patient_id,
            resource_ids=(f"screening/{screening_id}", f"entry/{entry.id}"),
            detail=f"entry {entry.id} set: {kind.value}",
            ehr_user=ehr_user,
        )
    return entry


def remove_entry(
    store: Store,
    scope: TenantScope,
    patient_id: str,
    screening_id: str,
    *,
    ehr_user: str | None = None,
) -> bool:
    entry = entry_for(scope, patient_id, screening_id)
    if entry is None:
        return False
    with store.transaction():
        scope.entries.remove(entry.id)
        scope.audit(
            AuditAction.SCREENING_ENTRY,
            patient_id=patient_id,
            resource_ids=(f"screening/{screening_id}", f"entry/{entry.id}"),
            detail=f"entry {entry.id} removed",
            ehr_user=ehr_user,
        )
    return True
