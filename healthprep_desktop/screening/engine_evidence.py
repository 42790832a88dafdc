"""Evidence and status: each modality's qualifying events (coded facts and document keyword
hits), the next-due date they give, and the resulting status (steps 4-6 in engine.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from healthprep_desktop.screening import control, explain, rules_bp
from healthprep_desktop.screening import keywords as _keywords
from healthprep_desktop.screening.dates import (
    age_on,
    falls_out_of_window,
    flu_season_start,
    shift,
    window_start,
)
from healthprep_desktop.screening.engine_criteria import CriteriaEvaluation
from healthprep_desktop.screening.engine_state import (
    MEDICATION_TYPES,
    Event,
    KeywordHit,
    ModalityOutcome,
    Verdict,
)
from healthprep_desktop.screening.library import Modality, ScreeningType
from healthprep_desktop.screening.mentions import date_of_mention, reports_intent, sentence_bounds
from healthprep_desktop.screening.model import Evidence, Status
from healthprep_desktop.screening.record import DocumentText

_RESULTS = frozenset({"Observation", "DiagnosticReport"})  # where result_required applies


class EvidenceEvaluation(CriteriaEvaluation):
    """Qualifying events per modality, and the status and explanation they give."""

    def _status(self, rule: ScreeningType, group: str, dismissed_refs: list[str]) -> Verdict:
        outcomes = [self._modality(rule, m, group, dismissed_refs) for m in rule.modalities]
        due_soon = (
            self.due_soon_override
            if self.due_soon_override is not None
            else rule.due_soon_days
            if rule.due_soon_days is not None
            else self.lib.due_soon_days
        )
        with_events = [o for o in outcomes if o.events]
        evidence: list[Evidence] = []
        for o in with_events:
            evidence.extend(e.evidence() for e in o.events[: rule.max_evidence])
        findings = [(o, f) for o in with_events if (f := self._finding(o)) is not None]
        flags = [f.text for _o, f in findings if not f.at_goal]
        if rule.completion == "all":
            missing = [o.modality.name for o in outcomes if not o.events or o.partial]
            if missing:
                present = [o.latest.text() for o in with_events if o.latest is not None]
                lead = "; ".join(present)
                text = (
                    f"{lead}; no {explain.join_and(missing)} on record"
                    if lead
                    else (explain.never_done([explain.join_and([m.name for m in rule.modalities])]))
                )
                return Verdict(Status.DUE, text, None, evidence, flags=flags)
            deciding = min(outcomes, key=_due_order)
            events_text = "; ".join(o.latest.text() for o in outcomes if o.latest is not None)
            last_done = min(o.latest.day for o in outcomes if o.latest is not None)
        else:
            full = [o for o in with_events if not o.partial]
            if not full:
                partial = [o for o in with_events if o.partial]
                if partial:
                    o = partial[0]
                    doses = len({e.day for e in o.events})
                    days = ", ".join(sorted({e.day.isoformat() for e in o.events}))
                    text = f"{o.modality.name}: {doses} of {o.modality.doses} doses ({days})"
                    return Verdict(
                        Status.DUE, text, None, evidence, last_done=o.events[0].day, flags=flags
                    )
                names = [m.name for m in rule.modalities]
                return Verdict(Status.DUE, explain.never_done(names), None, evidence, flags=flags)
            deciding = max(full, key=_due_order)
            assert deciding.latest is not None
            events_text = deciding.latest.text()
            last_done = deciding.latest.day
            # The deciding modality's evidence first: the sheet shows the first item.
            evidence.sort(key=lambda e: e.description != deciding.modality.name)
        next_due = deciding.next_due
        if deciding.ongoing and rule.completion != "all":
            status, text = Status.COMPLETE, events_text
        elif next_due is None:
            status, text = Status.COMPLETE, explain.complete(events_text, None)
        elif next_due <= self.as_of and deciding.modality.season:
            # A new season asks for a new dose: Due (not Overdue) until it is given.
            status, text = Status.DUE, explain.new_season(events_text, next_due)
        elif next_due < self.as_of:
            status, text = Status.OVERDUE, explain.overdue(events_text, next_due)
        elif next_due == self.as_of:
            # The window ending today no longer holds the event: due now, not "soon".
            status, text = Status.DUE, explain.due_today(events_text, next_due)
        elif (next_due - self.as_of).days <= due_soon:
            status, text = Status.DUE_SOON, explain.due_soon(events_text, next_due, self.as_of)
        else:
            status, text = Status.COMPLETE, explain.complete(events_text, next_due)
        for o, finding in findings:
            if finding.at_goal:
                continue
            if status in (Status.COMPLETE, Status.DUE_SOON) and self._current(o, finding.day):
                status = Status.NOT_AT_GOAL
                text = explain.not_at_goal(finding.text, next_due, self.as_of)
                break
        else:
            if status in (Status.DUE, Status.OVERDUE) and any(
                o.modality.flag is not None for o in outcomes
            ):
                text = f"{text}; {explain.no_current_result()}"
        frequency = deciding.modality.frequency_text() if rule.completion != "all" else None
        return Verdict(status, text, None, evidence, last_done, next_due, flags, frequency)

    def _modality(
        self, rule: ScreeningType, m: Modality, group: str, dismissed_refs: list[str]
    ) -> ModalityOutcome:
        events: list[Event] = []
        if m.sets:
            events.extend(self._coded_events(m, group, dismissed_refs))
        if m.keywords:
            events.extend(self._document_events(m, group, dismissed_refs))
        events.sort(key=lambda e: (e.day, e.reference), reverse=True)
        outcome = ModalityOutcome(m, events)
        if not events:
            return outcome
        latest = events[0].day
        head = events[0].fact
        if head is not None and head.ongoing and head.resource_type in MEDICATION_TYPES:
            outcome.ongoing = True  # an active order: current, no repeat date
        elif m.season:
            # Next due when the season after the latest dose begins (Aug 1).
            outcome.next_due = shift(flu_season_start(latest), years=1)
        elif m.once:
            if len({e.day for e in events}) >= m.doses:
                outcome.satisfied_once = True
            else:
                outcome.partial = True
        else:
            assert m.every is not None
            outcome.next_due = falls_out_of_window(
                latest, years=m.every.years, months=m.every.months, days=m.every.days
            )
        return outcome

    def _current(self, outcome: ModalityOutcome, day: date) -> bool:
        """Whether a result of ``day`` lies inside the modality's window ending today."""
        every = outcome.modality.every
        if every is None:
            return True
        start = window_start(self.as_of, years=every.years, months=every.months, days=every.days)
        return start <= day <= self.as_of

    def _is_dismissed(self, group: str, rule_id: str, reference: str) -> bool:
        return (group, reference) in self.dismissed or (rule_id, reference) in self.dismissed

    def _coded_events(self, m: Modality, group: str, dismissed_refs: list[str]) -> list[Event]:
        keys = self.lib.keys_of(m.sets)
        value_keys = self.lib.keys_of(m.value_sets) if m.value_sets else None
        birth = self.facts.birth
        also_ok = True
        if m.also_requires:
            also_ok = any(
                self._status_ok(f, None) and f.day is not None and f.day <= self.as_of
                for f in self._candidates(m.also_requires)
            )
        if not also_ok:
            return []
        out: list[Event] = []
        stays = (
            rules_bp.acute_encounters(
                self.facts.encounters, m.exclude_encounter_classes, m.exclude_encounter_sets
            )
            if m.exclude_encounter_classes or m.exclude_encounter_sets
            else []
        )
        for fact in self._candidates(m.sets):
            if m.resources is not None and fact.resource_type not in m.resources:
                continue
            if stays and rules_bp.taken_during(fact, stays):
                continue
            if not self._status_ok(fact, m.statuses):
                continue
            if fact.ongoing and fact.resource_type in MEDICATION_TYPES:
                if fact.start is not None and fact.start > self.as_of:
                    continue
                day = self.as_of  # an active order: being taken now
            else:
                day_or_none = fact.day
                if day_or_none is None or day_or_none > self.as_of:
                    continue
                if fact.start is not None and fact.start > self.as_of:
                    continue
                day = day_or_none
            if m.result_required and fact.resource_type in _RESULTS and not fact.has_value:
                continue
            if value_keys is not None and not (fact.value_keys & value_keys):
                continue
            if (m.min_age_at_event is not None or m.max_age_at_event is not None) and birth:
                assert birth.start is not None and birth.end is not None
                youngest = age_on(birth.end, day)
                if m.min_age_at_event is not None and youngest < m.min_age_at_event:
                    continue
                if m.max_age_at_event is not None and age_on(birth.start, day) > m.max_age_at_event:
                    continue
            if self._is_dismissed(group, m.id, fact.reference):
                dismissed_refs.append(fact.reference)
                continue
            coding = fact.coding_in(keys)
            key = coding[0] if coding else None
            set_id = next(
                (sid for sid in m.sets if key is not None and key in self.lib.code_sets[sid].keys),
                None,
            )
            out.append(
                Event(
                    day,
                    m,
                    fact=fact,
                    key=key,
                    set_id=set_id,
                    display=(coding[1] if coding and coding[1] else m.name),
                )
            )
        if m.reading == "blood_pressure":
            # Only days with both a systolic and a diastolic value hold a blood pressure.
            days = rules_bp.readings(e.fact for e in out if e.fact is not None)
            out = [e for e in out if e.day in days]
        return out

    def _document_events(self, m: Modality, group: str, dismissed_refs: list[str]) -> list[Event]:
        out: list[Event] = []
        for index, doc in enumerate(self.documents):
            if doc.date is None or doc.date > self.as_of or not (doc.text or doc.title):
                continue
            cache_key = (index, m.keywords, m.keyword_threshold)
            hits = self._doc_hits.get(cache_key)
            if hits is None:
                hits = keyword_hits(doc, m.keywords, m.keyword_threshold)
                self._doc_hits[cache_key] = hits
            if not hits:
                continue
            if self._is_dismissed(group, m.id, doc.reference):
                dismissed_refs.append(doc.reference)
                continue
            # A sentence that dates the test ("Colonoscopy 2016-12-06: normal" in a summary
            # filed in 2026) dates the evidence; the latest such date counts. Without one the
            # document's own date does.
            stated = [h for h in hits if h.stated is not None]
            hit = max(stated, key=lambda h: (h.stated, h.confidence)) if stated else hits[0]
            out.append(
                Event(
                    hit.stated or doc.date,
                    m,
                    document=doc,
                    keyword=hit.keyword,
                    confidence=hit.confidence,
                    snippet=hit.snippet,
                    in_title=hit.in_title,
                )
            )
        return out

    def _finding(self, outcome: ModalityOutcome) -> control.Finding | None:
        """The control finding of an outcome measure's latest coded result (CMS122, CMS165)."""
        flag = outcome.modality.flag
        if flag is None:
            return None
        facts = [e.fact for e in outcome.events if e.fact is not None]
        return control.assess(flag, outcome.modality.name, facts)


def _due_order(o: ModalityOutcome) -> date:
    if o.satisfied_once or o.ongoing or (o.next_due is None and o.events):
        return date.max
    return o.next_due or date.min


def keyword_hits(doc: DocumentText, keywords: Sequence[str], threshold: float) -> list[KeywordHit]:
    """The hits that report the test as done (not referred, ordered or booked), best first."""
    out: list[KeywordHit] = []
    for h in _keywords.find_keyword_matches(doc, keywords, threshold=threshold):
        text = doc.title if h.in_title else doc.text
        lo, hi = sentence_bounds(text, h.start)
        sentence = text[lo:hi]
        if reports_intent(sentence):
            continue
        stated = date_of_mention(sentence, h.start - lo, not_after=doc.date)
        out.append(KeywordHit(h.keyword, h.confidence, h.in_title, h.snippet, stated))
    return out
