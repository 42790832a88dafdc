"""Pull what the rules need out of FHIR R4 JSON, walking each chart once.

Every resource whose code (``code``, ``vaccineCode``, ``type``, medication, ...) is in one of the
library's code sets becomes one :class:`Fact` and is filed under each of those sets; everything
else is skipped after one dictionary lookup per coding. Dates are resolved here, once, by the
rules in :mod:`healthprep_desktop.screening.dates`:

- Observation / DiagnosticReport: ``effective[x]`` (dateTime, Period, instant), else ``issued``.
- Procedure: ``performed[x]``; Immunization: ``occurrence[x]``, else ``recorded``.
- Encounter: ``period``; ServiceRequest / MedicationRequest / DeviceRequest: ``authoredOn``.
- Condition: the prevalence interval as QI-Core computes it: onset (else ``recordedDate``) to
  abatement; still open when the clinical status is active/recurrence/relapse (or missing) and
  no abatement is recorded; a resolved condition without an abatement date is a single day.

A Period's event date is its end when present, else its start. Conditions that are refuted or
entered in error, immunizations marked subpotent and requests marked doNotPerform never become
facts. Status filters
(completed, final, ...) are applied by the engine, per rule, so a rule may widen them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from healthprep_desktop.screening.dates import (
    DayRange,
    choice_range,
    parse_day_range,
    period_range,
    plausible_birth,
)
from healthprep_desktop.screening.encounters import EncounterInfo, instant
from healthprep_desktop.screening.measures.chart import do_not_perform, has_unknown_modifier
from healthprep_desktop.screening.patient_sex import patient_sexes
from healthprep_desktop.screening.record import JSON, PatientRecord
from healthprep_desktop.screening.valuesets import normalize_code, normalize_system

Key = tuple[str, str]


_ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
_UNVERIFIED_OUT = frozenset({"refuted", "entered-in-error"})

_CODE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Observation": ("code",),
    "DiagnosticReport": ("code",),
    "Procedure": ("code",),
    "Condition": ("code",),
    "Immunization": ("vaccineCode",),
    "Encounter": ("type", "serviceType"),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "ServiceRequest": ("code",),
    "DeviceRequest": ("codeCodeableConcept",),
    "ImagingStudy": ("procedureCode",),
    "AllergyIntolerance": ("code",),
}


@dataclass(slots=True)
class Fact:
    """One coded resource, reduced to what rules read."""

    resource_type: str
    reference: str
    codings: tuple[tuple[Key, str], ...]  # ((system, code), display) of the resource's code
    span: DayRange | None  # event interval, or a condition's prevalence interval
    status: str
    has_value: bool = False
    value_keys: frozenset[Key] = frozenset()
    value_number: float | None = None
    value_unit: str = ""
    value_date: date | None = None
    components: Mapping[str, float] = field(default_factory=dict)
    body_sites: frozenset[str] = frozenset()
    discharge_keys: frozenset[Key] = frozenset()
    intent: str = ""
    display: str = ""
    result_refs: tuple[str, ...] = ()  # DiagnosticReport.result, resolved into has_value
    encounter_ref: str = ""  # Observation.encounter ("Encounter/abc")
    moment: datetime | None = None  # Observation effective time, when it states one

    @property
    def day(self) -> date | None:
        """The day the event is filed under (a Period's end when known, else its start)."""
        return self.span.latest if self.span else None

    @property
    def start(self) -> date | None:
        return self.span.start if self.span else None

    @property
    def ongoing(self) -> bool:
        """An open-ended interval: an active condition, an active medication order."""
        return self.span is not None and self.span.end is None

    def coding_in(self, keys: frozenset[Key]) -> tuple[Key, str] | None:
        for coding in self.codings:
            if coding[0] in keys:
                return coding
        return None


@dataclass(slots=True)
class PatientFacts:
    """A chart bucketed by code set, plus the demographic facts every rule reads."""

    birth: DayRange | None
    sexes: frozenset[str]  # {"female"} or {"male"} (see patient_sexes), empty when unknown
    deceased: bool
    deceased_on: date | None
    by_set: dict[str, list[Fact]]
    encounters: dict[str, EncounterInfo] = field(default_factory=dict)  # by reference


_VOID_ENCOUNTERS = frozenset({"entered-in-error", "cancelled", "planned"})


def _encounter_info(resource: JSON, resolver: CodeResolver) -> EncounterInfo | None:
    status = str(resource.get("status") or "")
    rid = resource.get("id")
    if not rid or status in _VOID_ENCOUNTERS:
        return None
    classes: set[str] = set()
    raw_class = resource.get("class")
    for item in raw_class if isinstance(raw_class, list) else (raw_class,):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("code"), str):
            classes.add(item["code"])  # R4: a Coding
        for coding in item.get("coding") or ():  # R5: CodeableConcepts
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                classes.add(coding["code"])
    raw_period = resource.get("period")
    period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
    return EncounterInfo(
        reference=f"Encounter/{rid}",
        status=status,
        classes=frozenset(classes),
        type_sets=frozenset(_matching_sets(resource, "Encounter", resolver) or ()),
        start=instant(period.get("start")),
        end=instant(period.get("end")),
    )


