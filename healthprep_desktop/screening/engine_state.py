"""The evaluation's shared state and the values its steps pass: qualifying events, modality
outcomes, verdicts and keyword hits (see engine.py for the order of decisions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from healthprep_desktop.screening import explain
from healthprep_desktop.screening.facts import Fact, PatientFacts
from healthprep_desktop.screening.library import Key, Library, Modality
from healthprep_desktop.screening.model import Evidence, EvidenceKind, Status
from healthprep_desktop.screening.record import DocumentText

MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})


@dataclass(slots=True)
class Event:
    """One qualifying occurrence of a modality: a coded fact or a document hit."""

    day: date
    modality: Modality
    fact: Fact | None = None
    key: Key | None = None
    set_id: str | None = None
    display: str = ""
    document: DocumentText | None = None
    keyword: str = ""
    confidence: float = 0.0
    snippet: str = ""
    in_title: bool = False

    @property
    def reference(self) -> str:
        if self.fact is not None:
            return self.fact.reference
        assert self.document is not None
        return self.document.reference

    def text(self) -> str:
        if self.document is not None:
            return explain.document_event(
                self.modality.name, self.day, self.keyword, self.confidence
            )
        system, code = self.key if self.key else (None, None)
        if (
            self.fact is not None
            and self.fact.ongoing
            and self.fact.resource_type in MEDICATION_TYPES
        ):
            start = self.fact.start
            since = f" since {start.isoformat()}" if start else ""
            return f"{self.modality.name} (active order{since}, {explain.code_text(system, code)})"
        return explain.coded_event(self.modality.name, self.day, system, code)

    def evidence(self) -> Evidence:
        if self.document is not None:
            return Evidence(
                kind=EvidenceKind.DOCUMENT,
                reference=self.document.reference,
                date=self.day,
                description=self.modality.name,
                keyword=self.keyword,
                snippet=self.snippet,
                confidence=self.confidence,
                in_title=self.in_title,
            )
        assert self.fact is not None
        return fact_evidence(
            EvidenceKind.CODE,
            self.fact,
            self.display or self.modality.name,
            self.key,
            self.set_id,
            self.day,
        )


@dataclass(slots=True)
class ModalityOutcome:
    modality: Modality
    events: list[Event]  # qualifying, newest first
    next_due: date | None = None  # None with a satisfied once-only modality
    satisfied_once: bool = False
    partial: bool = False  # some but not all doses
    ongoing: bool = False  # an active medication order: current until stopped

    @property
    def latest(self) -> Event | None:
        return self.events[0] if self.events else None


@dataclass(slots=True)
class Verdict:
    status: Status
    explanation: str
    reason: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    last_done: date | None = None
    next_due: date | None = None
    flags: list[str] = field(default_factory=list)
    frequency: str | None = None  # of the modality that decided, when several could


def fact_evidence(
    kind: EvidenceKind,
    fact: Fact,
    description: str,
    key: Key | None,
    set_id: str | None,
    day: date | None,
) -> Evidence:
    return Evidence(
        kind=kind,
        reference=fact.reference,
        date=day,
        description=description,
        system=key[0] if key else None,
        code=key[1] if key else None,
        value_set=set_id,
    )


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """A keyword hit that reports a test done, with the date its sentence states (if any)."""

    keyword: str
    confidence: float
    in_title: bool
    snippet: str
    stated: date | None


class EvaluationState:
    """What every evaluation step reads: the library, the chart's facts and documents, the
    as-of date, the user's dismissals, and caches; plus the two early-exit verdicts."""

    def __init__(
        self,
        library: Library,
        facts: PatientFacts,
        documents: Sequence[DocumentText],
        as_of: date,
        dismissed: frozenset[tuple[str, str]],
        due_soon_days: int | None,
    ) -> None:
        self.lib = library
        self.facts = facts
        self.documents = documents
        self.as_of = as_of
        self.dismissed = dismissed
        self.due_soon_override = due_soon_days
        self._doc_hits: dict[tuple[int, tuple[str, ...], float], list[KeywordHit]] = {}

    def _na(self, reason: str, evidence: list[Evidence] | None = None) -> Verdict:
        return Verdict(
            Status.NOT_APPLICABLE, explain.not_applicable(reason), reason, evidence or []
        )

    def _insufficient(self, reason: str, evidence: list[Evidence] | None = None) -> Verdict:
        return Verdict(
            Status.INSUFFICIENT_DATA, explain.insufficient(reason), reason, evidence or []
        )

    _gate_evidence: list[Evidence]
