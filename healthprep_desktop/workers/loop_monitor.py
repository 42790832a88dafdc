"""Measures the event loop's longest stall: the promise is that the window never freezes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass


@dataclass
class LoopStallMonitor:
    interval: float = 0.005
    longest: float = 0.0
    samples: int = 0
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        expected = time.perf_counter() + self.interval
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.longest = max(self.longest, now - expected)
            self.samples += 1
            expected = now + self.interval

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return self.longest