def _codeable_codings(cc: Any, norm: dict[str, str]) -> list[tuple[Key, str]]:
    out: list[tuple[Key, str]] = []
    if not isinstance(cc, dict):
        return out
    for coding in cc.get("coding") or ():
        if not isinstance(coding, dict):
            continue
        code = coding.get("code")
        if not isinstance(code, str) or not code:
            continue
        raw = coding.get("system") or ""
        system = norm.get(raw)
        if system is None:
            system = normalize_system(raw)
            norm[raw] = system
        out.append(((system, normalize_code(system, code)), str(coding.get("display") or "")))
    return out


def _resource_codings(resource: JSON, rtype: str, norm: dict[str, str]) -> list[tuple[Key, str]]:
    out: list[tuple[Key, str]] = []
    for name in _CODE_FIELDS.get(rtype, ()):
        value = resource.get(name)
        if isinstance(value, list):
            for cc in value:
                out.extend(_codeable_codings(cc, norm))
        elif value is not None:
            out.extend(_codeable_codings(value, norm))
    if rtype in ("MedicationRequest", "MedicationStatement") and not out:
        # medicationReference to a contained Medication: read the contained code.
        for contained in resource.get("contained") or ():
            if isinstance(contained, dict) and contained.get("resourceType") == "Medication":
                out.extend(_codeable_codings(contained.get("code"), norm))
    return out


def _status_code(cc: Any) -> str:
    if isinstance(cc, dict):
        for coding in cc.get("coding") or ():
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
    return ""


def condition_span(resource: JSON, tz: tzinfo | None) -> DayRange:
    onset = choice_range(resource, "onset", tz)
    start = onset.start if onset else None
    if start is None:
        recorded = parse_day_range(resource.get("recordedDate"), tz)
        start = recorded.start if recorded else None
    abatement = choice_range(resource, "abatement", tz)
    abated = abatement.latest if abatement else None
    clinical = _status_code(resource.get("clinicalStatus"))
    if abated is not None:
        return DayRange(start, abated)
    if not clinical or clinical in _ACTIVE_CLINICAL:
        return DayRange(start, None)
    # Inactive/resolved/remission without an abatement date: CQL leaves the end unknown; we
    # keep the onset day only, so the condition never counts as current.
    return DayRange(start, start if start is not None else None)


