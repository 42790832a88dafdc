"""A killed app leaves no process behind, and no child inherits a HEALTHPREP_* secret.

Real processes: a Python process that starts the CPU pool (spawn workers and multiprocessing's
resource tracker) as the app does, is SIGKILLed, and must take every descendant with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from proc_support import descendants, environ, survivors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from healthprep_desktop.workers.cpu import CpuPool

    pool = CpuPool(workers=2)
    asyncio.run(pool.warm())
    print("ready", flush=True)
    time.sleep(300)
    """
)


def test_sigkilled_parent_leaves_no_worker_nor_tracker_and_no_secret_in_children() -> None:
    secrets = {
        "HEALTHPREP_BEARER_TOKEN": "tok-abc123-secret",
        "HEALTHPREP_PASSWORD": "hunter2-secret",
        "HEALTHPREP_PASSPHRASE": "correct horse",
    }
    env = dict(os.environ, **secrets)
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True, env=env
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline().strip() == "ready"
            children = descendants(parent.pid)
            # Two workers and the resource tracker at least.
            assert len(children) >= 3, children
            for pid in children:
                leaked = set(secrets) & set(environ(pid))
                assert not leaked, f"child {pid} inherited {sorted(leaked)}"
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
        started = time.monotonic()
        left = survivors(children, within=5.0)
        assert not left, f"still running {time.monotonic() - started:.1f} s after the kill: {left}"
