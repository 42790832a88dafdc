"""The demo clinic's day in-process, as the batch renders it: the synthetic clinic's schedule
for a Friday, each booked patient's chart screened (engine + visit statuses) and rendered.

Used by the sheet read-back tests and bench/screening.py; no server, no store (those are
covered by the batch tests), so a whole day renders in a few seconds on one core.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet_model import DEMO_SOURCE, Appointment, SheetContext
from healthprep_desktop.screening.visit_status import refine

DEMO_DAY = date(2026, 12, 4)  # a Friday: what `batch --demo` prepares on Thu 3 Dec 2026
GENERATED = datetime.fromisoformat("2026-12-03T18:00:00-06:00")
FETCHED = datetime.fromisoformat("2026-12-03T23:55:00+00:00")


@functools.cache
def demo_clinic() -> SyntheticClinic:
    return SyntheticClinic(seed=1, patients=500, reference_date=DEMO_DAY)


def _names(clinic: SyntheticClinic) -> dict[str, str]:
    names: dict[str, str] = {}
    for res in clinic.staff_resources():
        if res.get("resourceType") == "Practitioner":
            n = (res.get("name") or [{}])[0]
            text = n.get("text") or " ".join(
                [*(n.get("prefix") or []), *(n.get("given") or []), n.get("family") or ""]
            )
            names[f"Practitioner/{res['id']}"] = text.strip()
    return names


def demo_contexts(limit: int | None = None) -> list[SheetContext]:
    """One SheetContext per booked visit of the demo day, in schedule order."""
    clinic = demo_clinic()
    library = default_library()
    names = _names(clinic)
    tz = clinic.time_zone
    contexts: list[SheetContext] = []
    appointments = clinic.schedule(DEMO_DAY)
    for appt in appointments[:limit]:
        refs = [p.get("actor", {}).get("reference", "") for p in appt.get("participant", [])]
        patient_ref = next(r for r in refs if r.startswith("Patient/"))
        provider = next((names.get(r, "") for r in refs if r.startswith("Practitioner/")), "")
        resources = clinic.patient_resources(patient_ref.removeprefix("Patient/"))
        patient = next(r for r in resources if r.get("resourceType") == "Patient")
        chart = [r for r in resources if r.get("resourceType") != "Patient"]
        record = PatientRecord(
            patient=patient, resources=chart, fetched_at=FETCHED, source=DEMO_SOURCE
        )
        results = evaluate(record, DEMO_DAY, library, tz=tz)
        results = refine(results, record, DEMO_DAY, library)
        start = datetime.fromisoformat(appt["start"])
        contexts.append(
            SheetContext(
                record=record,
                results=results,
                as_of=DEMO_DAY,
                appointment=Appointment(start, provider, None, appt.get("description")),
                clinic_name="Demo Family Practice",
                generated_at=GENERATED,
                tz=tz,
            )
        )
    return contexts


def by_provider(contexts: list[SheetContext]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for ctx in contexts:
        counts[(ctx.appointment.provider if ctx.appointment else "") or ""] += 1
    return dict(counts)


__all__: list[Any] = ["DEMO_DAY", "by_provider", "demo_contexts"]
