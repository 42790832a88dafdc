"""Rule evaluation: a patient record and an as-of date give one result per screening.

Order of decisions for each screening group (the library's variants of one screening):

1. **Variant**: the most specific variant whose trigger conditions the chart meets (diabetes
   HbA1c monitoring over prediabetes monitoring over plain screening), even when its age range
   then rules the patient out (the measures exclude the trigger from the general screening).
   If none is met, the least specific variant reports "Not applicable: no <trigger> on record".
2. **Not applicable** when the patient is deceased, the sex does not match (us-core-sex, else
   Patient.gender, else us-core-birthsex: see patient_sex.patient_sexes), the age on the rule's age
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

Modules: engine_state (shared state, events, verdicts), engine_criteria (criteria and gates),
engine_evidence (evidence and status); this one chooses the variant and runs the order above.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo
from zoneinfo import ZoneInfo

from healthprep_desktop.screening.dates import age_range_on, end_of_year, start_of_year
from healthprep_desktop.screening.engine_criteria import DEFAULT_STATUSES, ORDER_INTENTS
from healthprep_desktop.screening.engine_evidence import EvidenceEvaluation
from healthprep_desktop.screening.engine_state import Verdict, fact_evidence
from healthprep_desktop.screening.facts import CodeResolver, Fact, collect_facts
from healthprep_desktop.screening.library import Library, ScreeningType, default_library
from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult
from healthprep_desktop.screening.record import PatientRecord


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


class _Context(EvidenceEvaluation):
    # -- groups and variants ------------------------------------------------------------------

    def evaluate_group(self, group: str, rules: list[ScreeningType]) -> ScreeningResult:
        chosen, trigger_facts = self._choose_variant(rules)
        dismissed_refs: list[str] = []
        verdict = self._evaluate(chosen, group, trigger_facts, dismissed_refs)
        trigger_evidence = [
            fact_evidence(
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
    ) -> Verdict:
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
                ev = fact_evidence(
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


__all__ = ["DEFAULT_STATUSES", "ORDER_INTENTS", "evaluate"]
