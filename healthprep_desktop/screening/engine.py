"""Rule evaluation: a patient record and an as-of date give one result per screening.

Order of decisions for each screening group (the library's variants of one screening):

1. **Variant**: the most specific variant whose trigger conditions the chart meets (diabetes
   HbA1c monitoring over prediabetes monitoring over plain screening), even when its age range
   then rules the patient out (the measures exclude the trigger from the general screening).
   If none is met, the least specific variant reports "Not applicable: no <trigger> on record".
2. **Not applicable** when the patient is deceased, the sex does not match (us-core-sex, else
   Patient.gender, else us-core-birthsex: see facts.patient_sexes), the age on the rule's age
   day is outside the range, or an exclusion matches (the reason names the fact and its date).
3. **Insufficient data** when a needed fact is missing: no birth date, no sex for a sex-specific
   rule, a birth date too imprecise for the age limits, or a risk fact (smoking history,
   pack-years, BMI) the rule's gate needs.
4. **Evidence**: each modality's qualifying events (coded resources in its value sets, passing
   status / result / value / age-at-event filters, or document keyword hits at or above the
   threshold that do not speak of a referral, order or booking (see mentions), dated by the
   date their sentence states, else by the document; minus what the user dismissed). Undated
   events never count. The modality giving the latest next-due date wins
   ("any"), or all modalities are needed and the earliest next-due date counts ("all").
5. **Status** from the next-due date: Complete; Due Soon when it falls 1 to ``due_soon_days``
   days after the as-of date; Due when it is the as-of day itself, or when nothing qualifying
   is on record; Overdue once it has passed. A seasonal vaccine whose new season has begun
   without a dose is Due, not Overdue: each season asks for a new dose.
6. **Control** (see control.py): a modality with a flag is an outcome measure; when its latest
   result inside the window is out of range (CMS165 blood pressure, CMS122 HbA1c) a screening
   that would be Complete or Due Soon is Not at goal instead.

Windows end on the as-of date and start the day after it minus their length, as CQL measure
intervals do (see dates.window_start): with a 10-year frequency a colonoscopy exactly 10 years
before the as-of date is outside the window (next due that day: Due); one day later it is
still current (Due Soon). Exclusion look-backs and "recent" windows follow the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from healthprep_desktop.screening import control, explain, rules_bp
from healthprep_desktop.screening import keywords as _keywords
from healthprep_desktop.screening.dates import (
    age_on,
    age_range_on,
    end_of_year,
    falls_out_of_window,
    flu_season_start,
    shift,
    start_of_year,
    window_start,
)
from healthprep_desktop.screening.facts import CodeResolver, Fact, PatientFacts, collect_facts
from healthprep_desktop.screening.library import (
    Criterion,
    Gate,
    Key,
    Library,
    Modality,
    ScreeningType,
    Span,
    default_library,
)
from healthprep_desktop.screening.mentions import date_of_mention, reports_intent, sentence_bounds
from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.record import DocumentText, PatientRecord

# Status.cql: what counts as done, per resource type. "entered-in-error" never becomes a fact.
DEFAULT_STATUSES: dict[str, frozenset[str]] = {
    "Observation": frozenset({"final", "amended", "corrected"}),
    "DiagnosticReport": frozenset({"final", "amended", "corrected", "appended"}),
    "Procedure": frozenset({"completed"}),
    "Immunization": frozenset({"completed"}),
    "Encounter": frozenset({"finished", "completed"}),  # R5 renamed finished to completed
    "MedicationRequest": frozenset({"active", "completed"}),
    "MedicationStatement": frozenset({"active", "completed"}),
    "ServiceRequest": frozenset({"active", "completed"}),
    "DeviceRequest": frozenset({"active", "completed"}),
    "ImagingStudy": frozenset({"available"}),
}
ORDER_INTENTS = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
)
_REQUESTS = frozenset({"MedicationRequest", "ServiceRequest", "DeviceRequest"})
_MEDICATIONS = frozenset({"MedicationRequest", "MedicationStatement"})
_RESULTS = frozenset({"Observation", "DiagnosticReport"})  # where result_required applies


def evaluate(
    record: PatientRecord,
    as_of: date,
    library: Library | None = None,
    *,
    due_soon_days: int | None = None,
    dismissed: Iterable[tuple[str, str]] = (),
    tz: tzinfo | str | None = None,
) -> list[ScreeningResult]:
    """One result per screening group of ``library`` (the default library when None).

    ``due_soon_days`` overrides the library's window (settings); ``dismissed`` holds
    (screening id, evidence reference) pairs a user rejected; ``tz`` is the clinic's time zone
    for converting timestamps to local dates (None: the date as written in the source).
    """
    lib = library if library is not None else default_library()
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    facts = collect_facts(record, _resolver(lib), zone, as_of=as_of)
    ctx = _Context(lib, facts, record.documents, as_of, frozenset(dismissed), due_soon_days)
    return [ctx.evaluate_group(group, rules) for group, rules in lib.groups()]


# --- internals -------------------------------------------------------------------------------

_RESOLVERS: dict[int, tuple[Library, CodeResolver]] = {}


def _resolver(lib: Library) -> CodeResolver:
    """One memoising code resolver per library object (kept alive with it)."""
    entry = _RESOLVERS.get(id(lib))
    if entry is None or entry[0] is not lib:
        if len(_RESOLVERS) > 16:
            _RESOLVERS.clear()
        entry = _RESOLVERS[id(lib)] = (lib, CodeResolver(lib.code_index))
    return entry[1]


@dataclass(slots=True)
class _Event:
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
        if self.fact is not None and self.fact.ongoing and self.fact.resource_type in _MEDICATIONS:
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
        return _fact_evidence(
            EvidenceKind.CODE,
            self.fact,
            self.display or self.modality.name,
            self.key,
            self.set_id,
            self.day,
        )


@dataclass(slots=True)
class _ModalityOutcome:
    modality: Modality
    events: list[_Event]  # qualifying, newest first
    next_due: date | None = None  # None with a satisfied once-only modality
    satisfied_once: bool = False
    partial: bool = False  # some but not all doses
    ongoing: bool = False  # an active medication order: current until stopped

    @property
    def latest(self) -> _Event | None:
        return self.events[0] if self.events else None


@dataclass(slots=True)
class _Verdict:
    status: Status
    explanation: str
    reason: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    last_done: date | None = None
    next_due: date | None = None
    flags: list[str] = field(default_factory=list)
    frequency: str | None = None  # of the modality that decided, when several could


def _fact_evidence(
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


class _Context:
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
        self._doc_hits: dict[tuple[int, tuple[str, ...], float], list[_Hit]] = {}

    # -- groups and variants ------------------------------------------------------------------

    def evaluate_group(self, group: str, rules: list[ScreeningType]) -> ScreeningResult:
        chosen, trigger_facts = self._choose_variant(rules)
        dismissed_refs: list[str] = []
        verdict = self._evaluate(chosen, group, trigger_facts, dismissed_refs)
        trigger_evidence = [
            _fact_evidence(
                EvidenceKind.TRIGGER,
                f,
                label,
                f.codings[0][0] if f.codings else None,
                None,
                f.start,
            )
            for label, facts in trigger_facts
            for f in facts[:1]
        ]
        return ScreeningResult(
            screening_id=group,
            name=chosen.name,
            status=verdict.status,
            explanation=verdict.explanation,
            variant_id=chosen.id if len(rules) > 1 else None,
            reason=verdict.reason,
            last_done=verdict.last_done,
            next_due=verdict.next_due,
            frequency=verdict.frequency or chosen.frequency,
            evidence=tuple(trigger_evidence + verdict.evidence),
            dismissed=tuple(dict.fromkeys(dismissed_refs)),
            flags=tuple(verdict.flags),
        )

    def _choose_variant(
        self, rules: list[ScreeningType]
    ) -> tuple[ScreeningType, list[tuple[str, list[Fact]]]]:
        """The most specific variant whose triggers the chart meets (else the least specific).

        A triggered variant the patient is too old or young for does not give way to a less
        specific one: the measures exclude the condition from the general screening (CMS22
        excludes hypertension; CMS165 stops at 85), so a hypertensive 88-year-old is not
        eligible for either, and the triggered variant says why.
        """
        for rule in rules:
            if not rule.triggers:
                return rule, []
            matched = self._triggers(rule)
            if matched:
                return rule, matched
        return rules[-1], []

    def _age_day(self, rule: ScreeningType) -> date:
        if rule.age.on == "end_of_year":
            return end_of_year(self.as_of)
        if rule.age.on == "start_of_year":
            return start_of_year(self.as_of)
        return self.as_of

    def _age_bounds(self, rule: ScreeningType) -> tuple[int, int] | None:
        birth = self.facts.birth
        if birth is None or birth.start is None or birth.end is None:
            return None
        return age_range_on(birth, self._age_day(rule))

    def _triggers(self, rule: ScreeningType) -> list[tuple[str, list[Fact]]]:
        ages = self._age_bounds(rule)
        for crit in rule.triggers:
            facts, label = self._match(crit, ages)
            if facts:
                return [(label, facts)]
        return []

    # -- one rule -----------------------------------------------------------------------------

    def _evaluate(
        self,
        rule: ScreeningType,
        group: str,
        trigger_facts: list[tuple[str, list[Fact]]],
        dismissed_refs: list[str],
    ) -> _Verdict:
        f = self.facts
        if f.deceased and (f.deceased_on is None or f.deceased_on <= self.as_of):
            return self._na("patient is deceased")
        if rule.sex is not None:
            if not f.sexes:
                return self._insufficient(f"sex not recorded ({rule.sex}-specific screening)")
            if rule.sex not in f.sexes:
                return self._na(f"not eligible: {rule.sex} only")
        ages: tuple[int, int] | None = None
        if rule.age.min is not None or rule.age.max is not None:
            ages = self._age_bounds(rule)
            if ages is None:
                return self._insufficient("birth date missing")
            youngest, oldest = ages
            lo, hi = rule.age.min, rule.age.max
            too_young = lo is not None and oldest < lo
            too_old = hi is not None and youngest > hi
            if too_young or too_old:
                age_text = str(youngest) if youngest == oldest else f"{youngest}-{oldest}"
                return self._na(f"not eligible: age {age_text} (eligible {rule.age.text()})")
            if (lo is not None and youngest < lo) or (hi is not None and oldest > hi):
                return self._insufficient("birth date too imprecise for the age limits")
        else:
            ages = self._age_bounds(rule)
        if rule.triggers and not trigger_facts:
            label = rule.trigger_label or rule.triggers[0].label
            return self._na(f"not eligible: no {label} on record")
        for crit in rule.exclusions:
            matched, label = self._match(crit, ages)
            if matched:
                fact = matched[0]
                when = fact.start or fact.day
                when_text = f", {when.isoformat()}" if when else ""
                reason = f"excluded: {label} ({fact.resource_type}{when_text})"
                ev = _fact_evidence(
                    EvidenceKind.EXCLUSION,
                    fact,
                    label,
                    fact.codings[0][0] if fact.codings else None,
                    None,
                    when,
                )
                return self._na(reason, [ev])
        gate_evidence: list[Evidence] = []
        if rule.gate is not None:
            gate = self._gate(rule.gate)
            if gate is not None:
                return gate
            gate_evidence = self._gate_evidence
        verdict = self._status(rule, group, dismissed_refs)
        verdict.evidence = gate_evidence + verdict.evidence
        return verdict

    def _na(self, reason: str, evidence: list[Evidence] | None = None) -> _Verdict:
        return _Verdict(
            Status.NOT_APPLICABLE, explain.not_applicable(reason), reason, evidence or []
        )

    def _insufficient(self, reason: str, evidence: list[Evidence] | None = None) -> _Verdict:
        return _Verdict(
            Status.INSUFFICIENT_DATA, explain.insufficient(reason), reason, evidence or []
        )

    # -- criteria -----------------------------------------------------------------------------

    def _status_ok(self, fact: Fact, statuses: frozenset[str] | None) -> bool:
        allowed = statuses if statuses is not None else DEFAULT_STATUSES.get(fact.resource_type)
        if allowed is not None and fact.status and fact.status not in allowed:
            return False
        return not (
            fact.resource_type in _REQUESTS and fact.intent and fact.intent not in ORDER_INTENTS
        )

    def _candidates(self, set_ids: Sequence[str]) -> list[Fact]:
        by_set = self.facts.by_set
        if len(set_ids) == 1:
            return by_set.get(set_ids[0], [])
        seen: dict[int, Fact] = {}
        for sid in set_ids:
            for fact in by_set.get(sid, ()):
                seen.setdefault(id(fact), fact)
        return list(seen.values())

    def _in_window(self, fact: Fact, window: Span | None, timing: str) -> bool:
        span = fact.span
        as_of = self.as_of
        if span is None:
            # Undated: CQL's "ends on or before" / "during" are null for a null interval, so an
            # undated procedure, encounter or result never meets a criterion (an undated
            # Condition still has a span: its prevalence starts at an unknown, early time).
            return False
        if span.start is not None and span.start > as_of:
            return False  # not yet happened on the as-of date
        if window is None:
            return timing != "ends" or (span.latest is None or span.latest <= as_of)
        ws = window_start(as_of, years=window.years, months=window.months, days=window.days)
        if timing == "starts":
            return span.start is not None and ws <= span.start <= as_of
        if timing == "ends":
            last = span.latest
            return last is not None and ws <= last <= as_of
        return span.end is None or span.end >= ws

    def _match(self, crit: Criterion, ages: tuple[int, int] | None) -> tuple[list[Fact], str]:
        """The facts meeting a criterion, newest first, and the label of the part that matched
        (a leaf's label, or an all_of's own label); no facts when it is not met."""
        if crit.min_age is not None and (ages is None or ages[0] < crit.min_age):
            return [], crit.label
        if crit.all_of:
            out: list[Fact] = []
            for child in crit.all_of:
                got, _label = self._match(child, ages)
                if not got:
                    return [], crit.label
                out.extend(got)
            return out, crit.label
        if crit.any_of:
            for child in crit.any_of:
                got, label = self._match(child, ages)
                if got:
                    return got, label
            return [], crit.label
        facts = [
            f
            for f in self._candidates(crit.sets)
            if (crit.resources is None or f.resource_type in crit.resources)
            and self._status_ok(f, crit.statuses)
            and self._in_window(f, crit.window, crit.timing)
        ]
        if crit.latest_only and facts:
            facts = [max(facts, key=lambda x: (x.day or date.min, x.reference))]
        if crit.value_sets:
            keys = self.lib.keys_of(crit.value_sets)
            facts = [f for f in facts if f.value_keys & keys]
        if crit.body_sites:
            facts = [f for f in facts if f.body_sites & crit.body_sites]
        if crit.min_value is not None:
            facts = [f for f in facts if _at_least(f, crit.min_value, crit.unit)]
        if crit.discharge_sets:
            keys = self.lib.keys_of(crit.discharge_sets)
            facts = [f for f in facts if f.discharge_keys & keys]
        if crit.min_count > 1:
            days = {f.day for f in facts if f.day is not None}
            if len(days) < crit.min_count:
                return [], crit.label
        facts.sort(key=lambda x: (x.day or date.min, x.reference), reverse=True)
        return facts, crit.label

    # -- gates (risk facts) -------------------------------------------------------------------

    _gate_evidence: list[Evidence]

    def _observations(self, set_ids: Sequence[str]) -> list[Fact]:
        """Final observations in the sets, dated on or before the as-of date, newest first."""
        out = [
            f
            for f in self._candidates(set_ids)
            if f.resource_type == "Observation"
            and self._status_ok(f, None)
            and f.day is not None
            and f.day <= self.as_of
        ]
        out.sort(key=lambda x: (x.day or date.min, x.reference), reverse=True)
        return out

    def _gate(self, gate: Gate) -> _Verdict | None:
        """None when the gate passes; else Not applicable or Insufficient data."""
        self._gate_evidence = []
        p = gate.params
        if gate.kind == "bmi":
            return self._bmi_gate(p)
        return self._smoking_gate(p)

    def _note(self, fact: Fact, label: str) -> None:
        key = fact.codings[0][0] if fact.codings else None
        self._gate_evidence.append(
            _fact_evidence(EvidenceKind.TRIGGER, fact, label, key, None, fact.day)
        )

    def _bmi_gate(self, params: Mapping[str, Any]) -> _Verdict | None:
        minimum = float(params.get("min", 25))
        readings = [
            f
            for f in self._observations(tuple(params.get("bmi_sets", ())))
            if f.value_number is not None
        ]
        if readings:
            latest = readings[0]
            value = latest.value_number
            assert value is not None and latest.day is not None
            self._note(latest, f"BMI {value:g}")
            if value >= minimum:
                return None
            return self._na(
                f"not eligible: BMI {value:g} on {latest.day.isoformat()} (below {minimum:g})"
            )
        conditions = [
            f
            for f in self._candidates(tuple(params.get("condition_sets", ())))
            if f.resource_type == "Condition" and self._in_window(f, None, "overlaps") and f.ongoing
        ]
        if conditions:
            self._note(conditions[0], "Overweight or obesity diagnosis")
            return None
        return self._insufficient("no BMI on record (the screening is for BMI 25 or more)")

    def _smoking_gate(self, params: Mapping[str, Any]) -> _Verdict | None:
        statuses = [
            f for f in self._observations(tuple(params.get("status_sets", ()))) if f.value_keys
        ]
        current = self.lib.keys_of(tuple(params.get("current_sets", ())))
        former = self.lib.keys_of(tuple(params.get("former_sets", ())))
        never = self.lib.keys_of(tuple(params.get("never_sets", ())))
        smoker_obs = [f for f in statuses if f.value_keys & (current | former)]
        known = [f for f in statuses if f.value_keys & (current | former | never)]
        if not known:
            return self._insufficient("smoking history not recorded")
        if not smoker_obs:
            self._note(known[0], "Never smoker")
            return self._na("not eligible: never smoked")
        latest = next(f for f in known)
        if params.get("require") == "ever":
            self._note(smoker_obs[0], "Smoking history")
            return None
        is_current = bool(latest.value_keys & current)
        self._note(latest, "Current smoker" if is_current else "Former smoker")
        min_py = float(params.get("min_pack_years", 20))
        packs = [
            f
            for f in self._observations(tuple(params.get("pack_years_sets", ())))
            if f.value_number is not None
        ]
        if not packs:
            who = "current" if is_current else "former"
            return self._insufficient(
                f"pack-years not recorded ({who} smoker; eligible at {min_py:g}+ pack-years)",
                list(self._gate_evidence),
            )
        py = packs[0].value_number
        assert py is not None
        self._note(packs[0], f"{py:g} pack-years")
        if py < min_py:
            return self._na(f"not eligible: {py:g} pack-years (eligible at {min_py:g}+)")
        if is_current:
            return None
        max_quit = int(params.get("max_years_since_quit", 15))
        quits = [
            f
            for f in self._observations(tuple(params.get("quit_date_sets", ())))
            if f.value_date is not None
        ]
        if not quits:
            return self._insufficient(
                f"quit date not recorded (former smoker; eligible if quit within {max_quit} years)",
                list(self._gate_evidence),
            )
        quit_day = quits[0].value_date
        assert quit_day is not None
        self._note(quits[0], f"Quit smoking {quit_day.isoformat()}")
        if quit_day < window_start(self.as_of, years=max_quit):
            return self._na(
                f"not eligible: quit smoking {quit_day.isoformat()} "
                f"(more than {max_quit} years ago)"
            )
        return None

    # -- evidence and status ------------------------------------------------------------------

    def _status(self, rule: ScreeningType, group: str, dismissed_refs: list[str]) -> _Verdict:
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
                return _Verdict(Status.DUE, text, None, evidence, flags=flags)
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
                    return _Verdict(
                        Status.DUE, text, None, evidence, last_done=o.events[0].day, flags=flags
                    )
                names = [m.name for m in rule.modalities]
                return _Verdict(Status.DUE, explain.never_done(names), None, evidence, flags=flags)
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
        return _Verdict(status, text, None, evidence, last_done, next_due, flags, frequency)

    def _modality(
        self, rule: ScreeningType, m: Modality, group: str, dismissed_refs: list[str]
    ) -> _ModalityOutcome:
        events: list[_Event] = []
        if m.sets:
            events.extend(self._coded_events(m, group, dismissed_refs))
        if m.keywords:
            events.extend(self._document_events(m, group, dismissed_refs))
        events.sort(key=lambda e: (e.day, e.reference), reverse=True)
        outcome = _ModalityOutcome(m, events)
        if not events:
            return outcome
        latest = events[0].day
        head = events[0].fact
        if head is not None and head.ongoing and head.resource_type in _MEDICATIONS:
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

    def _current(self, outcome: _ModalityOutcome, day: date) -> bool:
        """Whether a result of ``day`` lies inside the modality's window ending today."""
        every = outcome.modality.every
        if every is None:
            return True
        start = window_start(self.as_of, years=every.years, months=every.months, days=every.days)
        return start <= day <= self.as_of

    def _is_dismissed(self, group: str, rule_id: str, reference: str) -> bool:
        return (group, reference) in self.dismissed or (rule_id, reference) in self.dismissed

    def _coded_events(self, m: Modality, group: str, dismissed_refs: list[str]) -> list[_Event]:
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
        out: list[_Event] = []
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
            if fact.ongoing and fact.resource_type in _MEDICATIONS:
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
                _Event(
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

    def _document_events(self, m: Modality, group: str, dismissed_refs: list[str]) -> list[_Event]:
        out: list[_Event] = []
        for index, doc in enumerate(self.documents):
            if doc.date is None or doc.date > self.as_of or not (doc.text or doc.title):
                continue
            cache_key = (index, m.keywords, m.keyword_threshold)
            hits = self._doc_hits.get(cache_key)
            if hits is None:
                hits = _keyword_hits(doc, m.keywords, m.keyword_threshold)
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
                _Event(
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

    def _finding(self, outcome: _ModalityOutcome) -> control.Finding | None:
        """The control finding of an outcome measure's latest coded result (CMS122, CMS165)."""
        flag = outcome.modality.flag
        if flag is None:
            return None
        facts = [e.fact for e in outcome.events if e.fact is not None]
        return control.assess(flag, outcome.modality.name, facts)


def _at_least(fact: Fact, threshold: float, unit: str | None) -> bool:
    if fact.value_number is None or fact.value_number < threshold:
        return False
    if unit is None or not fact.value_unit:
        return True
    return fact.value_unit.replace(" ", "").casefold() == unit.replace(" ", "").casefold()


def _due_order(o: _ModalityOutcome) -> date:
    if o.satisfied_once or o.ongoing or (o.next_due is None and o.events):
        return date.max
    return o.next_due or date.min


@dataclass(frozen=True, slots=True)
class _Hit:
    """A keyword hit that reports a test done, with the date its sentence states (if any)."""

    keyword: str
    confidence: float
    in_title: bool
    snippet: str
    stated: date | None


def _keyword_hits(doc: DocumentText, keywords: Sequence[str], threshold: float) -> list[_Hit]:
    """The hits that report the test as done (not referred, ordered or booked), best first."""
    out: list[_Hit] = []
    for h in _keywords.find_keyword_matches(doc, keywords, threshold=threshold):
        text = doc.title if h.in_title else doc.text
        lo, hi = sentence_bounds(text, h.start)
        sentence = text[lo:hi]
        if reports_intent(sentence):
            continue
        stated = date_of_mention(sentence, h.start - lo, not_after=doc.date)
        out.append(_Hit(h.keyword, h.confidence, h.in_title, h.snippet, stated))
    return out


__all__ = ["DEFAULT_STATUSES", "ORDER_INTENTS", "evaluate"]
