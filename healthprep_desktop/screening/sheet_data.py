"""What a prep sheet says, decided once for both renderings (PDF and plain text).

`build_content(ctx)` reads the chart (FHIR R4 JSON) and the screening results and returns a
`SheetContent`: plain strings in sections, rows and checklist items. The PDF (sheet.py) and the
text (sheet_text.py) renderers only lay it out, so the two can never disagree. The data
sections come from sheet_sections.py; this module adds the header, the quality checklist, the
pre-visit actions and the data warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.screening.dates import birth_date_warning
from healthprep_desktop.screening.model import EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.record import DocumentText
from healthprep_desktop.screening.sheet_fhir import (
    age_on,
    fmt_date,
    human_name,
    mrn,
    parse_date,
    sex,
)
from healthprep_desktop.screening.sheet_model import (
    CONFIDENTIAL,
    DASH,
    DEMO_SOURCE,
    Appointment,
    ChecklistRow,
    DataSection,
    PatientHeader,
    SectionCutoffs,
    SheetContent,
    SheetContext,
)
from healthprep_desktop.screening.sheet_sections import data_sections
from healthprep_desktop.screening.sheet_today import ROOMING, TodayItem, today_items
from healthprep_desktop.screening.sheet_units import clinic_time, fmt_local, human_units

__all__ = [
    "CONFIDENTIAL",
    "Appointment",
    "ChecklistRow",
    "DataSection",
    "PatientHeader",
    "SectionCutoffs",
    "SheetContent",
    "SheetContext",
    "build_content",
    "previsit_items",
]

_ORDER = {
    Status.OVERDUE: 0,
    Status.DUE: 1,
    Status.FOLLOW_UP_NEEDED: 2,
    Status.NOT_AT_GOAL: 3,
    Status.DUE_SOON: 4,
    Status.INSUFFICIENT_DATA: 5,
    Status.DECLINED: 6,
    Status.MEDICAL_REASON: 7,
    Status.POSTPONED: 8,
    Status.COMPLETE: 9,
    Status.NOT_APPLICABLE: 10,
}


def _grouped_not_applicable(items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """One line per exclusion that removes several screenings ("Palliative care on record:
    routine screenings not applicable"), instead of the same reason repeated per row."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in items:
        by_reason.setdefault(reason, []).append(name)
    out: list[tuple[str, str]] = []
    for reason, names in by_reason.items():
        if len(names) > 1 and reason.startswith("excluded: "):
            label, _, where = reason.removeprefix("excluded: ").partition(" (")
            on_record = f"{label[:1].upper()}{label[1:]} on record" + (
                f" ({where}" if where else ""
            )
            out.append((on_record, "routine screenings not applicable: " + ", ".join(names)))
        else:
            out.extend((name, reason) for name in names)
    return tuple(out)


def _evidence_text(result: ScreeningResult) -> str:
    text = result.explanation
    docs = [
        e
        for e in result.evidence
        if e.kind is EvidenceKind.DOCUMENT and e.reference not in result.dismissed
    ]
    if docs and not any(e.keyword and e.keyword.lower() in text.lower() for e in docs):
        e = docs[0]
        conf = f", {e.confidence:.0%}" if e.confidence is not None else ""
        text += f" [document: \u201c{e.keyword}\u201d{conf}]"
    if result.dismissed:
        text += f" ({len(result.dismissed)} match(es) dismissed)"
    if result.entry and result.entry not in text:
        text += f" [{result.entry}]"
    return text


_OFFER_WORDS = ("vaccin", "immuniz", "influenza", "pneumococcal", "zoster", "tdap", "tetanus")
_ROOMING_WORDS = ("depression", "tobacco", "smoking", "alcohol", "blood pressure", "fall", "bmi")
_OUTSIDE_WORDS = (
    "colorectal",
    "colon",
    "mammo",
    "breast",
    "cervical",
    "lung",
    "osteoporosis",
    "dxa",
    "aneurysm",
    "eye",
    "retin",
)


def _in_sentence(name: str) -> str:
    """ "Breast cancer screening" -> "breast cancer screening"; "HbA1c test" stays."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def _action(result: ScreeningResult) -> str:
    name = _in_sentence(result.name)
    lowered = name.lower()
    if any(w in lowered for w in _OFFER_WORDS):
        return f"Offer {name}"
    if any(w in lowered for w in _ROOMING_WORDS):
        return f"Complete {name} at rooming"
    if any(w in lowered for w in _OUTSIDE_WORDS):
        return f"Order {name} or obtain outside report"
    return f"Order {name}"


def previsit_items(results: Iterable[ScreeningResult]) -> tuple[str, ...]:
    items: list[str] = []
    for result in sorted(results, key=lambda r: _ORDER[r.status]):
        if result.status is Status.OVERDUE:
            since = f" (due since {result.next_due.isoformat()})" if result.next_due else ""
            items.append(_action(result) + since)
        elif result.status is Status.DUE:
            items.append(_action(result))
        elif result.status is Status.NOT_AT_GOAL:
            items.append(f"{result.name} not at goal: review at this visit")
        elif result.status is Status.FOLLOW_UP_NEEDED:
            items.append(f"{result.name}: positive screen, document a follow-up plan")
        elif result.status is Status.DECLINED:
            items.append(f"{result.name} declined before: offer again if appropriate")
        elif result.status is Status.DUE_SOON:
            by = f" by {result.next_due.isoformat()}" if result.next_due else " soon"
            items.append(f"{result.name} due{by}: consider addressing at this visit")
        elif result.status is Status.INSUFFICIENT_DATA:
            what = result.reason or "missing data"
            items.append(f"Confirm {what} ({result.name})")
    return tuple(items)


def _data_warnings(ctx: SheetContext, texts: dict[str, DocumentText]) -> tuple[str, ...]:
    found: list[str] = []
    patient = ctx.record.patient
    implausible = birth_date_warning(patient.get("birthDate"), ctx.as_of)
    if implausible:
        found.append(implausible)
    elif not patient.get("birthDate"):
        found.append("Birth date missing: age-based screenings cannot be decided")
    if not sex(patient):
        found.append("Sex missing: sex-specific screenings cannot be decided")
    if not mrn(patient):
        found.append("No MRN on record")
    if ctx.record.fetched_at is None:
        found.append("Data freshness unknown (fetch time not recorded)")
    unreadable = [t for t in texts.values() if t.warning]
    if unreadable:
        see = " (see Recent documents)" if ctx.cutoffs.documents is not None else ""
        found.append(f"{len(unreadable)} document(s) not fully read{see}")
    found += list(ctx.record.warnings)
    found += list(ctx.warnings)
    return tuple(dict.fromkeys(found))


def _age_text(value: object, on: date) -> str:
    """ "54 y", or nothing when the birth date is missing or implausible (2999: never "-973")."""
    birth = parse_date(value)
    if birth is None or birth_date_warning(value, on) is not None:
        return ""
    return f"{age_on(birth, on)} y"


def _undecidable(results: list[ScreeningResult]) -> tuple[str, set[str]]:
    """One line for the screenings a missing birth date or sex leaves undecided (instead of a
    row per screening that all say the same), and the ids it covers."""
    birth = [
        r
        for r in results
        if r.status is Status.INSUFFICIENT_DATA and r.reason and r.reason.startswith("birth date")
    ]
    by_sex = [
        r
        for r in results
        if r.status is Status.INSUFFICIENT_DATA
        and r.reason
        and r.reason.startswith("sex not recorded")
    ]
    parts: list[str] = []
    if birth:
        parts.append(
            f"No usable birth date: {len(birth)} age-based screening(s) cannot be decided "
            f"({', '.join(r.name for r in birth)}); confirm the birth date"
        )
    if by_sex:
        parts.append(
            f"No sex on record: {len(by_sex)} sex-specific screening(s) cannot be decided "
            f"({', '.join(r.name for r in by_sex)}); confirm sex"
        )
    covered = {id(r) for r in birth + by_sex}
    return ". ".join(parts), {str(c) for c in covered}


def _confirm_first(undecidable: str) -> tuple[TodayItem, ...]:
    """Without a birth date (or sex) nothing else can be decided: confirming it comes first."""
    if not undecidable:
        return ()
    what = " and ".join(
        w for w, key in (("birth date", "birth date"), ("sex", "No sex")) if key in undecidable
    )
    return (
        TodayItem(
            ROOMING,
            -1,
            f"Confirm {what} at check-in",
            "screenings cannot be decided without it",
            Status.INSUFFICIENT_DATA,
        ),
    )


def _is_demo(ctx: SheetContext) -> bool:
    if ctx.demo is not None:
        return ctx.demo
    return DEMO_SOURCE in (ctx.source_system, ctx.record.source)


def build_content(ctx: SheetContext) -> SheetContent:
    patient = ctx.record.patient
    birth = parse_date(patient.get("birthDate"))
    appt = ctx.appointment or Appointment()
    zone = clinic_zone(ctx.tz)
    start = clinic_time(appt.start, zone)
    header = PatientHeader(
        name=human_name(patient),
        birth_date=fmt_date(birth),
        age=_age_text(patient.get("birthDate"), ctx.as_of),
        sex=sex(patient) or DASH,
        mrn=mrn(patient) or DASH,
        appointment=fmt_local(appt.start, zone, "") if appt.start else "",
        provider=appt.provider or "",
        location=appt.location or "",
        reason=appt.reason or "",
    )
    undecidable, covered = _undecidable(list(ctx.results))
    results = [r for r in ctx.results if str(id(r)) not in covered]
    ordered = sorted(results, key=lambda r: _ORDER[r.status])
    checklist = tuple(
        ChecklistRow(
            name=r.name,
            status=r.status,
            last_done=fmt_date(r.last_done),
            next_due=fmt_date(r.next_due),
            frequency=r.frequency or DASH,
            evidence=human_units(_evidence_text(r)),
        )
        for r in ordered
        if r.status is not Status.NOT_APPLICABLE
    )
    not_applicable = _grouped_not_applicable(
        [(r.name, r.reason or r.explanation) for r in ordered if r.status is Status.NOT_APPLICABLE]
    )
    texts = {d.reference: d for d in ctx.record.documents}
    generated = ctx.generated_at or datetime.now().astimezone()
    return SheetContent(
        clinic=ctx.clinic_name,
        header=header,
        checklist=checklist,
        not_applicable=not_applicable,
        sections=data_sections(ctx),
        previsit=previsit_items(results),
        warnings=_data_warnings(ctx, texts),
        fetched_at=fmt_local(ctx.record.fetched_at, zone),
        source=ctx.source_system or ctx.record.source or "unknown source",
        generated_at=fmt_local(generated, zone),
        today=_confirm_first(undecidable) + today_items(results),
        demo=_is_demo(ctx),
        undecidable=undecidable,
        appointment_sort=start.isoformat() if start else "",
    )
