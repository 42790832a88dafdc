"""Document attachments: text-layer PDFs, image-only scans that need OCR, plain text and HTML."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections import Counter
from typing import Any

import pymupdf
import pytesseract
import pytest
from PIL import Image

from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.documents import DocFormat, Note, render, scanned_pdf

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def documents() -> list[tuple[JSON, bytes]]:
    resources = SyntheticClinic(seed=21, patients=60).resources()
    binaries = {r["id"]: r for r in resources if r["resourceType"] == "Binary"}
    found = []
    for doc in resources:
        if doc["resourceType"] != "DocumentReference":
            continue
        attachment = doc["content"][0]["attachment"]
        encoded = (
            attachment.get("data") or binaries[attachment["url"].removeprefix("Binary/")]["data"]
        )
        found.append((doc, base64.b64decode(encoded)))
    return found


def _pdf_text(data: bytes) -> str:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        return "".join(page.get_text() for page in pdf)


def _kind(doc: JSON, data: bytes) -> str:
    content_type = doc["content"][0]["attachment"]["contentType"]
    if content_type == "application/pdf":
        return "text-pdf" if _pdf_text(data).strip() else "scanned-pdf"
    return content_type


def test_every_format_is_present_inline_and_behind_binary(
    documents: list[tuple[JSON, bytes]],
) -> None:
    kinds = Counter(_kind(doc, data) for doc, data in documents)
    assert {"text-pdf", "scanned-pdf", "text/plain", "text/html"} <= set(kinds)
    # Scans are expensive to OCR: a minority, but present.
    assert 0 < kinds["scanned-pdf"] < 0.2 * sum(kinds.values())
    places = Counter("url" in doc["content"][0]["attachment"] for doc, _ in documents)
    assert places[True] and places[False]


def test_attachment_size_and_hash_describe_the_bytes(documents: list[tuple[JSON, bytes]]) -> None:
    for doc, data in documents:
        attachment = doc["content"][0]["attachment"]
        assert attachment["size"] == len(data)
        sha1 = hashlib.sha1(data, usedforsecurity=False).digest()
        assert base64.b64decode(attachment["hash"]) == sha1


def test_titles_name_the_screenings_and_some_evidence_lives_only_in_documents(
    documents: list[tuple[JSON, bytes]],
) -> None:
    titles = {doc["description"] for doc, _ in documents}
    assert {"Colonoscopy report", "Outside records", "Office visit note"} <= titles
    assert titles & {
        "Mammogram result",
        "Retinal exam",
        "Pap smear result",
        "Bone density (DXA) report",
    }


def test_a_scanned_pdf_has_no_text_layer_and_a_text_pdf_has_one(
    documents: list[tuple[JSON, bytes]],
) -> None:
    scans = [data for doc, data in documents if _kind(doc, data) == "scanned-pdf"]
    texts = [(doc, data) for doc, data in documents if _kind(doc, data) == "text-pdf"]
    with pymupdf.open(stream=scans[0], filetype="pdf") as pdf:
        assert pdf.page_count == 1
        assert pdf[0].get_text().strip() == ""
        assert len(pdf[0].get_images()) == 1
    doc, data = texts[0]
    assert doc["description"] in _pdf_text(data)


def test_rendering_is_byte_identical_for_every_format() -> None:
    note = Note("Colonoscopy report", ("Colonoscopy performed 2019-04-02, no polyps.",))
    for fmt in DocFormat:
        assert render(note, fmt) == render(Note(note.title, tuple(note.lines)), fmt)
    assert b"Colonoscopy performed 2019-04-02" in render(note, DocFormat.PLAIN)
    assert b"<h1>Colonoscopy report</h1>" in render(note, DocFormat.HTML)


@pytest.mark.ocr
def test_tesseract_reads_the_keyword_and_date_from_a_scanned_page() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    scanned_pdf.cache_clear()  # render afresh, not from the cache
    note = Note(
        "Colonoscopy report",
        ("Date of procedure: 2019-04-02", "Colonoscopy performed 2019-04-02, no polyps."),
    )
    with pymupdf.open(stream=render(note, DocFormat.SCANNED_PDF), filetype="pdf") as pdf:
        assert pdf[0].get_text().strip() == ""
        pixmap = pdf[0].get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)
    image = Image.open(io.BytesIO(pixmap.tobytes("png")))
    text = pytesseract.image_to_string(image, timeout=60).lower()
    assert "colonoscopy" in text
    assert "2019-04-02" in text