def _event_span(resource: JSON, rtype: str, tz: tzinfo | None) -> DayRange | None:
    if rtype in ("Observation", "DiagnosticReport"):
        return choice_range(resource, "effective", tz) or parse_day_range(
            resource.get("issued"), tz
        )
    if rtype == "Procedure":
        return choice_range(resource, "performed", tz)
    if rtype == "Immunization":
        return choice_range(resource, "occurrence", tz) or parse_day_range(
            resource.get("recorded"), tz
        )
    if rtype == "Encounter":
        return period_range(resource.get("period"), tz)
    if rtype in ("MedicationRequest", "ServiceRequest", "DeviceRequest"):
        authored = parse_day_range(resource.get("authoredOn"), tz)
        if authored is None:
            return choice_range(resource, "occurrence", tz)
        validity = period_range((resource.get("dispenseRequest") or {}).get("validityPeriod"), tz)
        if validity is not None and validity.end is not None:
            return DayRange(authored.start, validity.end)
        if rtype == "MedicationRequest" and resource.get("status") == "active":
            return DayRange(authored.start, None)  # still being taken
        return authored
    if rtype == "MedicationStatement":
        return choice_range(resource, "effective", tz) or parse_day_range(
            resource.get("dateAsserted"), tz
        )
    if rtype == "ImagingStudy":
        return parse_day_range(resource.get("started"), tz)
    if rtype == "AllergyIntolerance":
        onset = choice_range(resource, "onset", tz) or parse_day_range(
            resource.get("recordedDate"), tz
        )
        start = onset.start if onset else None
        inactive = _status_code(resource.get("clinicalStatus")) in ("inactive", "resolved")
        return DayRange(start, start if inactive else None)
    return None


_VALUE_KEYS = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


def _number(q: Any) -> float | None:
    if isinstance(q, dict):
        v = q.get("value")
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def _fill_value(fact: Fact, resource: JSON, norm: dict[str, str], tz: tzinfo | None) -> None:
    has = any(resource.get(k) is not None for k in _VALUE_KEYS)
    q = resource.get("valueQuantity")
    if q is not None:
        fact.value_number = _number(q)
        fact.value_unit = str(q.get("unit") or q.get("code") or "") if isinstance(q, dict) else ""
    elif isinstance(resource.get("valueInteger"), int):
        fact.value_number = float(resource["valueInteger"])
    cc = resource.get("valueCodeableConcept")
    if cc is not None:
        fact.value_keys = frozenset(k for k, _ in _codeable_codings(cc, norm))
    vdt = resource.get("valueDateTime")
    if vdt is not None:
        rng = parse_day_range(vdt, tz)
        fact.value_date = rng.start if rng else None
    components: dict[str, float] = {}
    for comp in resource.get("component") or ():
        if not isinstance(comp, dict):
            continue
        number = _number(comp.get("valueQuantity"))
        if number is None:
            continue
        for (_system, code), _display in _codeable_codings(comp.get("code"), norm):
            components[code] = number
    if components:
        fact.components = components
        has = True
    fact.has_value = has


def _body_sites(resource: JSON, norm: dict[str, str]) -> frozenset[str]:
    sites = resource.get("bodySite")
    if not sites:
        return frozenset()
    items = sites if isinstance(sites, list) else [sites]
    return frozenset(code for cc in items for (_s, code), _d in _codeable_codings(cc, norm))


class CodeResolver:
    """(raw system, raw code) as written in charts -> ids of the code sets holding the code.

    Charts repeat the same few hundred codes, so normalising each distinct pair once and
    remembering the answer keeps the per-coding cost to one dictionary lookup.
    """

    def __init__(self, code_index: Mapping[Key, Iterable[str]]) -> None:
        self._index = code_index
        self._memo: dict[tuple[str, str], tuple[str, ...]] = {}

    def resolve(self, system: str, code: str) -> tuple[str, ...]:
        hit = self._memo.get((system, code))
        if hit is None:
            norm = normalize_system(system)
            hit = tuple(self._index.get((norm, normalize_code(norm, code)), ()))
            if len(self._memo) < 200_000:  # bounded: a hostile chart cannot grow it forever
                self._memo[(system, code)] = hit
        return hit


