"""Pacing for long Python loops in a worker thread, so the GUI thread gets the GIL promptly.

A worker thread that decodes and counts in pure Python (the Panel view's walk of a stored
panel) holds the GIL almost all the time. The GUI thread needs the GIL for every Qt event that
reaches Python (a timer, a queued signal, an asyncio callback); Python only forces the worker to
hand it over after the switch interval (5 ms), once per event, so an event-loop turn that runs a
dozen Python callbacks waited tens of milliseconds (bench/panel_view.py measured the GUI thread
blocked, not working and not waiting for a CPU, for ~50 ms at a time). A worker that is
descheduled by the operating system while it holds the GIL makes the GUI thread wait longer
still.

``Pacer`` makes the worker let go on its own: after every ``work_s`` of work it sleeps
``rest_s``. A real sleep frees the GIL long enough for a waiting thread to wake and take it
(after a zero sleep the sleeper often takes it back first), so a GUI callback waits about
``work_s`` at most and the callbacks queued meanwhile run in the rest. Measured on the shared
2-core machine (an 8,000-patient walk beside a loop turn of eight Python callbacks): the turn's
median wait fell from 12-19 ms to 2-6 ms, and by less with a zero sleep or 4 ms slices (each
callback of a turn can wait a whole slice); the walk's CPU time did not change, its wall time
by up to a few tenths of a second (the rests, and waking from them on a busy machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

WORK_S = 0.002  # longest stretch the worker keeps the GIL for by choice
REST_S = 0.00005  # then let go this long (about 0.12 ms in practice): a waiter takes the GIL


@dataclass(slots=True)
class Pacer:
    work_s: float = WORK_S
    rest_s: float = REST_S
    rests: int = field(default=0, init=False)  # how many times the worker let go (tests)
    _until: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._until = time.perf_counter() + self.work_s

    def __call__(self) -> None:
        """Called between two small units of work (one patient): rest when the slice is up."""
        if time.perf_counter() < self._until:
            return
        time.sleep(self.rest_s)
        self.rests += 1
        self._until = time.perf_counter() + self.work_s


__all__ = ["REST_S", "WORK_S", "Pacer"]
