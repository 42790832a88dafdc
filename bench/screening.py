"""Prints screening-engine figures: evaluation time for N patients x the default library.

    .venv/bin/python bench/screening.py [--patients 500] [--repeat 5] [--source auto|clinic|synthea]

Patients come from the synthetic clinic (healthprep_desktop.sandbox.clinic) when it imports,
else from the 128 Synthea bundles in ../shared replicated up to N (ids made unique). Charts are
built before timing; the figure covers collecting facts and evaluating every screening, one core,
no documents (OCR is measured separately). Both wall and CPU time are printed because the
machine is shared and wall time is noisy. Structured as functions so other figures (sheets per
second, OCR seconds per page) can be added beside ``evaluation_figures``.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import Library, default_library
from healthprep_desktop.screening.record import PatientRecord

SYNTHEA_AS_OF = date(2021, 6, 30)


def shared_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared", here / "shared"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("../shared (Synthea bundles) is missing beside the checkout")


def clinic_records(count: int) -> tuple[list[PatientRecord], date, str | None]:
    """Charts from the synthetic clinic, grouped by patient reference."""
    from healthprep_desktop.sandbox.clinic import DEFAULT_REFERENCE_DATE, SyntheticClinic

    clinic = SyntheticClinic(seed=1, patients=count)
    patients: dict[str, dict[str, Any]] = {}
    charts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in clinic.resources():
        if resource.get("resourceType") == "Patient":
            patients[resource["id"]] = resource
            continue
        ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            charts[ref.removeprefix("Patient/")].append(resource)
    records = [PatientRecord(patient=p, resources=charts[pid]) for pid, p in patients.items()]
    return records, DEFAULT_REFERENCE_DATE, getattr(clinic, "time_zone", None)


def synthea_records(count: int) -> tuple[list[PatientRecord], date, str | None]:
    """The Synthea bundles, replicated (deep copies, suffixed ids) up to `count` charts."""
    base: list[PatientRecord] = []
    for path in sorted((shared_dir() / "synthea" / "bundles").glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        resources = [entry["resource"] for entry in bundle["entry"]]
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        base.append(
            PatientRecord(patient=patient, resources=[r for r in resources if r is not patient])
        )
    records: list[PatientRecord] = []
    for i in range(count):
        src = base[i % len(base)]
        if i < len(base):
            records.append(src)
            continue
        patient = copy.deepcopy(src.patient)
        patient["id"] = f"{patient.get('id')}-{i}"
        records.append(PatientRecord(patient=patient, resources=copy.deepcopy(src.resources)))
    return records, SYNTHEA_AS_OF, None


def load_records(source: str, count: int) -> tuple[list[PatientRecord], date, str | None, str]:
    if source in ("auto", "clinic"):
        try:
            records, as_of, tz = clinic_records(count)
            return records, as_of, tz, "synthetic clinic (seed 1)"
        except ImportError:
            if source == "clinic":
                raise
    records, as_of, tz = synthea_records(count)
    return records, as_of, tz, "Synthea bundles (replicated)"


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def evaluation_figures(
    records: list[PatientRecord], as_of: date, library: Library, tz: str | None, repeat: int
) -> dict[str, Any]:
    """Median wall and CPU seconds to evaluate every record against the library."""

    from healthprep_desktop.screening.visit_status import refine

    def once() -> None:
        for record in records:
            evaluate(record, as_of, library, tz=tz)

    def with_visit_statuses() -> None:
        # What a batch runs per patient: the library's rules, then the visit-day statuses
        # (follow-up, documented reasons, measure-backed rows such as DXA or immunizations).
        for record in records:
            refine(evaluate(record, as_of, library, tz=tz), record, as_of, library)

    once()  # warm the code resolver and value-set unions, as a running app would be
    with_visit_statuses()
    runs = [_timed(once) for _ in range(repeat)]
    full = [_timed(with_visit_statuses) for _ in range(repeat)]
    statuses: Counter[str] = Counter()
    for record in records:
        for result in evaluate(record, as_of, library, tz=tz):
            statuses[result.status.value] += 1
    return {
        "patients": len(records),
        "screenings": len({s.group for s in library.screenings}),
        "resources": sum(len(r.resources) for r in records),
        "wall_s": statistics.median(w for w, _ in runs),
        "cpu_s": statistics.median(c for _, c in runs),
        "full_wall_s": statistics.median(w for w, _ in full),
        "full_cpu_s": statistics.median(c for _, c in full),
        "statuses": dict(sorted(statuses.items())),
    }


def measure_figures(records: list[PatientRecord], year: int, repeat: int) -> dict[str, Any]:
    """Median wall and CPU seconds for measure mode: every patient x every CMS measure, and
    the MeasureReports built from the outcomes (what `batch --measure-reports` writes)."""
    from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures
    from healthprep_desktop.screening.measures.registry import MEASURES

    period = MeasurementPeriod.calendar_year(year)
    errors: Counter[str] = Counter()
    in_ipp: Counter[str] = Counter()

    def once() -> None:
        for record in records:
            result = evaluate_measures(record.patient, record.resources, period)
            result.reports(period)

    once()
    runs = [_timed(once) for _ in range(repeat)]
    for record in records:
        result = evaluate_measures(record.patient, record.resources, period)
        errors.update(result.errors)
        for cms, report in result.reports(period).items():
            if report["group"][0]["population"][0]["count"]:
                in_ipp[cms] += 1
    return {
        "patients": len(records),
        "measures": len(MEASURES),
        "wall_s": statistics.median(w for w, _ in runs),
        "cpu_s": statistics.median(c for _, c in runs),
        "errors": dict(errors),
        "in_ipp": dict(sorted(in_ipp.items(), key=lambda kv: int(kv[0][3:]))),
    }


def day_print_figures(limit: int | None = None) -> dict[str, Any]:
    """The demo day's sheets (as `batch --demo` renders them), then the day print: huddle list,
    sheets by provider and time, bookmarks, duplex padding; handed to the print system. With
    no CUPS here, a stand-in lp (a PDF printer: it keeps the file) takes the job, so the
    figure covers building the PDF, writing the private spool file and the hand-over."""
    import os
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "screening"))
    from demo_day import demo_contexts

    from healthprep_desktop.screening.sheet import render_sheet
    from healthprep_desktop.screening.sheet_day import render_day_print
    from healthprep_desktop.workers.print_job import lp_command, send_pdf

    contexts = demo_contexts(limit)
    render_sheet(contexts[0])  # fonts registered, styles built
    wall, cpu = time.perf_counter(), time.process_time()
    pdfs = [render_sheet(ctx) for ctx in contexts]
    sheet_wall, sheet_cpu = time.perf_counter() - wall, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as folder:
        if lp_command() is None:
            stand_in = Path(folder) / "lp"
            stand_in.write_text('#!/bin/sh\nfor f; do :; done\ncp "$f" "$(dirname "$0")/job.pdf"\n')
            stand_in.chmod(0o700)
            os.environ["HEALTHPREP_LP"] = str(stand_in)
        started = time.perf_counter()
        printed = render_day_print(pdfs, duplex=True, title="Demo Family Practice")
        built = time.perf_counter() - started
        handed = send_pdf(printed.pdf, duplex=True, spool_dir=Path(folder) / "spool")
        total = time.perf_counter() - started
    return {
        "patients": len(pdfs),
        "sheets_per_s_wall": len(pdfs) / sheet_wall,
        "sheets_per_s_cpu": len(pdfs) / max(sheet_cpu, 1e-9),
        "built_s": built,
        "handed_s": total,
        "mb": len(printed.pdf) / 1e6,
        "pages": printed.pages,
        "via": handed.command,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", choices=("auto", "clinic", "synthea"), default="auto")
    parser.add_argument("--sheets", type=int, default=60, help="sheets to render for the rate")
    parser.add_argument("--ocr-pages", type=int, default=3, help="scanned pages to OCR")
    args = parser.parse_args(argv)
    library = default_library()
    records, as_of, tz, label = load_records(args.source, args.patients)
    figures = evaluation_figures(records, as_of, library, tz, args.repeat)
    per_patient_ms = figures["cpu_s"] / max(1, figures["patients"]) * 1000
    print(f"source: {label}; as of {as_of.isoformat()}; time zone {tz or 'as written'}")
    print(
        f"screening evaluation: {figures['patients']} patients x {figures['screenings']} "
        f"screenings ({figures['resources']} resources): "
        f"{figures['wall_s']:.3f} s wall, {figures['cpu_s']:.3f} s CPU "
        f"(median of {args.repeat}; {per_patient_ms:.2f} ms CPU per patient)"
    )
    print("statuses:", ", ".join(f"{k} {v}" for k, v in figures["statuses"].items()))
    print(
        f"with the visit-day statuses (visit_status.refine): {figures['full_wall_s']:.3f} s "
        f"wall, {figures['full_cpu_s']:.3f} s CPU for {figures['patients']} patients "
        f"(target under 1 s)"
    )
    year = as_of.year
    measures = measure_figures(records, year, args.repeat)
    print(
        f"measure mode: {measures['patients']} patients x {measures['measures']} measures, "
        f"period {year}: {measures['wall_s']:.3f} s wall, {measures['cpu_s']:.3f} s CPU "
        f"(median of {args.repeat}; target under 2 s); ratio to screening evaluation "
        f"{measures['cpu_s'] / max(figures['cpu_s'], 1e-9):.2f}x CPU"
    )
    in_ipp = ", ".join(f"{k} {v}" for k, v in measures["in_ipp"].items())
    print("in the initial population:", in_ipp)
    if measures["errors"]:
        print("measures that failed:", measures["errors"])
    # Sheets per second, OCR per page (cold and cached), keyword matching.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _documents_bench import bench_keywords, bench_ocr, bench_sheets

    bench_sheets(args.sheets)
    day = day_print_figures()
    print(
        f"demo day sheets: {day['patients']} rendered at {day['sheets_per_s_wall']:.1f}/s wall, "
        f"{day['sheets_per_s_cpu']:.1f}/s CPU (1 core)"
    )
    print(
        f"day print ({day['patients']} patients, huddle list + sheets, duplex): "
        f"{day['pages']} pages, {day['mb']:.1f} MB vector PDF, built in {day['built_s']:.2f} s, "
        f"handed to the print system ({day['via']}) in {day['handed_s']:.2f} s "
        f"(target under 10 s and 30 MB)"
    )
    bench_ocr(args.ocr_pages)
    bench_keywords()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
