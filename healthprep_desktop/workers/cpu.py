"""CPU-bound work run in a process pool: document text (OCR), screening and sheet rendering.

The pool uses the spawn start method on every platform: forking a process that runs Qt, an
embedded server thread or httpx connections copies locks in unknown states. Workers load the
screening library once and keep it (keyed by its hash).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from healthprep_desktop.screening.library import Library, default_library, library_from_json
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.sheet import render_sheet, render_sheet_text
from healthprep_desktop.screening.sheet_model import Appointment, SectionCutoffs, SheetContext
from healthprep_desktop.screening.visit_status import UserEntry, refine
from healthprep_desktop.workers.allocator import return_large_blocks_to_the_os
from healthprep_desktop.workers.env_secrets import capture_secrets
from healthprep_desktop.workers.evidence_sources import (
    EvidenceSources,
    label_results,
    label_results_json,
)
from healthprep_desktop.workers.lifeline import (
    bind_children_to_this_process,
    lead_own_process_group,
    limit_this_process_windows,
    start_parent_watchdog,
)

WORKER_NICENESS = 10
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class PrepareTask:
    record: PatientRecord
    as_of: date
    generated_at: datetime  # the job's start: a resumed job renders identical sheets
    library_json: str | None = None  # None: the bundled default library
    library_hash: str = "default"
    due_soon_days: int | None = None
    dismissed: tuple[tuple[str, str], ...] = ()
    entries: tuple[UserEntry, ...] = ()  # done elsewhere / declined / postponed, by users
    appointment: Appointment | None = None
    clinic_name: str = ""
    cutoffs: SectionCutoffs = field(default_factory=SectionCutoffs)
    tz: str | None = None
    want_text: bool = False  # a text/plain rendering for write-back
    sources: EvidenceSources | None = None  # a merged chart's provenance (batch_sources.py)


@dataclass(frozen=True, slots=True)
class PrepareOutput:
    results: tuple[ScreeningResult, ...]
    results_json: list[dict[str, Any]]  # serialised here, not on the event loop
    pdf: bytes
    text: str | None
    seconds: float

    @property
    def summary(self) -> dict[str, int]:
        return status_counts(self.results)


def status_counts(results: tuple[ScreeningResult, ...] | list[ScreeningResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return counts


def _library(task: PrepareTask) -> Library:
    return library_from_json(task.library_json, task.library_hash)


def prepare_patient(task: PrepareTask) -> PrepareOutput:
    """Screen one chart and render its sheet (and, if asked, the text rendering)."""
    from healthprep_desktop.screening.engine import evaluate

    started = time.perf_counter()
    library = _library(task)
    results = evaluate(
        task.record,
        task.as_of,
        library,
        due_soon_days=task.due_soon_days,
        dismissed=task.dismissed,
        tz=task.tz,
    )
    results = refine(
        results,
        task.record,
        task.as_of,
        library,
        entries=task.entries,
        due_soon_days=task.due_soon_days,
    )
    if task.sources is not None:
        results = label_results(results, task.sources)
    ctx = SheetContext(
        record=task.record,
        results=results,
        as_of=task.as_of,
        appointment=task.appointment,
        clinic_name=task.clinic_name,
        cutoffs=task.cutoffs,
        generated_at=task.generated_at,
        tz=task.tz,  # printed times in the clinic's zone, not the workstation's
        source_system=task.sources.footer(task.tz) if task.sources is not None else None,
    )
    pdf = render_sheet(ctx)
    text = render_sheet_text(ctx) if task.want_text else None
    results_json = [r.to_json() for r in results]
    if task.sources is not None:
        label_results_json(results_json, task.sources)
    return PrepareOutput(tuple(results), results_json, pdf, text, time.perf_counter() - started)


def _warm() -> int:
    # Import the heavy modules up front so the first patient does not pay for them.
    import healthprep_desktop.screening.documents
    import healthprep_desktop.screening.engine  # noqa: F401

    default_library()
    return os.getpid()


# A worker (and the tesseract it starts) may use this much address space: one hostile document
# fails with MemoryError ("could not read the document") instead of taking the workstation.
WORKER_MEMORY_MB = 2048


def limit_worker_memory() -> None:
    """RLIMIT_AS where the OS enforces it (Linux; macOS accepts and ignores it); on Windows a
    job object of the worker's own with a per-process memory cap (lifeline.py).
    HEALTHPREP_WORKER_MEMORY_MB overrides the default."""
    try:
        wanted = int(os.environ.get("HEALTHPREP_WORKER_MEMORY_MB", WORKER_MEMORY_MB)) << 20
    except ValueError:
        wanted = WORKER_MEMORY_MB << 20
    if sys.platform == "win32":
        limit_this_process_windows(wanted)
    else:
        _limit_address_space(wanted)


if sys.platform != "win32":

    def _limit_address_space(wanted: int) -> None:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _worker_init() -> None:
    # A killed or crashed app must not leave its workers behind (see lifeline.py).
    lead_own_process_group()
    start_parent_watchdog()
    limit_worker_memory()
    # A freed page image goes back to the OS before tesseract reads the page (allocator.py).
    return_large_blocks_to_the_os()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # OCR and rendering are background work: at a lower priority the OS hands the cores to
    # the window's event loop first whenever it wakes, instead of time-slicing it with them.
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class CpuPool:
    """A process pool that survives a killed worker: the pool is rebuilt and the task retried
    once, so one crashed OCR run (tesseract on a hostile file) never sinks a batch."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        # Set once every worker is up; the lock makes one thread do the spawning.
        self._ready = threading.Event()
        self._spawn_lock = threading.Lock()

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            capture_secrets()  # children copy os.environ: no HEALTHPREP_* secret goes with it
            bind_children_to_this_process()  # Windows: the OS kills them when we die
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
            )
        return self._pool

    async def warm(self) -> None:
        """Start every worker and import the heavy modules in it. Spawning a process blocks
        the caller for tens of milliseconds, so it happens on a helper thread: started lazily
        from the event loop, four workers would freeze the window for a fifth of a second.
        Tasks submitted meanwhile wait for it (see run), so work that needs no CPU worker, such
        as fetching, need not."""
        if not self._ready.is_set():
            await asyncio.to_thread(self._spawn_all)

    def _spawn_all(self) -> None:
        with self._spawn_lock:
            if self._ready.is_set():
                return
            pool = self._ensure()
            for future in [pool.submit(_warm) for _ in range(self.workers)]:
                future.result()
            self._ready.set()

    async def run(self, fn: Callable[[T], R], arg: T) -> R:
        loop = asyncio.get_running_loop()
        if not self._ready.is_set():
            await self.warm()  # never spawn workers from the event loop
        for attempt in (1, 2):
            pool = self._ensure()
            try:
                return await loop.run_in_executor(pool, fn, arg)
            except BrokenProcessPool:
                self._pool = None
                self._ready.clear()  # the next warm() builds and starts a new pool
                pool.shutdown(wait=False, cancel_futures=True)
                if attempt == 1:
                    await self.warm()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ready.clear()
