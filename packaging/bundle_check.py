"""Checks that a frozen bundle carries every native piece the app needs, run inside the bundle.

    healthprep-desktop --bundle-check [--require-ocr]

packaging/launch.py answers this hidden flag before the normal command line. It is not the app's
self-test (that exercises the app's behaviour: store, batch, sheets, audit); it proves the
packaging: that the hidden imports, Qt plugins, shared libraries and data files made it into the
bundle and load. Each check prints one line; the exit code is 0 only when all pass. It also runs
from a checkout (``python packaging/bundle_check.py``) so the checks themselves can be tested.
No patient data is involved; every check uses made-up values.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


class CheckFailed(RuntimeError):
    """A check found the bundle incomplete."""


def check_resources() -> str:
    from healthprep_desktop.paths import resources_dir

    folder = resources_dir()
    valuesets = list((folder / "valuesets").glob("*.json"))
    if not valuesets:
        raise CheckFailed(f"no value sets under {folder}")
    return f"{len(valuesets)} value sets in {folder}"


def check_sqlcipher() -> str:
    import sqlcipher3

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "check.db")
        key = "x'" + "ab" * 32 + "'"
        db = sqlcipher3.connect(path)
        db.execute(f'PRAGMA key = "{key}"')
        version = db.execute("PRAGMA cipher_version").fetchone()
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES ('encrypted')")
        db.commit()
        db.close()
        if b"encrypted" in Path(path).read_bytes():
            raise CheckFailed("the database file holds plaintext")
        db = sqlcipher3.connect(path)
        db.execute(f'PRAGMA key = "{key}"')
        row = db.execute("SELECT v FROM t").fetchone()
        db.close()
    if not version or row != ("encrypted",):
        raise CheckFailed("SQLCipher did not round-trip an encrypted row")
    return f"SQLCipher {version[0]}"


def check_fhir_models() -> str:
    from fhir.resources.R4B import get_fhir_model_class

    names = ("Patient", "Observation", "Procedure", "DocumentReference", "Bundle")
    for name in names:
        model = get_fhir_model_class(name)
        model.model_validate({"resourceType": name, "id": "check"} | _required_fields(name))
    return f"R4B {', '.join(names)} parse"


def _required_fields(name: str) -> dict[str, object]:
    code = {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]}
    required: dict[str, dict[str, object]] = {
        "Observation": {"status": "final", "code": code},
        "Procedure": {"status": "completed", "subject": {"reference": "Patient/check"}},
        "DocumentReference": {"status": "current", "content": [{"attachment": {"url": "x"}}]},
        "Bundle": {"type": "searchset"},
    }
    return required.get(name, {})


def check_pdf_stack() -> str:
    import pymupdf
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=letter)
    sheet.setFont("Helvetica-Bold", 14)
    sheet.drawString(72, 720, "Bundle check sheet")
    sheet.save()
    pdf = pymupdf.open(stream=buffer.getvalue(), filetype="pdf")  # type: ignore[no-untyped-call]
    with pdf as document:
        text = document[0].get_text()
    if "Bundle check sheet" not in text:
        raise CheckFailed("pymupdf did not read back the reportlab page")
    import reportlab

    return f"reportlab {reportlab.Version} wrote, pymupdf {pymupdf.VersionBind} read"


def check_http_stack() -> str:
    import httpx
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def metadata(_request: object) -> JSONResponse:
        return JSONResponse({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = Starlette(routes=[Route("/metadata", metadata)])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise CheckFailed("uvicorn did not start")
            time.sleep(0.02)
        response = httpx.get(f"http://127.0.0.1:{port}/metadata", timeout=5)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    if response.json().get("fhirVersion") != "4.0.1":
        raise CheckFailed("loopback request returned the wrong body")
    return f"uvicorn {uvicorn.__version__} served httpx {httpx.__version__} over loopback"


def check_keyring() -> str:
    import keyring
    from keyring.backend import get_all_keyring

    backends = sorted(
        {type(backend).__module__.rsplit(".", 1)[-1] for backend in get_all_keyring()}
    )
    expected = {"win32": "Windows", "darwin": "macOS"}.get(sys.platform)
    if expected is not None and expected not in backends:
        raise CheckFailed(f"{expected} keyring backend missing; found {backends}")
    default = type(keyring.get_keyring()).__name__
    return f"default {default}; viable backends {backends or 'none (headless)'}"


def _square(value: int) -> int:
    return value * value


def check_process_pool() -> str:
    # spawn starts the bundle's executable again; freeze_support() in launch.py must catch it.
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result = pool.submit(_square, 12).result(timeout=60)
    if result != 144:
        raise CheckFailed(f"spawned worker returned {result}")
    return "spawned worker answered"


def _tesseract_command() -> str | None:
    configured = os.environ.get("HEALTHPREP_TESSERACT")
    if configured and Path(configured).is_file():
        return configured
    return shutil.which("tesseract")


def check_tesseract(require: bool) -> str:
    command = _tesseract_command()
    if command is None:
        if require:
            raise CheckFailed("no tesseract bundled or on PATH")
        return "no tesseract: OCR would be off"
    import pytesseract
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (900, 140), 255)
    font = ImageFont.load_default(size=64)
    ImageDraw.Draw(image).text((30, 30), "SCREENING 2024", fill=0, font=font)
    pytesseract.pytesseract.tesseract_cmd = command
    text = pytesseract.image_to_string(image, lang="eng", config="--psm 7")
    if "SCREENING" not in text.upper():
        raise CheckFailed(f"tesseract read {text.strip()[:40]!r}")
    bundle = getattr(sys, "_MEIPASS", None)
    bundled = bundle is not None and Path(command).resolve().is_relative_to(Path(bundle).resolve())
    where = "bundled" if bundled else "from PATH"
    return f"tesseract {pytesseract.get_tesseract_version()} ({where}) read the test image"


def check_child_environment() -> str:
    """Programs the app starts (tesseract, xdg-open, lpr) see the system's libraries.

    On Linux the bootloader points LD_LIBRARY_PATH at the bundle; the runtime hook undoes that
    for children unless the bundled tesseract needs it. Elsewhere nothing is changed.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    search_path = os.environ.get("LD_LIBRARY_PATH", "")
    if bundle is None or not sys.platform.startswith("linux"):
        return "nothing to undo on this platform" if bundle else "not frozen"
    tesseract = os.environ.get("HEALTHPREP_TESSERACT", "")
    needs_bundle = bool(tesseract) and Path(tesseract).resolve().is_relative_to(
        Path(bundle).resolve()
    )
    if bundle in search_path and not needs_bundle:
        raise CheckFailed("child programs would load the bundle's libraries (LD_LIBRARY_PATH)")
    return "LD_LIBRARY_PATH " + (
        "keeps the bundle for its tesseract" if needs_bundle else "restored"
    )


