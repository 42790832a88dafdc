"""Python's cyclic garbage collector, run on the GUI thread only, and never a full pass while a
batch runs.

With automatic collection, whichever thread happens to allocate (a store or rendering thread,
the demo server's thread) may collect a cycle holding a Qt object and destroy it there: Qt then
keeps a timer of that object registered on the GUI thread and crashes when it fires (seen as a
segfault in QTimerInfoList::activateTimers). Anki does the same for the same reason.

Passes over the older generations walk every object that survived (with charts in flight,
tens of milliseconds: a visible stall). While sheets are being prepared only the youngest
generation is collected; the rest runs when the batch ends. Long-lived bulk data (the demo sandbox's
synthetic clinic) is frozen out of collection altogether.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100  # short: the young generation stays small, so each pass is quick
_ACTIVE: list[MainThreadCollector] = []


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._busy = 0
        self._owed_full = False
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)
        _ACTIVE.append(self)

    def check(self) -> int:
        """Collect the generations over their thresholds, as automatic collection would."""
        first, second, third = gc.get_count()
        collected = 0
        if first > self._threshold[0]:
            collected = gc.collect(0)
            if second > self._threshold[1]:
                if self._busy:
                    # The older generations hold the charts in flight: scanning them costs
                    # tens of milliseconds. They wait for the end of the batch.
                    self._owed_full = True
                    return collected
                collected = gc.collect(1)
                if third > self._threshold[2]:
                    collected = gc.collect(2)
        return collected

    def busy(self, on: bool) -> None:
        """Hold back full passes while long work runs (calls nest)."""
        self._busy = max(0, self._busy + (1 if on else -1))
        if not self._busy and self._owed_full:
            self._owed_full = False
            QTimer.singleShot(0, gc.collect)  # after the batch's own last events

    def stop(self) -> None:
        """Collect everything here, then hand collection back to Python."""
        self._timer.stop()
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        gc.unfreeze()  # what freeze_long_lived() kept is collectable again, here
        gc.collect()
        if self._was_enabled:
            gc.enable()


def busy(on: bool) -> None:
    """Tell the active collector (if any) that long work starts or ends."""
    for collector in _ACTIVE:
        collector.busy(on)


def freeze_long_lived() -> None:
    """Move everything alive now out of future collections (after loading bulk data that
    lives as long as the process)."""
    gc.collect()
    gc.freeze()
