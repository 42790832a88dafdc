"""Cross-source link decisions: append-only, latest per pair wins, queue answered, all audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from healthprep_desktop.sources.model import (
    FieldComparison,
    Level,
    LinkDecision,
    LinkState,
    MatchCandidate,
    Outcome,
)
from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.store.audit import AuditFilter

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def _auto(local: str, remote: str, at: datetime = T0) -> LinkDecision:
    return LinkDecision("stmarys", local, remote, LinkState.LINKED, "auto", at, 31.2, "Score 31")


def _possible(local: str, remote: str, score: float = 18.0) -> MatchCandidate:
    return MatchCandidate(
        "stmarys",
        local,
        remote,
        score,
        Outcome.CONFIRM,
        "Score 18.0 is between the thresholds; please confirm.",
        (FieldComparison("family", Level.FUZZY, 3.6),),
    )


def test_latest_decision_per_pair_wins_and_history_is_kept(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    scope.links.record(_auto("p1", "h9"))
    assert [d.remote_id for d in scope.links.linked("p1")] == ["h9"]
    undone = scope.links.unlink(scope.links.linked("p1")[0], by="jdoe")
    assert undone.state is LinkState.REJECTED
    assert scope.links.linked("p1") == []
    history = scope.links.decisions(local_id="p1")
    assert [d.state for d in history] == [LinkState.LINKED, LinkState.REJECTED]
    # A later link (a person changed their mind) wins again.
    scope.links.record(
        LinkDecision("stmarys", "p1", "h9", LinkState.LINKED, "jdoe", T0 + timedelta(days=400), 31)
    )
    assert [d.remote_id for d in scope.links.linked("p1")] == ["h9"]
    # Another clinic sees none of it.
    other = store.tenant(store.create_tenant("Other").id)
    assert other.links.decisions() == [] and other.links.linked() == []


def test_queue_holds_possible_matches_until_a_person_answers(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    assert scope.links.queue([_possible("p1", "h1"), _possible("p2", "h2", 14.0)]) == 2
    assert scope.links.queue([_possible("p1", "h1", 19.0)]) == 0  # re-queued: updated, not new
    waiting = scope.links.waiting()
    assert [(m.local_id, m.score) for m in waiting] == [("p1", 19.0), ("p2", 14.0)]
    assert waiting[0].fields == {"family": "fuzzy"}
    assert "please confirm" in waiting[0].reason

    linked = scope.links.answer(waiting[0].id, same_person=True, by="jdoe")
    rejected = scope.links.answer(waiting[1].id, same_person=False, by="jdoe")
    assert linked is not None and linked.state is LinkState.LINKED
    assert rejected is not None and rejected.state is LinkState.REJECTED
    assert scope.links.waiting() == []
    # An answered pair is not reopened by the next batch's matching.
    scope.links.queue([_possible("p2", "h2", 16.0)])
    assert scope.links.waiting() == []
    assert [d.remote_id for d in scope.links.linked()] == ["h1"]
    assert scope.links.answer(9999, same_person=True, by="jdoe") is None


def test_every_decision_is_audited_with_references_only(store: Store) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    scope.links.record(_auto("p1", "h9"))
    scope.links.unlink(scope.links.linked("p1")[0], by="jdoe", reason="wrong person")
    entries = scope.audit_entries(AuditFilter(actions=frozenset({AuditAction.PATIENT_LINK.value})))
    assert [(e.patient_id, e.resource_ids, e.ehr_user) for e in entries] == [
        ("p1", ("stmarys:Patient/h9",), None),
        ("p1", ("stmarys:Patient/h9",), "jdoe"),
    ]
    assert [e.detail for e in entries] == [
        "stmarys: linked (auto)",
        "stmarys: rejected (by a person)",
    ]
