"""Screening results: the contract between the engine, the prep sheet, the store and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    COMPLETE = "complete"
    DUE_SOON = "due_soon"  # complete now, next due within the due-soon window
    DUE = "due"  # eligible and nothing current on record (or it falls due today)
    OVERDUE = "overdue"  # done before, but the next due date has passed
    # Done in time, but the latest result of an outcome measure is out of range (CMS165 blood
    # pressure at or above 140/90, CMS122 HbA1c above 9 %): an action item, never green.
    NOT_AT_GOAL = "not_at_goal"
    # A screening whose measure asks for a follow-up after an abnormal result (CMS2 depression,
    # CMS22 blood pressure, CMS69 BMI, CMS138 tobacco use) was positive and none is on record.
    FOLLOW_UP_NEEDED = "follow_up_needed"
    # The measures' denominator exceptions, read from the chart (a documented refusal or medical
    # reason) or entered by a user: not done, for a recorded reason.
    DECLINED = "declined"
    MEDICAL_REASON = "medical_reason"
    POSTPONED = "postponed"  # a user postponed it until a date (see ScreeningResult.entry)
    NOT_APPLICABLE = "not_applicable"  # excluded or not eligible; see ScreeningResult.reason
    INSUFFICIENT_DATA = "insufficient_data"  # a fact the rule needs is missing (e.g. birth date)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Status.COMPLETE: "Complete",
    Status.DUE_SOON: "Due Soon",
    Status.DUE: "Due",
    Status.OVERDUE: "Overdue",
    Status.NOT_AT_GOAL: "Not at goal",
    Status.FOLLOW_UP_NEEDED: "Follow-up needed",
    Status.DECLINED: "Declined",
    Status.MEDICAL_REASON: "Medical reason",
    Status.POSTPONED: "Postponed",
    Status.NOT_APPLICABLE: "Not applicable",
    Status.INSUFFICIENT_DATA: "Insufficient data",
}


class EvidenceKind(StrEnum):
    CODE = "code"  # a coded resource in a value set
    DOCUMENT = "document"  # a keyword matched in a document's text
    EXCLUSION = "exclusion"  # the fact that excluded the patient
    TRIGGER = "trigger"  # the condition that selected a variant


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: EvidenceKind
    reference: str  # "Procedure/abc", "DocumentReference/xyz"
    date: date | None
    description: str  # e.g. "Colonoscopy", "Bilateral mastectomy"
    system: str | None = None
    code: str | None = None
    value_set: str | None = None  # OID of the value set that matched
    keyword: str | None = None
    snippet: str | None = None  # text around a keyword hit (stays in the encrypted store)
    confidence: float | None = None
    in_title: bool = False


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    screening_id: str
    name: str
    status: Status
    explanation: str  # one line a coordinator understands
    variant_id: str | None = None
    reason: str | None = None  # why not applicable / insufficient data
    last_done: date | None = None
    next_due: date | None = None
    frequency: str | None = None  # "every 10 years", for the sheet's checklist
    evidence: tuple[Evidence, ...] = ()
    dismissed: tuple[str, ...] = field(default=())  # evidence references a user dismissed
    # Warnings about the latest result, e.g. "HbA1c 9.6 % on 2021-03-01 is above 9 %" (CMS122).
    # Added after the first release of this contract; defaults keep old callers working.
    flags: tuple[str, ...] = field(default=())
    # A user's entry behind the status ("declined; entered by jdoe on 2026-11-02"), shown on
    # the sheet so nobody mistakes it for chart data.
    entry: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for key in ("last_done", "next_due"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        data["evidence"] = [
            {
                **asdict(e),
                "kind": e.kind.value,
                "date": e.date.isoformat() if e.date else None,
            }
            for e in self.evidence
        ]
        data["dismissed"] = list(self.dismissed)
        data["flags"] = list(self.flags)
        return data
