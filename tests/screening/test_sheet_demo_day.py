"""The demo day's sheets and day print, read back with pymupdf (issue 14's acceptance).

The whole day (174 visits of the synthetic clinic, as `batch --demo` prepares it) is screened
and rendered once per module, in-process; every check reads the PDFs, not our own data.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pymupdf
import pytest
from demo_day import demo_contexts

from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_data import build_content
from healthprep_desktop.screening.sheet_day import render_day_print
from healthprep_desktop.screening.sheet_model import DEMO_BANNER, SheetContext

HEADINGS = re.compile(
    r"^(Today|Quality checklist|Active problems|Medications|Recent labs|Imaging|"
    r"Specialist consults|Hospital stays|Recent documents|Notes)\b"
)


@pytest.fixture(scope="module")
def day() -> tuple[list[SheetContext], list[bytes]]:
    contexts = demo_contexts()
    return contexts, [render_sheet(ctx) for ctx in contexts]


def _body_lines(page: Any) -> list[str]:
    """The page's text lines top to bottom, without the footer and running header."""
    height = page.rect.height
    lines: list[tuple[float, str]] = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            text = "".join(span["text"] for span in line["spans"]).strip()
            top, bottom = line["bbox"][1], line["bbox"][3]
            if not text or bottom > height - 50 or top < 36:
                continue
            if DEMO_BANNER in text and abs(line["dir"][1]) > 0.1:
                continue  # the diagonal watermark
            lines.append((bottom, text))
    return [t for _, t in sorted(lines)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_page_counts_and_page_one(day: tuple[list[SheetContext], list[bytes]]) -> None:
    contexts, pdfs = day
    assert len(pdfs) == 174
    pages = Counter()
    for ctx, pdf in zip(contexts, pdfs, strict=True):
        content = build_content(ctx)
        with pymupdf.open(stream=pdf) as doc:
            pages[doc.page_count] += 1
            first = _flat(doc[0].get_text())
            assert "Today" in first and "Quality checklist" in first
            for row in content.checklist:  # the whole checklist is on page 1
                assert _flat(row.name) in first, row.name
            for number, page in enumerate(doc, start=1):
                text = page.get_text()
                assert "UTC" not in text and "+00:00" not in text
                assert DEMO_BANNER in text  # watermark on every page
                body = _body_lines(page)
                assert not HEADINGS.match(body[-1]), (number, body[-1])
    at_most_two = (pages[1] + pages[2]) / len(pdfs)
    assert at_most_two >= 0.95, pages
    print(f"page counts: {sorted(pages.items())}")


def test_every_result_not_at_goal_is_shown_as_such(
    day: tuple[list[SheetContext], list[bytes]],
) -> None:
    contexts, pdfs = day
    seen = 0
    for ctx, pdf in zip(contexts, pdfs, strict=True):
        with pymupdf.open(stream=pdf) as doc:
            first = _flat(doc[0].get_text())
        for result in ctx.results:
            if result.status is Status.NOT_AT_GOAL:
                seen += 1
                assert f"{_flat(result.name)}: not at goal" in first
                assert "Not at goal" in first
    assert seen >= 5  # the demo day has them; the check must not pass vacuously


def test_times_are_clinic_time(day: tuple[list[SheetContext], list[bytes]]) -> None:
    _, pdfs = day
    with pymupdf.open(stream=pdfs[0]) as doc:
        text = doc[0].get_text()
    assert "Fri 4 Dec 2026, 08:00" in text  # the first visit, Chicago time
    assert "Data fetched Thu 3 Dec 2026, 17:55" in text  # 23:55 UTC, in the clinic's zone
    assert re.search(r"\d\.\d{4,}", text) is None  # no lab value with many decimals


def test_day_print(day: tuple[list[SheetContext], list[bytes]]) -> None:
    _, pdfs = day
    started = time.perf_counter()
    printed = render_day_print(pdfs, duplex=True, title="Demo Family Practice")
    seconds = time.perf_counter() - started
    assert printed.patients == 174
    assert seconds < 10 and len(printed.pdf) < 30 * 1024 * 1024, (seconds, len(printed.pdf))
    with pymupdf.open(stream=printed.pdf) as doc:
        toc = doc.get_toc()
        patients = [entry for entry in toc if entry[0] == 2]
        assert len(patients) == 174
        providers = [entry[1] for entry in toc if entry[0] == 1][1:]
        assert providers == sorted(providers)  # sheets sorted by provider
        for _, label, page in patients:
            name = label.split("  ", 1)[1]
            assert name in doc[page - 1].get_text(), label
            assert (page - 1) % 2 == 0  # duplex: every sheet starts on a front side
        first = doc[0].get_text()
        assert "Huddle list:" in first and DEMO_BANNER in first
        # Not rasterised: the sheets are text, and carry no page-sized images.
        assert all(not page.get_images() for page in doc)
    print(f"day print: {seconds:.2f} s, {len(printed.pdf) / 1e6:.1f} MB, {printed.pages} pages")


def test_one_provider_and_a_selection(day: tuple[list[SheetContext], list[bytes]]) -> None:
    contexts, pdfs = day
    provider = contexts[0].appointment.provider if contexts[0].appointment else None
    assert provider
    mine = sum(1 for c in contexts if c.appointment and c.appointment.provider == provider)
    one = render_day_print(pdfs, provider=provider)
    assert one.patients == mine and one.providers == (provider,)
    chosen = render_day_print(pdfs, selected=[3, 1], huddle=False)
    assert chosen.patients == 2
    with pymupdf.open(stream=chosen.pdf) as doc:
        assert "Huddle list" not in doc[0].get_text()
