"""UI test fixtures: a qasync loop on pytest-qt's QApplication, a real encrypted store with real
sheets, and helpers that wait on the Qt loop (never asyncio.run on the Qt thread).

The loop is created with ``already_running=True``: pytest-qt's waits (qtbot.waitUntil,
waitSignal) spin Qt's event loop, and qasync runs asyncio callbacks from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from datetime import date
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.record import DocumentText, PatientRecord, TextMethod
from healthprep_desktop.screening.sheet import render_sheet
from healthprep_desktop.screening.sheet_model import SheetContext
from healthprep_desktop.store import Store, TenantScope
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.gc_guard import MainThreadCollector
from healthprep_desktop.ui.session import AppSession

T = TypeVar("T")
_CLOSED_LOOPS: list[qasync.QEventLoop] = []
DAY = date(2026, 11, 23)  # a Monday
NOTE = "Colonoscopy 2021-03-04: normal. Repeat in 10 years."


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    # Collect garbage on this thread only, as the app does (see ui.gc_guard): a Qt object
    # destroyed by a collection in another thread crashes the next test's event processing.
    collector = MainThreadCollector()
    loop = qasync.QEventLoop(qapp, already_running=True)
    tasks.configure_loop(loop)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = tasks.running()
        for task in pending:
            task.cancel()
        deadline = 200
        while any(not t.done() for t in pending) and deadline:
            qapp.processEvents()
            deadline -= 1
        tasks._RUNNING.clear()
        # Not loop.stop(): it calls QApplication.exit(), after which pytest-qt's waits in the
        # next test no longer deliver timer events. Mark it stopped by hand instead.
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)
        _CLOSED_LOOPS.append(loop)  # never collected: its Qt timers die with the process
        collector.stop()


def run(qtbot: QtBot, coro: Coroutine[Any, Any, T], timeout: int = 20_000) -> T:
    """Run a coroutine on the qasync loop, spinning Qt until it is done."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


@pytest.fixture
def session(store: Store, qloop: qasync.QEventLoop) -> Iterator[AppSession]:
    s = AppSession(store)
    s.create_tenant("Main Street Clinic")
    yield s


@pytest.fixture
def window_settings(tmp_path: Any) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


def sample_record(patient_id: str, given: str = "Rosa", family: str = "Alvarez") -> PatientRecord:
    return PatientRecord(
        patient={
            "resourceType": "Patient",
            "id": patient_id,
            "name": [{"given": [given], "family": family}],
            "gender": "female",
            "birthDate": "1960-04-02",
        },
        documents=[
            DocumentText(
                f"DocumentReference/{patient_id}-d1",
                "Colonoscopy report",
                date(2021, 3, 4),
                "text/plain",
                f"hash-{patient_id}",
                NOTE,
                TextMethod.PLAIN,
            )
        ],
    )


def save_sheet(scope: TenantScope, patient_id: str, day: date = DAY) -> int:
    """A real sheet (engine results, rendered PDF) stored the way the batch stores it."""
    record = sample_record(patient_id)
    results = evaluate(record, day)
    pdf = render_sheet(SheetContext(record, results, day))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    envelope = {"format": 1, "summary": counts, "results": [r.to_json() for r in results]}
    return scope.sheets.save(patient_id, day, pdf, envelope).id
