"""``healthprep-desktop self-test``: the smoke test of every package (and of a dev install).

Opens a throwaway encrypted store, starts the demo clinic, signs in through the real loopback
flow, prepares a 5-patient day through the Qt bridge on a qasync loop (offscreen), reads one
sheet back, checks OCR and verifies the audit chain. Prints one line per check and exits 0 only
when every required check passed. Nothing touches the user's own store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

SELF_TEST_DAY = date(2026, 12, 1)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True
    seconds: float = 0.0


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, *, required: bool = True, t0: float) -> None:
        check = Check(name, ok, detail, required, time.monotonic() - t0)
        self.checks.append(check)
        mark = "PASS" if ok else ("FAIL" if required else "WARN")
        print(f"[{mark}] {name}: {detail} ({check.seconds:.1f} s)", flush=True)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks if c.required)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "self-test",
        help="smoke-test this installation (throwaway store, demo clinic, 5 patients)",
    )
    p.add_argument("--patients", type=int, default=5, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    home = Path(tempfile.mkdtemp(prefix="healthprep-selftest-"))
    report = Report()
    print(f"HealthPrep Desktop self-test in {home}", flush=True)
    try:
        _run_checks(report, home, args.patients)
    except Exception as exc:
        report.add("self-test", False, f"stopped: {type(exc).__name__}: {exc}", t0=time.monotonic())
        traceback.print_exc()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    failed = [c.name for c in report.checks if c.required and not c.ok]
    if failed:
        print(f"SELF-TEST FAILED: {', '.join(failed)}")
        return 1
    print(f"SELF-TEST PASSED: {len(report.checks)} checks")
    return 0


def _step(report: Report, name: str, fn: Callable[[], str], *, required: bool = True) -> bool:
    t0 = time.monotonic()
    try:
        detail = fn()
    except Exception as exc:
        report.add(name, False, f"{type(exc).__name__}: {exc}", required=required, t0=t0)
        return False
    report.add(name, True, detail, required=required, t0=t0)
    return True


def _run_checks(report: Report, home: Path, patients: int) -> None:
    from healthprep_desktop.store import Store

    state: dict[str, Any] = {}

    def open_store() -> str:
        store = Store.open_ephemeral(home / "selftest.db")
        state["store"] = store
        tenant = store.create_tenant("Self-test clinic")
        state["tenant"] = tenant.id
        return f"SQLCipher store at schema v{store.schema_version}, tenant created"

    if not _step(report, "encrypted store", open_store):
        return
    store = state["store"]
    try:
        _step(report, "ocr", _check_ocr, required=False)
        if not _step(report, "demo batch (Qt offscreen)", lambda: _batch(state, patients)):
            return
        _step(report, "sheet read back", lambda: _read_back(state))
        _step(report, "audit chain", lambda: _audit(store))
    finally:
        store.close()


def _check_ocr() -> str:
    from PIL import Image, ImageDraw

    from healthprep_desktop.screening.documents import OcrSettings
    from healthprep_desktop.screening.ocr import find_tesseract, ocr_image

    binary = find_tesseract()
    if binary is None:
        raise RuntimeError("tesseract not found: scanned documents will not be read")
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((20, 40), "COLONOSCOPY REPORT 2024", fill=0, font_size=40)
    text = ocr_image(image, OcrSettings())
    if "COLONOSCOPY" not in text.upper():
        raise RuntimeError(f"tesseract at {binary} did not read the test image")
    return f"tesseract at {binary} reads text"


def _batch(state: dict[str, Any], patients: int) -> str:
    import qasync
    from PySide6.QtWidgets import QApplication

    from healthprep_desktop.workers.batch import BatchJob
    from healthprep_desktop.workers.connections import open_connection
    from healthprep_desktop.workers.demo import DemoClinic
    from healthprep_desktop.workers.job import JobSpec
    from healthprep_desktop.workers.qt_bridge import BatchSignals

    store = state["store"]
    tenant_id = state["tenant"]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    signals = BatchSignals()
    seen = {"patient": 0, "progress": 0}
    signals.patient_changed.connect(lambda _e: seen.__setitem__("patient", seen["patient"] + 1))
    signals.progress.connect(lambda _e: seen.__setitem__("progress", seen["progress"] + 1))
    demo = DemoClinic(patients=max(patients * 4, 20), seed=5, clinic_day=SELF_TEST_DAY)
    demo.start()
    try:
        connection_id = demo.ensure_connection(store, tenant_id)

        async def go() -> Any:
            conn = open_connection(store, tenant_id, connection_id)
            try:
                await demo.login(conn)
                assert demo.clinic is not None  # the synthetic clinic, not an import
                ids = tuple(demo.clinic.patient_ids()[:patients])
                spec = JobSpec(
                    tenant_id=tenant_id,
                    connection_id=str(connection_id),
                    patient_ids=ids,
                    as_of=SELF_TEST_DAY,
                )
                job = BatchJob(
                    store,
                    spec,
                    connection=conn,
                    connection_id=connection_id,
                    listener=signals.listener,
                    concurrency=2,
                )
                return await job.run()
            finally:
                await conn.aclose()

        with loop:
            summary = loop.run_until_complete(go())
    finally:
        demo.stop()
        asyncio.set_event_loop(None)
    state["summary"] = summary
    if summary.done != patients or summary.failed:
        raise RuntimeError(f"{summary.done} of {patients} prepared, {summary.failed} failed")
    if not seen["patient"] or not seen["progress"]:
        raise RuntimeError("no progress arrived through the Qt signals")
    return (
        f"{summary.done} patients prepared in {summary.seconds:.1f} s "
        f"({summary.requests} requests, {seen['patient'] + seen['progress']} Qt signals)"
    )


def _read_back(state: dict[str, Any]) -> str:
    import pymupdf

    store, summary = state["store"], state["summary"]
    scope = store.tenant(state["tenant"])
    sheet_id = next(iter(summary.sheet_ids.values()))
    sheet = scope.sheets.get(sheet_id)
    if sheet is None:
        raise RuntimeError("the stored sheet is missing")
    with pymupdf.open(stream=sheet.pdf, filetype="pdf") as doc:  # type: ignore[no-untyped-call]
        text = "".join(page.get_text() for page in doc)
        pages = doc.page_count
    if "Quality checklist" not in text:
        raise RuntimeError("the sheet's text does not read back")
    results = sheet.info.results.get("results", [])
    if not results:
        raise RuntimeError("the sheet has no stored screening results")
    return f"sheet {sheet_id}: {pages} page(s), {len(results)} screenings"


def _audit(store: Any) -> str:
    result = store.audit.verify()
    if not result.ok:
        raise RuntimeError(f"audit chain broken at entry {result.broken_seq}: {result.reason}")
    return f"{result.entries} entries, chain intact"
