"""Link decisions: auto-links recorded, people's decisions win, unlinking is reversible."""

from __future__ import annotations

from datetime import datetime, timedelta

from healthprep_desktop.sources.links import (
    decide,
    plan_link,
    rejected_remote_ids,
    unlink,
)
from healthprep_desktop.sources.matching import match_patient
from healthprep_desktop.sources.model import LinkState, Outcome
from tests.sources.patients import demo

T0 = datetime(2026, 12, 1, 7, 0)
CLINIC = demo("pat-1")
COPY = demo("H1")
TWIN = demo("H2", given="Chidinma", phone=None)


def test_auto_link_is_recorded_and_lesser_matches_queued() -> None:
    found = match_patient(CLINIC, [COPY, TWIN], "hosp")
    plan = plan_link("hosp", "pat-1", found, [], T0)
    assert plan.linked == "H1"
    assert plan.new_decision is not None
    assert plan.new_decision.state == LinkState.LINKED and plan.new_decision.decided_by == "auto"
    assert [c.remote_id for c in plan.to_confirm] == ["H2"]


def test_possible_match_waits_for_a_person_then_their_answer_holds() -> None:
    found = match_patient(CLINIC, [TWIN], "hosp")
    assert [c.outcome for c in found] == [Outcome.CONFIRM]
    plan = plan_link("hosp", "pat-1", found, [], T0)
    assert plan.linked is None and plan.new_decision is None
    assert [c.remote_id for c in plan.to_confirm] == ["H2"]
    yes = decide(found[0], accept=True, by="dr.lee", now=T0)
    plan = plan_link("hosp", "pat-1", found, [yes], T0 + timedelta(days=1))
    assert plan.linked == "H2" and plan.to_confirm == ()


def test_unlinking_removes_the_link_and_the_pair_is_never_proposed_again() -> None:
    found = match_patient(CLINIC, [COPY], "hosp")
    first = plan_link("hosp", "pat-1", found, [], T0)
    assert first.new_decision is not None
    undo = unlink(first.new_decision, by="dr.lee", now=T0 + timedelta(hours=1))
    history = [first.new_decision, undo]
    rejected = rejected_remote_ids(history, "hosp", "pat-1")
    assert rejected == {"H1"}
    again = match_patient(CLINIC, [COPY], "hosp", rejected=rejected)
    plan = plan_link("hosp", "pat-1", again, history, T0 + timedelta(days=1))
    assert plan.linked is None and plan.to_confirm == ()
    # Even if the matcher were called without the rejection list, the record wins.
    plan = plan_link("hosp", "pat-1", found, history, T0 + timedelta(days=1))
    assert plan.linked is None and plan.new_decision is None


def test_relinking_after_an_unlink_uses_the_latest_decision() -> None:
    found = match_patient(CLINIC, [COPY], "hosp")
    linked = decide(found[0], accept=True, by="a", now=T0)
    rejected = unlink(linked, by="b", now=T0 + timedelta(hours=1))
    relinked = decide(found[0], accept=True, by="c", now=T0 + timedelta(hours=2))
    # Order of the records as stored does not matter, only their time.
    plan = plan_link("hosp", "pat-1", [], [relinked, linked, rejected], T0 + timedelta(days=1))
    assert plan.linked == "H1"


def test_decisions_of_other_patients_and_sources_are_ignored() -> None:
    found = match_patient(CLINIC, [COPY], "hosp")
    other = decide(found[0], accept=False, by="a", now=T0)
    elsewhere = plan_link("iis", "pat-1", found, [other], T0)
    assert elsewhere.linked == "H1"
