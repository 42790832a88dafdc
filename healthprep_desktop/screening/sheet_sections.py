"""The prep sheet's data sections, read from the chart with their cutoffs.

Each section lists the newest first and at most SheetContext.max_rows rows (the rest counted).
Cutoffs are months back from the as-of date; 0 means "since the last encounter before the
as-of date" (FALLBACK_MONTHS when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.screening.record import JSON, DocumentText, PatientRecord
from healthprep_desktop.screening.sheet_fhir import (
    concept_codes,
    concept_text,
    fmt_date,
    is_valid,
    months_before,
    parse_date,
    reference_display,
    status_of,
)
from healthprep_desktop.screening.sheet_model import (
    DASH,
    FALLBACK_MONTHS,
    DataSection,
    SheetContext,
)
from healthprep_desktop.screening.sheet_units import human_unit, range_flag, round_value


@dataclass(frozen=True, slots=True)
class _Window:
    since: date | None
    label: str | None


def _last_encounter(record: PatientRecord, as_of: date) -> date | None:
    best: date | None = None
    for enc in record.of_type("Encounter"):
        if not is_valid(enc) or status_of(enc) in {"planned", "arrived", "triaged"}:
            continue
        start = parse_date((enc.get("period") or {}).get("start"))
        if start and start < as_of and (best is None or start > best):
            best = start
    return best


def _window(months: int, record: PatientRecord, as_of: date) -> _Window:
    if months > 0:
        return _Window(months_before(as_of, months), f"last {months} months")
    last = _last_encounter(record, as_of)
    if last is not None:
        return _Window(last, f"since last visit {last.isoformat()}")
    since = months_before(as_of, FALLBACK_MONTHS)
    return _Window(since, f"no earlier visit on record: last {FALLBACK_MONTHS} months")


def _within(day: date | None, window: _Window) -> bool:
    return window.since is None or day is None or day >= window.since


_Rows = tuple[tuple[str, ...], ...]


def _limit(rows: list[tuple[date | None, tuple[str, ...]]], max_rows: int) -> tuple[_Rows, int]:
    rows.sort(key=lambda r: r[0] or date.min, reverse=True)
    kept = tuple(r[1] for r in rows[:max_rows])
    return kept, max(0, len(rows) - max_rows)


def _problems(ctx: SheetContext) -> DataSection:
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    seen: set[str] = set()
    for cond in ctx.record.of_type("Condition"):
        clinical = concept_codes(cond.get("clinicalStatus"))
        verification = concept_codes(cond.get("verificationStatus"))
        if not clinical & {"active", "recurrence", "relapse"}:
            continue
        if verification & {"entered-in-error", "refuted"}:
            continue
        name = concept_text(cond.get("code"))
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        onset = parse_date(
            cond.get("onsetDateTime")
            or (cond.get("onsetPeriod") or {}).get("start")
            or cond.get("recordedDate")
        )
        rows.append((onset, (name, fmt_date(onset))))
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "problems", "Active problems", None, ("Problem", "Since"), (5, 1.2), kept, more
    )


def _medication_name(req: JSON, record: PatientRecord) -> str:
    name = concept_text(req.get("medicationCodeableConcept"))
    if name:
        return name
    ref = req.get("medicationReference") or {}
    target = str(ref.get("reference") or "")
    if target.startswith("#"):
        for contained in req.get("contained") or []:
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                return concept_text(contained.get("code"))
    elif target:
        med_id = target.split("/")[-1]
        for med in record.of_type("Medication"):
            if med.get("id") == med_id:
                return concept_text(med.get("code"))
    return reference_display(ref)


def _medications(ctx: SheetContext) -> DataSection:
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    seen: set[str] = set()
    for req in ctx.record.of_type("MedicationRequest"):
        if status_of(req) != "active":
            continue
        name = _medication_name(req, ctx.record)
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        dosage = ""
        for instruction in req.get("dosageInstruction") or []:
            if isinstance(instruction, dict) and instruction.get("text"):
                dosage = str(instruction["text"])
                break
        authored = parse_date(req.get("authoredOn"))
        rows.append((authored, (name, dosage or DASH, fmt_date(authored))))
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "medications",
        "Medications",
        None,
        ("Medication", "Directions", "Ordered"),
        (4, 2.5, 1.2),
        kept,
        more,
    )


def observation_value(obs: JSON) -> str:
    if isinstance(obs.get("valueQuantity"), dict):
        q = obs["valueQuantity"]
        unit = human_unit(q.get("code") if q.get("system") == UCUM else None) or human_unit(
            q.get("unit") or q.get("code") or ""
        )
        comparator = q.get("comparator") or ""
        if q.get("value") is None:
            return ""
        value = q["value"]
        number = round_value(value, obs.get("referenceRange")) if _numeric(value) else str(value)
        return f"{comparator}{number} {unit}".strip()
    if isinstance(obs.get("valueCodeableConcept"), dict):
        return concept_text(obs["valueCodeableConcept"])
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in obs:
            return str(obs[key])
    parts = []
    for component in obs.get("component") or []:
        if isinstance(component, dict):
            value = observation_value(component)
            if value:
                parts.append(value)
    if parts:
        return " / ".join(parts)
    if isinstance(obs.get("dataAbsentReason"), dict):
        return f"({concept_text(obs['dataAbsentReason'])})"
    return ""


UCUM = "http://unitsofmeasure.org"


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _effective(resource: JSON) -> date | None:
    period = resource.get("effectivePeriod") or {}
    return parse_date(
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or period.get("end")
        or period.get("start")
        or resource.get("issued")
    )


def _interpretation(obs: JSON) -> str:
    """H/L from the interpretation, else from the reference range (the lab's own limits)."""
    codes = {c.upper() for c in concept_codes(obs.get("interpretation"))}
    for flag in ("HH", "LL", "H", "L", "A", "AA"):
        if flag in codes:
            return flag
    quantity = obs.get("valueQuantity")
    if isinstance(quantity, dict):
        return range_flag(quantity.get("value"), obs.get("referenceRange"))
    return ""


def _labs(ctx: SheetContext, months: int) -> DataSection:
    window = _window(months, ctx.record, ctx.as_of)
    latest: dict[str, tuple[date | None, tuple[str, ...]]] = {}
    counts: dict[str, int] = {}
    for obs in ctx.record.of_type("Observation"):
        if not is_valid(obs) or "laboratory" not in concept_codes(obs.get("category")):
            continue
        when = _effective(obs)
        if not _within(when, window):
            continue
        name = concept_text(obs.get("code"))
        if not name:
            continue
        key = name.lower()
        counts[key] = counts.get(key, 0) + 1
        value = observation_value(obs) or DASH
        flag = _interpretation(obs)
        row = (name, f"{value} ({flag})" if flag else value, fmt_date(when))
        previous = latest.get(key)
        if previous is None or (when or date.min) > (previous[0] or date.min):
            latest[key] = (when, row)
    rows = [
        (when, (*row[:2], row[2] + (f" (x{counts[key]})" if counts[key] > 1 else "")))
        for key, (when, row) in latest.items()
    ]
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "labs",
        "Recent labs",
        window.label,
        ("Test", "Latest result", "Date"),
        (4, 2.2, 1.6),
        kept,
        more,
    )


