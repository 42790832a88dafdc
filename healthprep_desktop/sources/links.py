"""Turning match results and stored decisions into the links a batch uses.

Pure logic over `LinkDecision` records; the encrypted store keeps the records per clinic and
audits each change. A person's decision always beats the matcher: a LINKED pair stays linked
whatever the scores do later, a REJECTED pair is never proposed again, and unlinking is
recording REJECTED (so the other source's evidence is gone at the next batch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from healthprep_desktop.sources.model import (
    LinkDecision,
    LinkState,
    MatchCandidate,
    Outcome,
)


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """For one clinic patient and one source: the linked remote id, and what to ask a person."""

    source_id: str
    local_id: str
    linked: str | None  # remote patient id whose chart is read, if any
    new_decision: LinkDecision | None  # an auto-link to store (and audit), if one was made
    to_confirm: tuple[MatchCandidate, ...]  # possible matches for the confirmation queue


def current(decisions: Iterable[LinkDecision]) -> dict[tuple[str, str, str], LinkDecision]:
    """The latest decision per (source, local, remote): later records replace earlier ones."""
    latest: dict[tuple[str, str, str], LinkDecision] = {}
    for decision in sorted(decisions, key=lambda d: d.decided_at):
        latest[decision.source_id, decision.local_id, decision.remote_id] = decision
    return latest


def rejected_remote_ids(
    decisions: Iterable[LinkDecision], source_id: str, local_id: str
) -> set[str]:
    return {
        remote
        for (source, local, remote), d in current(decisions).items()
        if source == source_id and local == local_id and d.state == LinkState.REJECTED
    }


def plan_link(
    source_id: str,
    local_id: str,
    candidates: Sequence[MatchCandidate],
    decisions: Iterable[LinkDecision],
    now: datetime,
) -> LinkPlan:
    """Combine stored decisions with this batch's match results (from matching.match_patient,
    called with `rejected=rejected_remote_ids(...)`)."""
    mine = {
        remote: d
        for (source, local, remote), d in current(decisions).items()
        if source == source_id and local == local_id
    }
    linked = sorted(r for r, d in mine.items() if d.state == LinkState.LINKED)
    if linked:
        return LinkPlan(source_id, local_id, linked[0], None, ())
    fresh = [c for c in candidates if c.remote_id not in mine]
    auto = next((c for c in fresh if c.outcome == Outcome.AUTO_LINK), None)
    if auto is not None:
        decision = LinkDecision(
            source_id=source_id,
            local_id=local_id,
            remote_id=auto.remote_id,
            state=LinkState.LINKED,
            decided_by="auto",
            decided_at=now,
            score=auto.score,
            reason=auto.reason,
        )
        others = tuple(c for c in fresh if c is not auto and c.outcome == Outcome.CONFIRM)
        return LinkPlan(source_id, local_id, auto.remote_id, decision, others)
    queue = tuple(c for c in fresh if c.outcome == Outcome.CONFIRM)
    return LinkPlan(source_id, local_id, None, None, queue)


def decide(
    candidate: MatchCandidate, *, accept: bool, by: str, now: datetime, reason: str = ""
) -> LinkDecision:
    """A person's answer in the confirmation queue (or an unlink: accept=False)."""
    return LinkDecision(
        source_id=candidate.source_id,
        local_id=candidate.local_id,
        remote_id=candidate.remote_id,
        state=LinkState.LINKED if accept else LinkState.REJECTED,
        decided_by=by,
        decided_at=now,
        score=candidate.score,
        reason=reason or ("confirmed" if accept else "not the same patient"),
    )


def unlink(decision: LinkDecision, *, by: str, now: datetime, reason: str = "") -> LinkDecision:
    """Reverse a link: the pair is rejected from now on (the old record stays for the audit)."""
    return LinkDecision(
        source_id=decision.source_id,
        local_id=decision.local_id,
        remote_id=decision.remote_id,
        state=LinkState.REJECTED,
        decided_by=by,
        decided_at=now,
        score=decision.score,
        reason=reason or "unlinked",
    )
