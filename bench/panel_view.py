"""The Panel view on a large stored panel: how long the overview walk and the first table page
take, the event loop's longest stall meanwhile, and peak memory.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/panel_view.py --patients 20000

Fills a throwaway encrypted store (HEALTHPREP_HOME in a temporary folder, an in-memory keyring)
with synthetic panel results: 14 screenings per patient and 18 measures in two years, about
what a real library gives. Prints one line per figure. ``--runs N`` opens the view N times on
the same store (the machine is shared and noisy); ``--sample-stalls`` names the GUI thread's
Python stack during each stall (bench/stall_sampler.py). The longest stall is split (Linux
schedstat) into the GUI thread's own work, its wait for a CPU (other processes), and the rest:
blocked, i.e. waiting for the GIL a worker thread holds. Target: stalls under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCREENINGS = 14
MEASURES = 18
TICK_MS = 10
SETTLE_S = 0.5  # seconds the loop is still watched after the overview shows


def _fill(store: object, scope: object, connection_id: int, patients: int) -> None:
    with store.transaction():  # type: ignore[attr-defined]
        _put(scope, connection_id, patients)


def _put(scope: object, connection_id: int, patients: int) -> None:
    from healthprep_desktop.screening.model import ScreeningResult, Status
    from healthprep_desktop.store.repos.panel_results import PanelResult

    statuses = list(Status)
    for n in range(patients):
        results = [
            ScreeningResult(
                f"s{k}",
                f"Screening {k}",
                statuses[(n + k) % len(statuses)],
                "why it has this status",
                last_done=date(2020, 1, 1),
                next_due=date(2030, 1, 1),
            ).to_json()
            for k in range(SCREENINGS)
        ]
        populations = {
            "initial-population": 1,
            "denominator": 1,
            "denominator-exclusion": 0,
            "denominator-exception": 0,
            "numerator-exclusion": 0,
        }
        measures = {
            str(year): {
                f"CMS{k}": {"group-1": {**populations, "numerator": (n + k + year) % 2}}
                for k in range(MEASURES)
            }
            for year in (2025, 2026)
        }
        envelope = {"format": 1, "as_of": "2026-11-23", "summary": {}, "results": results}
        scope.panel.put(  # type: ignore[attr-defined]
            PanelResult(connection_id, f"p{n:06d}", envelope, f"h{n}", measures=measures)
        )


async def _measure(patients: int, runs: int, sample: bool) -> None:
    from healthprep_desktop.store import Store
    from healthprep_desktop.ui.session import AppSession

    with Store.open() as store:
        session = AppSession(store)
        session.create_tenant("Bench clinic")
        scope = session.scope
        connection = scope.connections.add("EHR", "generic", "https://ehr.invalid/fhir")
        started = time.perf_counter()
        # One transaction, taken in the filling thread (the store's lock is per thread).
        await asyncio.to_thread(_fill, store, scope, connection.id, patients)
        print(f"filled {patients} patients in {time.perf_counter() - started:.1f} s", flush=True)
        # The fill's leftovers would make the collector's first passes (on the GUI thread,
        # ui.gc_guard) stalls of the bench's own making: collected before the view opens.
        gc.collect()
        for run in range(runs):
            if runs > 1:
                print(f"--- run {run + 1} of {runs}")
            await _open_view(session, sample)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        await session.aclose()


def _thread_clocks() -> tuple[float, float]:
    """The GUI thread's CPU time and its time spent runnable but waiting for a CPU (Linux
    schedstat), seconds: a stall is the thread working, waiting for a core (other processes on
    a shared machine), or else blocked (the GIL another thread holds, a lock)."""
    try:
        ran, waited, _slices = Path("/proc/thread-self/schedstat").read_text().split()
    except (OSError, ValueError):
        return time.thread_time(), 0.0
    return int(ran) / 1e9, int(waited) / 1e9


def _split(stall: float, split: tuple[float, float]) -> str:
    ran, waited = split
    # The thread idles until the tick is due; the lateness is its work, its wait for a CPU,
    # and what is left: blocked (roughly: work done before the tick was due is counted too).
    blocked = max(0.0, stall - ran - waited)
    return (
        f"GUI thread ran {ran * 1000:.0f} ms, waited for a CPU {waited * 1000:.0f} ms, "
        f"blocked {blocked * 1000:.0f} ms"
    )


async def _open_view(session: object, sample: bool) -> None:
    """Open the Panel view once and print its figures (the store is filled once per bench)."""
    from PySide6.QtCore import QTimer

    from healthprep_desktop.ui.panel_view import PanelView

    sampler = None
    if sample:
        from stall_sampler import StallSampler

        sampler = StallSampler()
        sampler.watch_qt_events()
        sampler.start()
    longest = 0.0
    last = time.perf_counter()
    clocks = _thread_clocks()
    split = (0.0, 0.0)  # the longest stall's (ran, waited for a CPU), seconds
    at = 0.0  # when it ended, seconds after the view was asked for

    def tick() -> None:
        nonlocal longest, last, clocks, split, at
        now = time.perf_counter()
        now_clocks = _thread_clocks()
        late = now - last - TICK_MS / 1000
        if late > longest:
            longest = late
            split = (now_clocks[0] - clocks[0], now_clocks[1] - clocks[1])
            at = now - started
        last, clocks = now, now_clocks

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    started = time.perf_counter()
    timer.start()
    view = PanelView(session)  # type: ignore[arg-type]
    view.show()
    built = time.perf_counter() - started
    first_page = None
    while view.overview is None or view.rows.rowCount() == 0:
        await asyncio.sleep(0.01)
        if first_page is None and view.rows.rowCount():
            first_page = time.perf_counter() - started
    shown = time.perf_counter() - started
    during, during_split, during_at = longest, split, at
    # What the window does right after the walk (garbage collection held back during it,
    # the overview laid out) is part of opening it too: measured for a moment more.
    longest = 0.0
    await asyncio.sleep(SETTLE_S)
    after = longest
    timer.stop()
    print(f"window built and shown in {built * 1000:.0f} ms (synchronous, before the read)")
    print(f"overview shown after {shown:.2f} s (walk of {view.overview.patients} patients)")
    print(f"first table page after {first_page or shown:.2f} s ({view.rows.rowCount()} rows)")
    print(
        f"longest event-loop stall meanwhile: {during * 1000:.0f} ms, ending {during_at:.2f} s "
        f"in ({_split(during, during_split)})"
    )
    print(f"longest event-loop stall in the {SETTLE_S:.1f} s after: {after * 1000:.0f} ms")
    started = time.perf_counter()
    view.year.setCurrentIndex(1)
    print(f"year changed in {(time.perf_counter() - started) * 1000:.0f} ms (no walk)")
    if sampler is not None:
        await sampler.stop()
        print(sampler.report(over_ms=20))
    view.close()
    await asyncio.sleep(0.1)  # let the closed view go before the next run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1, help="open the view this many times")
    parser.add_argument(
        "--sample-stalls",
        action="store_true",
        help="name the GUI thread's Python stack during each stall (bench/stall_sampler.py)",
    )
    args = parser.parse_args()
    import keyring
    import qasync
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # stall_sampler
    from conftest import MemoryKeyring  # the tests' in-memory keyring backend

    from healthprep_desktop.ui import tasks

    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory(prefix="healthprep-bench-panel-") as home:
        os.environ["HEALTHPREP_HOME"] = home
        app = QApplication([])
        app.setQuitOnLastWindowClosed(False)
        from healthprep_desktop.ui.gc_guard import MainThreadCollector

        collector = MainThreadCollector(app)  # as the app collects garbage (ui/app.py)
        loop = qasync.QEventLoop(app)
        tasks.configure_loop(loop)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(_measure(args.patients, args.runs, args.sample_stalls))
        collector.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
