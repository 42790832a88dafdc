"""Eligibility: which facts meet a criterion (trigger or exclusion) and the risk-fact gates
(smoking history, BMI). See engine.py for where they fit in the order of decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from healthprep_desktop.screening.dates import window_start
from healthprep_desktop.screening.engine_state import EvaluationState, Verdict, fact_evidence
from healthprep_desktop.screening.facts import Fact
from healthprep_desktop.screening.library import Criterion, Gate, Span
from healthprep_desktop.screening.model import Evidence, EvidenceKind

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


class CriteriaEvaluation(EvaluationState):
    """Criteria (triggers, exclusions) and risk-fact gates over the chart's facts."""

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

    def _gate(self, gate: Gate) -> Verdict | None:
        """None when the gate passes; else Not applicable or Insufficient data."""
        self._gate_evidence = []
        p = gate.params
        if gate.kind == "bmi":
            return self._bmi_gate(p)
        return self._smoking_gate(p)

    def _note(self, fact: Fact, label: str) -> None:
        key = fact.codings[0][0] if fact.codings else None
        self._gate_evidence.append(
            fact_evidence(EvidenceKind.TRIGGER, fact, label, key, None, fact.day)
        )

    def _bmi_gate(self, params: Mapping[str, Any]) -> Verdict | None:
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

    def _smoking_gate(self, params: Mapping[str, Any]) -> Verdict | None:
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


def _at_least(fact: Fact, threshold: float, unit: str | None) -> bool:
    if fact.value_number is None or fact.value_number < threshold:
        return False
    if unit is None or not fact.value_unit:
        return True
    return fact.value_unit.replace(" ", "").casefold() == unit.replace(" ", "").casefold()
