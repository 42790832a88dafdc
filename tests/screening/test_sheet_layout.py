"""Layout rules of the sheet that the demo day may not exercise: a chart without a birth date,
units and rounding, clinic-time formatting, and a footer that never overflows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pymupdf
import pytest
from demo_day import DEMO_DAY, demo_contexts

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_data import build_content
from healthprep_desktop.screening.sheet_sections import observation_value
from healthprep_desktop.screening.sheet_units import (
    fmt_local,
    human_unit,
    human_units,
    range_flag,
    round_value,
)


def _flat(pdf: bytes) -> list[str]:
    with pymupdf.open(stream=pdf) as doc:
        return [" ".join(page.get_text().split()) for page in doc]


def test_no_birth_date_gives_one_line_not_a_row_per_screening() -> None:
    ctx = demo_contexts(limit=1)[0]
    patient = {k: v for k, v in ctx.record.patient.items() if k != "birthDate"}
    record = dataclasses.replace(ctx.record, patient=patient)
    results = evaluate(record, DEMO_DAY, tz=ctx.tz)
    undecided = [r for r in results if r.reason == "birth date missing"]
    assert len(undecided) >= 15  # the engine says it once per age-based screening
    pages = _flat(render_sheet(dataclasses.replace(ctx, record=record, results=results)))
    assert len(pages) == 1  # was three pages of identical rows
    first = pages[0]
    assert f"No usable birth date: {len(undecided)} age-based screening(s) cannot be" in first
    assert "Insufficient data" not in first  # no row per screening
    assert "Confirm birth date at check-in" in first  # and the Today box says what to do


def test_units_rounding_and_flags() -> None:
    assert human_unit("mL/min/{1.73_m2}") == "mL/min/1.73 m²"
    assert human_unit("mm[Hg]") == "mmHg" and human_unit("kg/m2") == "kg/m²"
    assert human_unit("{pack-years}") == "pack-years"
    assert human_units("eGFR 58 mL/min/{1.73_m2} on 2026-05-03") == (
        "eGFR 58 mL/min/1.73 m² on 2026-05-03"
    )
    assert round_value(7.199999999999999) == "7.2"
    assert round_value(0.123456) == "0.123" and round_value(1234.5678) == "1235"
    ranges = [{"low": {"value": 0.55}, "high": {"value": 1.25}}]
    assert round_value(1.3456, ranges) == "1.35"  # the range's two decimals
    assert range_flag(1.3456, ranges) == "H" and range_flag(0.5, ranges) == "L"
    obs = {
        "valueQuantity": {
            "value": 58.123456789,
            "unit": "mL/min/{1.73_m2}",
            "system": "http://unitsofmeasure.org",
            "code": "mL/min/{1.73_m2}",
        }
    }
    assert observation_value(obs) == "58.1 mL/min/1.73 m²"


def test_clinic_time_never_says_utc() -> None:
    chicago = ZoneInfo("America/Chicago")
    when = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert fmt_local(when, chicago) == "Fri 4 Dec 2026, 08:00"
    assert fmt_local(datetime(2026, 12, 4, 8, 0), chicago) == "Fri 4 Dec 2026, 08:00"
    assert fmt_local(None, chicago) == "—"


@pytest.mark.parametrize("source", ["Epic", "A very long connection name " * 8])
def test_footer_never_overflows(source: str) -> None:
    ctx = demo_contexts(limit=1)[0]
    ctx = dataclasses.replace(ctx, source_system=source)
    content = build_content(ctx)
    with pymupdf.open(stream=render_sheet(ctx)) as doc:
        page = doc[0]
        left = page.search_for("Data fetched")[0]
        right = page.search_for("Page 1 of")[0]
        line = next(
            s
            for b in page.get_text("dict")["blocks"]
            for ln in b.get("lines", [])
            for s in ln["spans"]
            if s["text"].startswith("Data fetched")
        )
        assert left.y0 == pytest.approx(right.y0, abs=2)  # one line
        assert line["bbox"][2] < right.x0 - 4  # ends before "Page 1 of N"
        assert f"Printed {content.generated_at}" in line["text"]
        if len(source) > 100:
            assert "…" in line["text"]


def test_demo_sheets_say_so_whatever_the_clinic_is_called() -> None:
    ctx = dataclasses.replace(demo_contexts(limit=1)[0], clinic_name="Main Street Clinic")
    for number, page in enumerate(_flat(render_sheet(ctx)), start=1):
        assert "DEMO: synthetic patients" in page, number
    assert "DEMO: synthetic patients: not real people" in _flat(render_sheet(ctx))[0]  # header
    real = dataclasses.replace(ctx, record=dataclasses.replace(ctx.record, source="Epic"))
    assert not any("DEMO" in page for page in _flat(render_sheet(real)))