def _matching_sets(resource: JSON, rtype: str, resolver: CodeResolver) -> set[str] | None:
    """Ids of the code sets holding any of the resource's codes (None: no match).

    The hot loop of a batch (every resource of every chart passes here once), so it reads the
    resolver's memo directly and only falls back to normalising on a miss.
    """
    found: set[str] | None = None
    memo = resolver._memo
    for name in _CODE_FIELDS[rtype]:
        value = resource.get(name)
        if value is None:
            continue
        for cc in value if isinstance(value, list) else (value,):
            codings = cc.get("coding") if isinstance(cc, dict) else None
            if not codings:
                continue
            for coding in codings:
                if not isinstance(coding, dict):
                    continue
                code = coding.get("code")
                if not isinstance(code, str) or not code:
                    continue
                system = coding.get("system") or ""
                hit = memo.get((system, code))
                if hit is None:
                    hit = resolver.resolve(str(system), code)
                if hit:
                    if found is None:
                        found = set(hit)
                    else:
                        found.update(hit)
    if found is None and rtype in ("MedicationRequest", "MedicationStatement"):
        for contained in resource.get("contained") or ():
            if isinstance(contained, dict) and contained.get("resourceType") == "Medication":
                cc = contained.get("code")
                for coding in (cc.get("coding") or ()) if isinstance(cc, dict) else ():
                    if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                        hit = resolver.resolve(str(coding.get("system") or ""), coding["code"])
                        if hit:
                            found = (found or set()) | set(hit)
    return found


_MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})


def _medication_codes(resources: Iterable[JSON]) -> dict[str, Any]:
    """Medication id -> its code, for prescriptions that name the drug by reference."""
    return {
        str(r["id"]): r.get("code")
        for r in resources
        if r.get("resourceType") == "Medication" and r.get("id") and r.get("code")
    }


def _with_referenced_medication(resource: JSON, medications: dict[str, Any]) -> JSON:
    if resource.get("medicationCodeableConcept") is not None:
        return resource
    ref = (resource.get("medicationReference") or {}).get("reference")
    if not isinstance(ref, str) or not ref.startswith("Medication/"):
        return resource
    code = medications.get(ref.split("/", 1)[1].split("/")[0])
    return {**resource, "medicationCodeableConcept": code} if code is not None else resource


def collect_facts(
    record: PatientRecord,
    code_index: Mapping[Key, Iterable[str]] | CodeResolver,
    tz: tzinfo | None = None,
    as_of: date | None = None,
) -> PatientFacts:
    """Walk the chart once; file every coded resource under the code sets holding its codes.
    With ``as_of``, a birth date impossible on that day (future, or over 120 years before) is
    left out, as if missing."""
    resolver = code_index if isinstance(code_index, CodeResolver) else CodeResolver(code_index)
    norm: dict[str, str] = {}
    by_set: dict[str, list[Fact]] = {}
    encounters: dict[str, EncounterInfo] = {}
    medications = _medication_codes(record.resources)
    for position, resource in enumerate(record.resources):
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or rtype not in _CODE_FIELDS:
            continue
        if has_unknown_modifier(resource):
            continue  # a modifier we cannot read may reverse what the resource says
        if medications and rtype in _MEDICATION_TYPES:
            resource = _with_referenced_medication(resource, medications)
        if rtype == "Encounter":
            info = _encounter_info(resource, resolver)
            if info is not None:
                encounters[info.reference] = info
        set_ids = _matching_sets(resource, rtype, resolver)
        if not set_ids:
            continue
        codings = _resource_codings(resource, rtype, norm)
        fact = make_fact(resource, rtype, codings, norm, tz, position)
        if fact is None:
            continue
        for sid in set_ids:
            by_set.setdefault(sid, []).append(fact)
    _resolve_report_results(record, by_set)
    patient = record.patient or {}
    deceased_on = None
    deceased = bool(patient.get("deceasedBoolean"))
    if patient.get("deceasedDateTime"):
        rng = parse_day_range(patient.get("deceasedDateTime"), tz)
        deceased_on = rng.start if rng else None
        deceased = True
    return PatientFacts(
        birth=_birth(patient.get("birthDate"), as_of),
        sexes=patient_sexes(patient),
        deceased=deceased,
        deceased_on=deceased_on,
        by_set=by_set,
        encounters=encounters,
    )


