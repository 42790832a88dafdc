"""Regression guard: PySide6 6.12.0 on Python 3.11 aborts after a few thousand signal deliveries.

qasync delivers many signals into Python; the crash is a refcount bug (bool_dealloc /
none_dealloc) that kills the process, so this runs in a subprocess and checks its exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication
    import qasync

    N = 100_000

    class Emitter(QObject):
        tick = Signal(int, bool, object)

    app = QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    received = 0

    def on_tick(i, flag, payload):
        global received
        received += 1

    emitter = Emitter()
    emitter.tick.connect(on_tick)

    async def storm():
        for i in range(N):
            emitter.tick.emit(i, i % 2 == 0, None)
            if i % 1000 == 0:
                await asyncio.sleep(0)

    with loop:
        loop.run_until_complete(storm())
    print(received)
    """
)


def test_100k_signal_deliveries_through_qasync_do_not_crash() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "100000"
