"""Cross-source patient links of a clinic (issue 16): the decisions and the confirmation queue.

``patient_links`` is append-only: every decision about one (source, clinic patient, remote
patient) pair is a new row, and the latest per pair wins (sources.links.current), so an unlink
or a person's answer never erases what was decided before and the audit trail can be followed.
``link_candidates`` holds the possible matches waiting for a person ("open"), and what became of
them ("linked" or "rejected"). Every decision is audited with references only (the clinic
patient's id, the source id, the remote id): no names, no birth dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.sources import links
from healthprep_desktop.sources.model import (
    LinkDecision,
    LinkState,
    MatchCandidate,
    Outcome,
    PersonSummary,
)
from healthprep_desktop.store import clock, schema
from healthprep_desktop.store.audit import AuditAction
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.scoped import Row, ScopedTable

# TenantScope.audit(action, *, patient_id=..., resource_ids=..., detail=..., ehr_user=...)
AuditWriter = Callable[..., Any]

OPEN = "open"


@dataclass(frozen=True, slots=True)
class QueuedMatch:
    """A possible match waiting in (or answered from) the confirmation queue."""

    id: int
    source_id: str
    local_id: str
    remote_id: str
    score: float
    reason: str  # why it needs a person, one sentence
    fields: dict[str, str]  # field -> comparison level ("exact", "fuzzy", ...)
    state: str  # "open", "linked" or "rejected"
    created_at: str
    updated_at: str
    remote: PersonSummary = field(default_factory=PersonSummary)  # the other record, as text

    def candidate(self) -> MatchCandidate:
        return MatchCandidate(
            self.source_id,
            self.local_id,
            self.remote_id,
            self.score,
            Outcome.CONFIRM,
            self.reason,
            remote=self.remote,
        )


class PatientLinkRepository:
    def __init__(
        self, links: ScopedTable, candidates: ScopedTable, *, audit: AuditWriter | None = None
    ) -> None:
        self._links = links
        self._candidates = candidates
        self._audit = audit

    @classmethod
    def of(
        cls, table: Callable[[schema.TableSpec], ScopedTable], *, audit: AuditWriter | None = None
    ) -> PatientLinkRepository:
        """Over a tenant's two link tables (``table`` binds a spec to the tenant)."""
        return cls(table(schema.PATIENT_LINKS), table(schema.LINK_CANDIDATES), audit=audit)

    # --- decisions ---------------------------------------------------------------------------

    def record(self, decision: LinkDecision) -> int:
        """Append one decision (the latest per pair wins), close its queue entry, and audit."""
        now = clock.now_text()
        with self._links.transaction():
            row_id = self._links.insert(
                {
                    "source_id": decision.source_id,
                    "local_id": decision.local_id,
                    "remote_id": decision.remote_id,
                    "state": decision.state.value,
                    "decided_by": decision.decided_by,
                    "decided_at": clock.to_text(decision.decided_at),
                    "score": float(decision.score),
                    "reason": decision.reason[:200],
                }
            )
            self._candidates.update(
                {
                    "source_id": decision.source_id,
                    "local_id": decision.local_id,
                    "remote_id": decision.remote_id,
                },
                {"state": decision.state.value, "updated_at": now},
            )
            if self._audit is not None:
                self._audit(
                    AuditAction.PATIENT_LINK,
                    patient_id=decision.local_id,
                    resource_ids=(f"{decision.source_id}:Patient/{decision.remote_id}",),
                    detail=f"{decision.source_id}: {decision.state.value} "
                    f"({'auto' if decision.decided_by == 'auto' else 'by a person'})",
                    ehr_user=None if decision.decided_by == "auto" else decision.decided_by,
                )
        return row_id

    def decisions(
        self, *, local_id: str | None = None, source_id: str | None = None
    ) -> list[LinkDecision]:
        """Every stored decision (oldest first), for one patient and/or source if given."""
        where: dict[str, str] = {}
        if local_id is not None:
            where["local_id"] = local_id
        if source_id is not None:
            where["source_id"] = source_id
        return [_decision(r) for r in self._links.select(where, order_by=("id",))]

    def current(self, *, local_id: str | None = None) -> list[LinkDecision]:
        """The standing decision per pair (the latest), newest first."""
        latest = links.current(self.decisions(local_id=local_id)).values()
        return sorted(latest, key=lambda d: d.decided_at, reverse=True)

    def linked(self, local_id: str | None = None) -> list[LinkDecision]:
        """Pairs linked now (for one clinic patient if given)."""
        return [d for d in self.current(local_id=local_id) if d.state is LinkState.LINKED]

    def unlink(self, decision: LinkDecision, *, by: str, reason: str = "") -> LinkDecision:
        """Reverse a link: the pair is rejected from now on; its evidence is gone at the next
        batch (the old decision stays, for the audit)."""
        undone = links.unlink(decision, by=by, now=clock.utc_now(), reason=reason)
        self.record(undone)
        return undone

    # --- the confirmation queue --------------------------------------------------------------

    def queue(self, candidates: Iterable[MatchCandidate]) -> int:
        """Put possible matches in the queue (an open one gets the new score and reason; one a
        person answered stays answered). Returns how many were new."""
        added = 0
        now = clock.now_text()
        with self._candidates.transaction():
            for c in candidates:
                key = {"source_id": c.source_id, "local_id": c.local_id, "remote_id": c.remote_id}
                detail = _json.dump(
                    {
                        "reason": c.reason,
                        "fields": {f.field: f.level.value for f in c.fields},
                        # The other record's demographics, for a side-by-side comparison: the
                        # store is encrypted; the audit below never sees them.
                        "remote": c.remote.as_dict(),
                    }
                )
                found = self._candidates.select_one(key, columns=("id", "state"))
                if found is None:
                    self._candidates.insert(
                        {
                            **key,
                            "score": float(c.score),
                            "detail": detail,
                            "state": OPEN,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    added += 1
                elif found["state"] == OPEN:
                    self._candidates.update(
                        {"id": found["id"]},
                        {"score": float(c.score), "detail": detail, "updated_at": now},
                    )
        return added

    def waiting(self) -> list[QueuedMatch]:
        """Open possible matches, best score first."""
        rows = self._candidates.select({"state": OPEN}, order_by=("-score", "id"))
        return [_queued(r) for r in rows]

    def queued(self, match_id: int) -> QueuedMatch | None:
        row = self._candidates.select_one({"id": match_id})
        return _queued(row) if row else None

    def answer(self, match_id: int, *, same_person: bool, by: str) -> LinkDecision | None:
        """A person's answer to a queued possible match: link, or "not the same person"."""
        match = self.queued(match_id)
        if match is None:
            return None
        decision = links.decide(match.candidate(), accept=same_person, by=by, now=clock.utc_now())
        self.record(decision)
        return decision


def _decision(row: Row) -> LinkDecision:
    return LinkDecision(
        source_id=row["source_id"],
        local_id=row["local_id"],
        remote_id=row["remote_id"],
        state=LinkState(row["state"]),
        decided_by=row["decided_by"],
        decided_at=clock.from_text(row["decided_at"]),
        score=float(row["score"]),
        reason=row["reason"],
    )


def _queued(row: Row) -> QueuedMatch:
    detail = _json.load(row["detail"])
    return QueuedMatch(
        id=int(row["id"]),
        source_id=row["source_id"],
        local_id=row["local_id"],
        remote_id=row["remote_id"],
        score=float(row["score"]),
        reason=str(detail.get("reason", "")),
        fields={str(k): str(v) for k, v in (detail.get("fields") or {}).items()},
        state=row["state"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        remote=PersonSummary.from_dict(detail.get("remote")),
    )
