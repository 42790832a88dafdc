"""Names what the GUI thread was doing during an event-loop stall (bench/ui.py --sample-stalls).

A heartbeat on the event loop (every few ms) and a watcher thread: when the heartbeat is late by
more than ``late_ms``, the watcher takes the main thread's Python stack (sys._current_frames)
every millisecond or so until the beat comes back. Each stall is kept with its samples; the
report shows the stalls over a threshold with the stacks seen most often, innermost frames
last. A stack that does not change while the stall goes on is C/C++ work called from its
innermost Python frame (Qt layout, sqlite, a lock); a watcher that could not run at all for
the length of the stall means the GIL was held the whole time (a C call that keeps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.workers.loop_monitor import LoopStallMonitor


@dataclass
class Stall:
    started: float  # seconds after start()
    length: float = 0.0
    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)
    samples: int = 0
    longest_gap: float = 0.0  # the watcher's own longest wait between samples (GIL held)
    cpu_start: float = 0.0  # the GUI thread's CPU clock when the stall began
    cpu: float = 0.0  # GUI-thread CPU seconds spent during the stall: far below its length
    # means the thread waited (for the GIL another thread held, or for a CPU), not worked
    process_start: float = 0.0
    process_cpu: float = 0.0  # all threads' CPU seconds: near 0 too means no CPU was given


class StallSampler:
    def __init__(self, *, beat: float = 0.002, late_ms: float = 15.0, depth: int = 14) -> None:
        self.beat = beat
        self.late = late_ms / 1000
        self.depth = depth
        self.stalls: list[Stall] = []
        self._main = threading.main_thread().ident
        self._main_clock = time.pthread_getcpuclockid(self._main or 0)
        self._last = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._events: list[tuple[float, str]] = []  # (time, "event type -> receiver")
        self._filter: Any = None

    async def _heartbeat(self) -> None:
        while True:
            self._last = time.perf_counter()
            await asyncio.sleep(self.beat)

    def _stack(self) -> tuple[str, ...]:
        frame = sys._current_frames().get(self._main or 0)
        if frame is None:
            return ()
        entries = traceback.extract_stack(frame)[-self.depth :]
        return tuple(f"{_short(e.filename)}:{e.lineno} {e.name}" for e in entries if e.filename)

    def _watch(self) -> None:
        current: Stall | None = None
        previous = time.perf_counter()
        while not self._stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gap = now - previous
            previous = now
            late = now - self._last - self.beat
            if late > self.late:
                if current is None:
                    current = Stall(started=self._last - self._started)
                    current.cpu_start = time.clock_gettime(self._main_clock)
                    current.process_start = time.process_time()
                    self.stalls.append(current)
                current.stacks[self._stack()] += 1
                current.samples += 1
                current.longest_gap = max(current.longest_gap, gap)
                current.length = max(current.length, late)
                current.cpu = time.clock_gettime(self._main_clock) - current.cpu_start
                current.process_cpu = time.process_time() - current.process_start
            elif current is not None:
                current = None

    def watch_qt_events(self) -> None:
        """Also time every Qt event (an application event filter): the event after which the
        next one comes late is the one that took the time (Python stacks cannot name C++)."""
        from PySide6.QtCore import QCoreApplication, QEvent, QObject

        events = self._events

        class Timer(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                name = watched.objectName() or type(watched).__name__
                events.append((time.perf_counter(), f"{event.type().name} -> {name}"))
                return False

        self._filter = Timer()
        app = QCoreApplication.instance()
        assert app is not None
        app.installEventFilter(self._filter)

    def start(self) -> None:
        self._started = self._last = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat())
        self._thread = threading.Thread(target=self._watch, name="stall-sampler", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._filter is not None:
            from PySide6.QtCore import QCoreApplication

            app = QCoreApplication.instance()
            if app is not None:
                app.removeEventFilter(self._filter)
        if self._thread is not None:
            self._thread.join(1)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def report(self, over_ms: float = 30.0, top: int = 3) -> str:
        lines: list[str] = []
        for stall in self.stalls:
            if stall.length * 1000 < over_ms:
                continue
            lines.append(
                f"stall at {stall.started:.2f}s: {stall.length * 1000:.0f} ms, GUI thread CPU "
                f"{stall.cpu * 1000:.0f} ms, all threads {stall.process_cpu * 1000:.0f} ms, "
                f"{stall.samples} samples, watcher's longest wait "
                f"{stall.longest_gap * 1000:.0f} ms"
            )
            for stack, count in stall.stacks.most_common(top):
                lines.append(f"  {count} x")
                lines.extend(f"      {entry}" for entry in stack)
            lines.extend(self._events_in(stall))
        return "\n".join(lines) or f"no stall over {over_ms:.0f} ms"

    def _events_in(self, stall: Stall) -> list[str]:
        """The Qt events dispatched in the stall, each with the time until the next one."""
        begin = self._started + stall.started
        end = begin + stall.length + self.beat
        out: list[str] = []
        events = self._events
        for i, (at, what) in enumerate(events):
            if begin - 0.002 <= at <= end:
                following = events[i + 1][0] if i + 1 < len(events) else end
                gap = (following - at) * 1000
                if gap >= 2:
                    out.append(f"    Qt {at - self._started:.3f}s {what}: {gap:.1f} ms to the next")
        return out


def _short(filename: str) -> str:
    for marker in ("healthprep_desktop/", "site-packages/", "bench/", "lib/python"):
        at = filename.find(marker)
        if at >= 0:
            return filename[at:]
    return filename


class CpuAwareStallMonitor(LoopStallMonitor):
    """LoopStallMonitor (the same lateness, the same figures) that also keeps, per stall over
    its threshold, the CPU time the window's GUI thread and its whole process got during the
    stall: a stall in which the process got (almost) no CPU was the operating system running
    other processes (on a shared 2-core machine), not work on the event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu_stalls: list[tuple[float, float, float, float]] = []  # at, late, gui, process

    async def _run(self) -> None:
        expected = time.perf_counter() + self.interval
        gui, process = time.thread_time(), time.process_time()
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            gui_now, process_now = time.thread_time(), time.process_time()
            late = now - expected
            if late > self.longest:
                self.longest, self.longest_at = late, now - self._started
            if late > self.threshold:
                self.stalls.append((now - self._started, late))
                self.cpu_stalls.append(
                    (now - self._started, late, gui_now - gui, process_now - process)
                )
            self.samples += 1
            expected = now + self.interval
            gui, process = gui_now, process_now

    def worked_longest(self, share: float = 0.5) -> float:
        """The longest stall in which the GUI thread itself ran for at least ``share`` of it
        (the loop's own work, as opposed to waiting for a CPU or for another thread)."""
        worked = [late for _at, late, gui, _p in self.cpu_stalls if gui >= share * late]
        return max(worked, default=0.0)

    def report(self) -> str:
        return ", ".join(
            f"{at:.1f}s/{late * 1000:.0f} ms (GUI thread CPU {gui * 1000:.0f}, "
            f"process {proc * 1000:.0f})"
            for at, late, gui, proc in self.cpu_stalls
        )
