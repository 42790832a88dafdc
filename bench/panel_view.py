"""The Panel view on a large stored panel: how long the overview walk and the first table page
take, the event loop's longest stall meanwhile, and peak memory.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/panel_view.py --patients 20000

Fills a throwaway encrypted store (HEALTHPREP_HOME in a temporary folder, an in-memory keyring)
with synthetic panel results: 14 screenings per patient and 18 measures in two years, about
what a real library gives. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def _measure(patients: int) -> None:
    from PySide6.QtCore import QTimer

    from healthprep_desktop.store import Store
    from healthprep_desktop.ui.panel_view import PanelView
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

        longest = 0.0
        last = time.perf_counter()

        def tick() -> None:
            nonlocal longest, last
            now = time.perf_counter()
            longest = max(longest, now - last - TICK_MS / 1000)
            last = now

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        timer.start()
        started = time.perf_counter()
        view = PanelView(session)
        view.show()
        first_page = None
        while view.overview is None or view.rows.rowCount() == 0:
            await asyncio.sleep(0.01)
            if first_page is None and view.rows.rowCount():
                first_page = time.perf_counter() - started
        shown = time.perf_counter() - started
        timer.stop()
        print(f"overview shown after {shown:.2f} s (walk of {view.overview.patients} patients)")
        print(f"first table page after {first_page or shown:.2f} s ({view.rows.rowCount()} rows)")
        print(f"longest event-loop stall meanwhile: {longest * 1000:.0f} ms")
        started = time.perf_counter()
        view.year.setCurrentIndex(1)
        print(f"year changed in {(time.perf_counter() - started) * 1000:.0f} ms (no walk)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        view.close()
        await session.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    args = parser.parse_args()
    import keyring
    import qasync
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
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
            loop.run_until_complete(_measure(args.patients))
        collector.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
