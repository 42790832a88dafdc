"""Golden images of three sheets (rendered to small greyscale PNGs, compared with a tolerance):
a busy adult, a child, and a patient with a non-Latin name and notes.

A layout change shows up here as a picture, not as a string: look at the PNGs in
tests/screening/golden/ (and the failing render written next to them) before accepting it.
Regenerate deliberately with HEALTHPREP_UPDATE_GOLDEN=1; rendering is deterministic (shipped
fonts, reportlab's invariant mode), so the goldens do not drift on their own.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pymupdf
import pytest
from demo_day import demo_contexts
from PIL import Image, ImageChops, ImageStat

from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_data import build_content
from healthprep_desktop.screening.sheet_model import Appointment, SheetContext

GOLDEN = Path(__file__).parent / "golden"
DPI = 40
MEAN_TOLERANCE = 1.5  # mean absolute grey-level difference (0-255)
PIXEL_TOLERANCE = 0.01  # share of pixels that may differ by more than 64 grey levels


def _age(ctx: SheetContext) -> int:
    text = build_content(ctx).header.age
    return int(text.split()[0]) if text else -1


@pytest.fixture(scope="module")
def chosen() -> dict[str, SheetContext]:
    contexts = demo_contexts(limit=80)
    busy = max(contexts, key=lambda c: (len(build_content(c).today), c.record.patient["id"]))
    child = next(c for c in contexts if 0 <= _age(c) < 12)
    base = contexts[1]
    patient = dict(base.record.patient)
    patient["name"] = [{"use": "official", "family": "王", "given": ["小明"]}]
    appointment = base.appointment or Appointment()
    note = "Follow-up · כהן שרה (daughter) interprets · मधुमेह जाँच · عيادة السكري 😀"
    non_latin = dataclasses.replace(
        base,
        record=dataclasses.replace(base.record, patient=patient),
        appointment=dataclasses.replace(appointment, reason=note),
    )
    return {"busy-adult": busy, "child": child, "non-latin": non_latin}


def _pngs(pdf: bytes) -> list[bytes]:
    with pymupdf.open(stream=pdf) as doc:
        return [page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY).tobytes("png") for page in doc]


@pytest.mark.parametrize("name", ["busy-adult", "child", "non-latin"])
def test_sheet_matches_its_golden_image(name: str, chosen: dict[str, SheetContext]) -> None:
    pages = _pngs(render_sheet(chosen[name]))
    update = os.environ.get("HEALTHPREP_UPDATE_GOLDEN") == "1"
    GOLDEN.mkdir(exist_ok=True)
    expected = sorted(GOLDEN.glob(f"{name}-p*.png"))
    if update or not expected:
        for old in expected:
            old.unlink()
        for n, png in enumerate(pages, start=1):
            (GOLDEN / f"{name}-p{n}.png").write_bytes(png)
        if not update:
            pytest.fail(f"golden images for {name} were missing and have been written")
        return
    assert len(pages) == len(expected), f"{name}: {len(pages)} pages, golden {len(expected)}"
    for n, (png, golden) in enumerate(zip(pages, expected, strict=True), start=1):
        got = Image.open(io.BytesIO(png)).convert("L")
        want = Image.open(golden).convert("L")
        assert got.size == want.size
        diff = ImageChops.difference(got, want)
        mean = ImageStat.Stat(diff).mean[0]
        histogram = diff.histogram()
        far = sum(histogram[65:]) / (got.size[0] * got.size[1])
        if mean > MEAN_TOLERANCE or far > PIXEL_TOLERANCE:
            got.save(GOLDEN.parent / f"{name}-p{n}.actual.png")
        assert mean <= MEAN_TOLERANCE and far <= PIXEL_TOLERANCE, (name, n, mean, far)