_IMAGING_CATEGORIES = {"rad", "lp29684-5", "imaging", "radiology", "363679005", "lp7839-6"}


def _is_imaging(resource: JSON) -> bool:
    codes = concept_codes(resource.get("category"))
    return bool(codes & _IMAGING_CATEGORIES) or any(
        "imaging" in c or "radiology" in c for c in codes
    )


def _imaging(ctx: SheetContext, months: int) -> DataSection:
    window = _window(months, ctx.record, ctx.as_of)
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    for report in ctx.record.of_type("DiagnosticReport"):
        if not is_valid(report) or not _is_imaging(report):
            continue
        when = _effective(report)
        if _within(when, window):
            detail = str(report.get("conclusion") or "") or concept_text(
                (report.get("conclusionCode") or [None])[0]
            )
            rows.append(
                (
                    when,
                    (
                        concept_text(report.get("code")) or "Imaging report",
                        fmt_date(when),
                        _clip(detail) or DASH,
                    ),
                )
            )
    for proc in ctx.record.of_type("Procedure"):
        if not is_valid(proc) or status_of(proc) not in {"completed", ""} or not _is_imaging(proc):
            continue
        period = proc.get("performedPeriod") or {}
        when = parse_date(proc.get("performedDateTime") or period.get("end") or period.get("start"))
        if _within(when, window):
            rows.append(
                (
                    when,
                    (concept_text(proc.get("code")) or "Imaging procedure", fmt_date(when), DASH),
                )
            )
    for study in ctx.record.of_type("ImagingStudy"):
        if not is_valid(study):
            continue
        when = parse_date(study.get("started"))
        if _within(when, window):
            modality = ", ".join(
                str(m.get("display") or m.get("code"))
                for m in study.get("modality") or []
                if isinstance(m, dict)
            )
            name = str(study.get("description") or "") or concept_text(
                (study.get("procedureCode") or [None])[0]
            )
            rows.append((when, (name or "Imaging study", fmt_date(when), modality or DASH)))
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "imaging",
        "Imaging",
        window.label,
        ("Study", "Date", "Result"),
        (3, 1.2, 3.6),
        kept,
        more,
    )


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_STAY_CLASSES = {
    "imp": "Inpatient",
    "acute": "Inpatient",
    "nonac": "Inpatient",
    "inpatient": "Inpatient",
    "emer": "Emergency",
    "emergency": "Emergency",
    "obsenc": "Observation",
}


