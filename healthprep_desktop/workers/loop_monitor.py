"""Measures the event loop's stalls: the promise is that the window never freezes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class LoopStallMonitor:
    interval: float = 0.005
    threshold: float = 0.05  # a stall longer than this is one a user notices
    longest: float = 0.0
    longest_at: float = 0.0  # seconds after start()
    samples: int = 0
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (at, length) > threshold
    _task: asyncio.Task[None] | None = None
    _started: float = 0.0

    async def _run(self) -> None:
        expected = time.perf_counter() + self.interval
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            late = now - expected
            if late > self.longest:
                self.longest, self.longest_at = late, now - self._started
            if late > self.threshold:
                self.stalls.append((now - self._started, late))
            self.samples += 1
            expected = now + self.interval

    def start(self) -> None:
        self._started = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return self.longest
