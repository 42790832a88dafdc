"""Garbage-collector settings for a process that runs batches next to a window.

A clinic day loads a few hundred thousand small JSON objects. CPython's full (generation 2)
collection walks every live container, and with that many it pauses the event loop for
100-150 ms at a time (measured with bench/batch.py); the window stutters. Our data is acyclic
JSON, which reference counting frees on its own, so the cycle collector can run far less often.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000  # default 700: collect the youngest generation less often
GEN1_THRESHOLD = 50  # default 10
GEN2_THRESHOLD = 1_000  # default 10: full collections become rare


def tune_garbage_collector() -> None:
    """Call once after start-up imports: freezes what start-up made (modules, classes, the
    screening library) out of every future collection, then raises the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