def _stay_kind(enc: JSON) -> str | None:
    klass = enc.get("class")
    codes = concept_codes(klass) if isinstance(klass, dict) and "coding" in klass else set()
    if isinstance(klass, dict) and klass.get("code"):  # R4: class is a Coding
        codes.add(str(klass["code"]).lower())
    for code in codes:
        if code in _STAY_CLASSES:
            return _STAY_CLASSES[code]
    return None


def _encounter_where(enc: JSON) -> str:
    for loc in enc.get("location") or []:
        if isinstance(loc, dict):
            name = reference_display(loc.get("location"))
            if name:
                return name
    return reference_display(enc.get("serviceProvider"))


def _encounter_who(enc: JSON) -> str:
    for part in enc.get("participant") or []:
        if isinstance(part, dict):
            name = reference_display(part.get("individual"))
            if name:
                return name
    return ""


def _encounter_reason(enc: JSON) -> str:
    reasons = [concept_text(r) for r in enc.get("reasonCode") or []]
    return "; ".join(r for r in reasons if r)


def _hospital_stays(ctx: SheetContext, months: int) -> DataSection:
    window = _window(months, ctx.record, ctx.as_of)
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    for enc in ctx.record.of_type("Encounter"):
        kind = _stay_kind(enc)
        if kind is None or not is_valid(enc):
            continue
        period = enc.get("period") or {}
        start, end = parse_date(period.get("start")), parse_date(period.get("end"))
        if not _within(end or start, window):
            continue
        rows.append(
            (
                start,
                (
                    kind,
                    fmt_date(start),
                    fmt_date(end),
                    _encounter_reason(enc) or DASH,
                    _encounter_where(enc) or DASH,
                ),
            )
        )
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "hospital_stays",
        "Hospital stays",
        window.label,
        ("Type", "Admitted", "Discharged", "Reason", "Facility"),
        (1.3, 1.2, 1.2, 2.6, 2),
        kept,
        more,
    )


_CONSULT_WORDS = ("consult", "referral", "specialist", "specialty")