def check_qt() -> str:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImageReader
    from PySide6.QtPrintSupport import QPrinter
    from PySide6.QtWidgets import QApplication, QLabel, QStyleFactory

    app = QApplication.instance() or QApplication([sys.argv[0]])
    label = QLabel("Bundle check")
    label.resize(240, 60)
    pixmap = label.grab()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if pixmap.isNull() or not pixmap.save(buffer, "PNG") or data.size() == 0:
        raise CheckFailed("could not render a widget")
    formats = {bytes(fmt.data()).decode() for fmt in QImageReader.supportedImageFormats()}
    missing = {"jpeg", "svg", "png"} - formats
    if missing:
        raise CheckFailed(f"image formats missing: {sorted(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(Path(tmp) / "check.pdf"))
        from PySide6.QtGui import QPainter

        painter = QPainter(printer)
        painter.drawText(100, 100, "Bundle check")
        painter.end()
        if (Path(tmp) / "check.pdf").stat().st_size == 0:
            raise CheckFailed("QPrinter wrote an empty PDF")
    platform = QGuiApplication.platformName()
    app.processEvents()
    return f"{platform}: widget rendered, PDF printed; styles {QStyleFactory.keys()}"


def check_parquet() -> str:
    """The Parquet export survives the bundle's pruning (packaging spec: PYARROW_MODULES_DROPPED,
    pyarrow_kept_libraries): the app's own writer (zstd, row groups, every column kind) writes a
    file that reads back the same. It reads with ParquetFile, which needs only _parquet: the
    bundle leaves out pyarrow.dataset (pq.read_table tries it first, then falls back to
    ParquetFile)."""
    from datetime import date

    import pyarrow as pa
    import pyarrow.parquet as pq

    from healthprep_desktop.exports.columns import Column, Kind, Row, Table
    from healthprep_desktop.exports.writers import ROW_GROUP, Format, write_table

    table = Table("check", tuple(Column(kind.value, kind) for kind in Kind))
    full: Row = {"text": "due", "int": 3, "float": 1.5, "date": date(2026, 1, 2)}
    empty: Row = {"text_list": []}  # every other column missing: written as null
    rows = [{**full, "text_list": ["x", "y"]}, empty] * (ROW_GROUP // 2 + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path, count = write_table(iter(rows), table, Format.PARQUET, Path(tmp))
        parquet = pq.ParquetFile(path)
        back = parquet.read().to_pylist()
        groups = parquet.metadata.num_row_groups
        codec = parquet.metadata.row_group(0).column(0).compression
    expected = [{column.name: row.get(column.name) for column in table.columns} for row in rows]
    if count != len(rows) or back != expected:
        raise CheckFailed("a Parquet export did not read back the same rows")
    return f"pyarrow {pa.__version__}: {count} rows in {groups} row groups, {codec}"


def run_checks(require_ocr: bool = False) -> list[CheckResult]:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("resources", check_resources),
        ("sqlcipher", check_sqlcipher),
        ("fhir-r4b", check_fhir_models),
        ("pdf", check_pdf_stack),
        ("parquet", check_parquet),
        ("http", check_http_stack),
        ("keyring", check_keyring),
        ("process-pool", check_process_pool),
        ("tesseract", lambda: check_tesseract(require_ocr)),
        ("child-env", check_child_environment),
        ("qt", check_qt),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except Exception as exc:
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthprep-desktop --bundle-check")
    parser.add_argument("--require-ocr", action="store_true", help="fail without tesseract")
    args = parser.parse_args(argv)
    frozen = "frozen" if getattr(sys, "frozen", False) else "not frozen"
    print(f"bundle check ({frozen}, Python {sys.version.split()[0]}, {sys.platform})")
    results = run_checks(require_ocr=args.require_ocr)
    for result in results:
        print(f"  {'ok  ' if result.ok else 'FAIL'} {result.name:<13} {result.detail}")
    failed = [result.name for result in results if not result.ok]
    print("bundle check: " + (f"FAILED ({', '.join(failed)})" if failed else "passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
