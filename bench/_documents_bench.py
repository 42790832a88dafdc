"""Document and sheet figures for bench/screening.py (run that).

Prints document and prep-sheet figures: sheets rendered per second, OCR seconds per page
(cold and cached), keyword matching over 1 MB of text.

    .venv/bin/python bench/screening_documents.py [--sheets 60] [--ocr-pages 3]

Single process, one core: the batch runs these in a process pool, so multiply by workers.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from healthprep_desktop.screening.documents import extract_text
from healthprep_desktop.screening.keywords import find_keyword_matches
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.record import (
    DocumentText,
    PatientRecord,
    TextMethod,
)
from healthprep_desktop.screening.sheet import (
    Appointment,
    SheetContext,
    render_day,
    render_sheet,
)

AS_OF = date(2021, 6, 30)
pdf_lib: Any = pymupdf  # pymupdf's partial annotations trip strict mypy call by call


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get(self, content_hash: str) -> str | None:
        return self.entries.get(content_hash)

    def put(self, content_hash: str, text: str, method: TextMethod) -> None:
        self.entries[content_hash] = text


def typical_context(seed: int) -> SheetContext:
    """A typical adult chart: a dozen labs over a year, a few problems and medications."""
    rng = random.Random(seed)
    resources: list[dict[str, Any]] = []
    for i in range(40):
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "category": [{"coding": [{"code": "laboratory"}]}],
                "code": {"text": f"Lab test {i % 14}"},
                "effectiveDateTime": f"2021-{1 + i % 6:02d}-{1 + i % 27:02d}",
                "valueQuantity": {"value": round(rng.uniform(1, 200), 1), "unit": "mg/dL"},
            }
        )
    for i, name in enumerate(["Hypertension", "Type 2 diabetes", "Hyperlipidemia", "Obesity"]):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"c{i}",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"text": name},
                "onsetDateTime": f"201{i}-01-01",
            }
        )
    for i, name in enumerate(["Metformin 500 mg", "Lisinopril 10 mg", "Atorvastatin 20 mg"]):
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"m{i}",
                "status": "active",
                "medicationCodeableConcept": {"text": name},
                "dosageInstruction": [{"text": "once daily"}],
                "authoredOn": "2020-01-01",
            }
        )
    resources.append(
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "EMER"},
            "period": {"start": "2021-02-01", "end": "2021-02-01"},
            "reasonCode": [{"text": "Chest pain"}],
        }
    )
    record = PatientRecord(
        {
            "resourceType": "Patient",
            "id": f"p{seed}",
            "name": [{"family": f"Example{seed}", "given": ["Pat"]}],
            "gender": "female",
            "birthDate": "1960-02-03",
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN{seed:05d}"}],
        },
        resources,
        [
            DocumentText(
                "DocumentReference/d1",
                "Outside colonoscopy",
                date(2021, 1, 5),
                "application/pdf",
                "0" * 64,
                "text",
                TextMethod.TEXT_LAYER,
                pages=2,
            )
        ],
        fetched_at=datetime(2021, 6, 29, 17, 0, tzinfo=UTC),
        source="Sandbox",
    )
    statuses = list(Status)
    results = [
        ScreeningResult(
            f"s{i}",
            f"Screening number {i}",
            statuses[i % len(statuses)],
            f"Evidence line for screening {i}; next due 2022-01-01",
            last_done=date(2020, 1, 1),
            next_due=date(2022, 1, 1),
            frequency="every year",
        )
        for i in range(16)
    ]
    return SheetContext(
        record,
        results,
        AS_OF,
        Appointment(datetime(2021, 7, 1, 9, 0), "Dr. Smith", "Clinic", "Follow-up"),
        "Bench Clinic",
        generated_at=datetime(2021, 6, 30, 7, 0),
    )


def scanned_pdf(pages: int) -> bytes:
    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    font: Any = (
        ImageFont.truetype(str(font_path), 34)
        if font_path.is_file()
        else ImageFont.load_default(size=34)
    )
    doc = pdf_lib.open()
    for n in range(pages):
        image = Image.new("L", (1700, 2200), 255)  # Letter at 200 dpi
        draw = ImageDraw.Draw(image)
        for line in range(30):
            draw.text(
                (140, 160 + line * 62),
                f"Page {n + 1} line {line}: colonoscopy findings, hemoglobin A1c 7.{line}",
                fill=0,
                font=font,
            )
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        page = doc.new_page(width=612, height=792)
        page.insert_image(page.rect, stream=buffer.getvalue())
    data: bytes = doc.tobytes()
    return data


def bench_sheets(count: int) -> None:
    contexts = [typical_context(i) for i in range(count)]
    render_sheet(contexts[0])  # fonts registered, styles built
    started = time.perf_counter()
    sheets = [render_sheet(ctx) for ctx in contexts]
    elapsed = time.perf_counter() - started
    pages = sum(pdf_lib.open(stream=s).page_count for s in sheets[:5]) / 5
    print(f"sheets rendered per second (1 core): {count / elapsed:.1f}  ({pages:.1f} pages each)")
    started = time.perf_counter()
    day = render_day(sheets)
    print(
        f"day PDF of {count} sheets: {time.perf_counter() - started:.2f} s, "
        f"{len(day) / 1024:.0f} KiB"
    )


def bench_ocr(pages: int) -> None:
    data = scanned_pdf(pages)
    cache = MemoryCache()
    started = time.perf_counter()
    doc = extract_text("DocumentReference/b", "scan", None, "application/pdf", data, cache=cache)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = extract_text("DocumentReference/b", "scan", None, "application/pdf", data, cache=cache)
    cached = time.perf_counter() - started
    assert doc.ocr_pages == pages and again.text == doc.text
    print(f"OCR seconds per page, cold:   {cold / pages:.3f}  ({pages} pages, OMP_THREAD_LIMIT=1)")
    print(f"OCR seconds per page, cached: {cached / pages:.6f}")


def bench_keywords() -> None:
    rng = random.Random(1)
    words = ("patient", "seen", "today", "follow", "up", "hypertension", "diabetes", "plan")
    text = " ".join(rng.choice(words) for _ in range(180_000))[:1_000_000]
    keywords = [
        *("colonoscopy", "mammogram", "A1c", "HbA1c", "pap smear", "cytology", "HPV", "FIT"),
        *("fecal immunochemical", "cologuard", "stool DNA", "sigmoidoscopy", "CT colonography"),
        *("low dose CT", "LDCT", "DXA", "DEXA", "bone density", "aortic aneurysm", "ultrasound"),
        *("hepatitis C", "HCV", "HIV", "lipid panel", "cholesterol", "depression screening"),
        *("PHQ-9", "PHQ9", "tobacco", "smoking", "eye exam", "retinopathy", "retinal"),
        *("microalbumin", "uACR", "eGFR", "influenza", "flu vaccine", "pneumococcal", "Prevnar"),
        *("Pneumovax", "shingrix", "zoster", "Tdap", "tetanus", "mammography", "breast imaging"),
        *("FOBT", "guaiac", "ophthalmology"),
    ]
    doc = DocumentText("DocumentReference/k", "", None, "text/plain", "0", text, TextMethod.PLAIN)
    find_keyword_matches(doc, keywords)  # compile once (cached per keyword set)
    runs = 5
    started = time.perf_counter()
    for _ in range(runs):
        find_keyword_matches(doc, keywords)
    per = (time.perf_counter() - started) / runs
    print(f"keyword matching, 1 MB x {len(keywords)} keywords: {per * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sheets", type=int, default=60)
    parser.add_argument("--ocr-pages", type=int, default=3)
    args = parser.parse_args(argv)
    bench_sheets(args.sheets)
    bench_ocr(args.ocr_pages)
    bench_keywords()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