def _consult_specialty(enc: JSON) -> str | None:
    service = concept_text(enc.get("serviceType"))
    if service:
        return service
    for concept in enc.get("type") or []:
        text = concept_text(concept)
        if any(w in text.lower() for w in _CONSULT_WORDS):
            return text
    for part in enc.get("participant") or []:
        if isinstance(part, dict):
            for concept in part.get("type") or []:
                text = concept_text(concept)
                if any(w in text.lower() for w in _CONSULT_WORDS):
                    return concept_text((enc.get("type") or [None])[0]) or text
    return None


def _consults(ctx: SheetContext, months: int) -> DataSection:
    window = _window(months, ctx.record, ctx.as_of)
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    for enc in ctx.record.of_type("Encounter"):
        if _stay_kind(enc) is not None or not is_valid(enc):
            continue
        specialty = _consult_specialty(enc)
        if specialty is None:
            continue
        when = parse_date((enc.get("period") or {}).get("start"))
        if not _within(when, window) or (when is not None and when > ctx.as_of):
            continue
        rows.append(
            (
                when,
                (
                    fmt_date(when),
                    specialty,
                    _encounter_who(enc) or DASH,
                    _encounter_reason(enc) or DASH,
                ),
            )
        )
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "consults",
        "Specialist consults",
        window.label,
        ("Date", "Specialty", "Provider", "Reason"),
        (1.2, 2.4, 2, 2.6),
        kept,
        more,
    )


def _document_date(doc: JSON) -> date | None:
    context = doc.get("context") or {}
    return parse_date(doc.get("date") or (context.get("period") or {}).get("start"))


def document_title(doc: JSON) -> str:
    return str(doc.get("description") or "") or concept_text(doc.get("type")) or "Document"


def _documents(ctx: SheetContext, months: int, texts: dict[str, DocumentText]) -> DataSection:
    window = _window(months, ctx.record, ctx.as_of)
    rows: list[tuple[date | None, tuple[str, ...]]] = []
    listed: set[str] = set()
    for doc in ctx.record.of_type("DocumentReference"):
        if status_of(doc) == "entered-in-error":
            continue
        reference = f"DocumentReference/{doc.get('id', '')}"
        listed.add(reference)
        when = _document_date(doc)
        if not _within(when, window):
            continue
        text = texts.get(reference)
        rows.append((when, (document_title(doc), fmt_date(when), _read_note(text))))
    for reference, text in texts.items():
        if reference in listed or not _within(text.date, window):
            continue
        rows.append((text.date, (text.title or "Document", fmt_date(text.date), _read_note(text))))
    kept, more = _limit(rows, ctx.max_rows)
    return DataSection(
        "documents",
        "Recent documents",
        window.label,
        ("Document", "Date", "Read"),
        (3.6, 1.2, 3),
        kept,
        more,
    )


def _read_note(text: DocumentText | None) -> str:
    if text is None:
        return "not read"
    how = {
        "text-layer": "text",
        "ocr": f"OCR ({text.ocr_pages} of {text.pages} pages)" if text.pages else "OCR",
        "plain": "text",
        "html": "text",
        "rtf": "text",
        "none": "not readable",
    }.get(text.method.value, text.method.value)
    return f"{how}: {text.warning}" if text.warning else how


def data_sections(ctx: SheetContext) -> tuple[DataSection, ...]:
    """Every section in sheet order; a section whose cutoff is None is left out."""
    texts = {d.reference: d for d in ctx.record.documents}
    found: list[DataSection] = [_problems(ctx), _medications(ctx)]
    cut = ctx.cutoffs
    if cut.labs is not None:
        found.append(_labs(ctx, cut.labs))
    if cut.imaging is not None:
        found.append(_imaging(ctx, cut.imaging))
    if cut.consults is not None:
        found.append(_consults(ctx, cut.consults))
    if cut.hospital_stays is not None:
        found.append(_hospital_stays(ctx, cut.hospital_stays))
    if cut.documents is not None:
        found.append(_documents(ctx, cut.documents, texts))
    return tuple(found)
