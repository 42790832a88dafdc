"""Pool workers run under an address-space limit: a runaway allocation fails in the worker
with MemoryError and the pool carries on."""

from __future__ import annotations

import sys

import pytest

from healthprep_desktop.workers.cpu import WORKER_MEMORY_MB, CpuPool

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")


def _limit(_: int) -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[0]


def _allocate(megabytes: int) -> str:
    try:
        block = bytearray(megabytes << 20)
    except MemoryError:
        return "MemoryError"
    return f"allocated {len(block) >> 20} MB"


async def test_workers_have_a_memory_limit_and_survive_hitting_it() -> None:
    pool = CpuPool(1)
    try:
        assert await pool.run(_limit, 0) == WORKER_MEMORY_MB << 20
        assert await pool.run(_allocate, 3 * 1024) == "MemoryError"
        assert await pool.run(_allocate, 64) == "allocated 64 MB"  # the same pool goes on
    finally:
        pool.shutdown()
