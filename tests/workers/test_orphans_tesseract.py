"""A child a pool worker started (tesseract, in real use) dies with the app too.

Real processes: the app's pool worker runs a long external program (``sleep``, standing in for
a tesseract run on a huge page) when the app is SIGKILLed; the worker's watchdog sees the
parent gone and kills its own process group, so the program must be gone within 5 s as well.
Before workers led their own process group, such a program ran on, re-parented to init."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from proc_support import descendants, survivors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SCRIPT = textwrap.dedent(
    """
    import asyncio, os
    from healthprep_desktop.workers.cpu import CpuPool

    async def main():
        pool = CpuPool(workers=1)
        await pool.warm()
        # As OCR does: the worker waits on an external program.
        running = asyncio.ensure_future(pool.run(os.system, "sleep 300"))
        print("ready", flush=True)
        await running

    asyncio.run(main())
    """
)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_program_a_worker_runs_dies_within_5_s_of_the_app() -> None:
    with subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True) as app:
        try:
            assert app.stdout is not None
            assert app.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 20
            sleepers: set[int] = set()
            while not sleepers and time.monotonic() < deadline:
                tree = descendants(app.pid)
                sleepers = {p for p in tree if _command(p).startswith("sleep 300")}
                time.sleep(0.1)
            assert sleepers, "the worker never started the program"
            tree = descendants(app.pid)
        finally:
            app.send_signal(signal.SIGKILL)
            app.wait(10)
        left = survivors(tree, within=5.0)
        assert not left, {p: _command(p) for p in left}