def _birth(value: Any, as_of: date | None) -> DayRange | None:
    birth = parse_day_range(value)
    return birth if as_of is None else plausible_birth(birth, as_of)


def _resolve_report_results(record: PatientRecord, by_set: dict[str, list[Fact]]) -> None:
    """A DiagnosticReport without its own result has one when a referenced Observation does."""
    pending = {
        id(f): f
        for facts in by_set.values()
        for f in facts
        if f.resource_type == "DiagnosticReport" and not f.has_value and f.result_refs
    }
    if not pending:
        return
    wanted = {ref for f in pending.values() for ref in f.result_refs}
    valued: set[str] = set()
    for resource in record.resources:
        if resource.get("resourceType") != "Observation" or resource.get("status") not in (
            "final",
            "amended",
            "corrected",
        ):
            continue
        ref = f"Observation/{resource.get('id')}"
        if ref in wanted and (
            any(resource.get(k) is not None for k in _VALUE_KEYS)
            or any(
                isinstance(c, dict) and c.get("valueQuantity") is not None
                for c in resource.get("component") or ()
            )
        ):
            valued.add(ref)
    for fact in pending.values():
        fact.has_value = any(ref in valued for ref in fact.result_refs)


def make_fact(
    resource: JSON,
    rtype: str,
    codings: list[tuple[Key, str]],
    norm: dict[str, str],
    tz: tzinfo | None,
    position: int = 0,
) -> Fact | None:
    status = str(resource.get("status") or "")
    if status == "entered-in-error":
        return None
    if do_not_perform(resource):
        return None  # an order *not* to do it (R4 field, or the QI-Core / R5 extension)
    if rtype == "Condition":
        if _status_code(resource.get("verificationStatus")) in _UNVERIFIED_OUT:
            return None
        span: DayRange | None = condition_span(resource, tz)
    elif rtype == "AllergyIntolerance":
        if _status_code(resource.get("verificationStatus")) in _UNVERIFIED_OUT:
            return None
        span = _event_span(resource, rtype, tz)
    else:
        if rtype == "Immunization" and resource.get("isSubpotent") is True:
            return None
        span = _event_span(resource, rtype, tz)
    rid = resource.get("id")
    reference = f"{rtype}/{rid}" if rid else f"{rtype}/#{position}"
    cc = resource.get("code") or resource.get("vaccineCode")
    text = cc.get("text") if isinstance(cc, dict) else None
    fact = Fact(
        resource_type=rtype,
        reference=reference,
        codings=tuple(codings),
        span=span,
        status=status,
        intent=str(resource.get("intent") or ""),
        display=str(text or (codings[0][1] if codings else "")),
    )
    if rtype == "Observation":
        _fill_value(fact, resource, norm, tz)
        enc = resource.get("encounter")
        if isinstance(enc, dict) and isinstance(enc.get("reference"), str):
            fact.encounter_ref = enc["reference"]
        effective = (
            resource.get("effectiveDateTime")
            or resource.get("effectiveInstant")
            or (resource.get("effectivePeriod") or {}).get("start")
        )
        moment = instant(effective)
        fact.moment = moment if isinstance(moment, datetime) else None
    elif rtype == "DiagnosticReport":
        # A report carries a result when it states one itself; otherwise its result
        # Observations are looked up after the walk (see _resolve_report_results).
        fact.has_value = bool(
            resource.get("conclusion")
            or resource.get("conclusionCode")
            or resource.get("presentedForm")
        )
        fact.result_refs = tuple(
            str(r["reference"])
            for r in resource.get("result") or ()
            if isinstance(r, dict) and isinstance(r.get("reference"), str)
        )
    if rtype in ("Procedure", "Condition", "Observation"):
        fact.body_sites = _body_sites(resource, norm)
    if rtype == "Encounter":
        hosp = resource.get("hospitalization")
        if isinstance(hosp, dict):
            fact.discharge_keys = frozenset(
                k for k, _ in _codeable_codings(hosp.get("dischargeDisposition"), norm)
            )
    return fact
