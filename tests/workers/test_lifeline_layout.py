"""The Windows job object that kills the app's children with it, checked where it can be on
Linux: the ctypes structures are built without calling Windows and their layout matches the
Windows SDK's (x64 sizes and offsets), the limit flags are the documented values, and outside
Windows nothing is created. The kernel32 calls themselves run only on Windows (unverified here).
"""

from __future__ import annotations

import ctypes
import sys

import pytest

from healthprep_desktop.workers import lifeline
from healthprep_desktop.workers.lifeline import (
    BasicLimitInformation,
    ExtendedLimitInformation,
    IoCounters,
    kill_on_close_limits,
)

x64_only = pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="x64 layout")


@x64_only
def test_the_structures_have_the_sdk_sizes_and_offsets_on_x64() -> None:
    # winnt.h, JOBOBJECT_BASIC_LIMIT_INFORMATION / IO_COUNTERS / JOBOBJECT_EXTENDED_LIMIT_...
    assert ctypes.sizeof(BasicLimitInformation) == 64
    assert ctypes.sizeof(IoCounters) == 48
    assert ctypes.sizeof(ExtendedLimitInformation) == 144
    basic = {
        "PerProcessUserTimeLimit": 0,
        "PerJobUserTimeLimit": 8,
        "LimitFlags": 16,
        "MinimumWorkingSetSize": 24,
        "MaximumWorkingSetSize": 32,
        "ActiveProcessLimit": 40,
        "Affinity": 48,
        "PriorityClass": 56,
        "SchedulingClass": 60,
    }
    assert {n: getattr(BasicLimitInformation, n).offset for n in basic} == basic
    extended = {
        "BasicLimitInformation": 0,
        "IoInfo": 64,
        "ProcessMemoryLimit": 112,
        "JobMemoryLimit": 120,
        "PeakProcessMemoryUsed": 128,
        "PeakJobMemoryUsed": 136,
    }
    assert {n: getattr(ExtendedLimitInformation, n).offset for n in extended} == extended
    # DWORD fields are 32 bits everywhere (wintypes.DWORD is a C long: 64 bits on Linux).
    assert BasicLimitInformation.LimitFlags.size == 4


def test_the_app_job_kills_on_close_and_a_workers_job_also_caps_memory() -> None:
    app = kill_on_close_limits()
    assert app.BasicLimitInformation.LimitFlags == 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    assert app.ProcessMemoryLimit == 0
    worker = kill_on_close_limits(2048 << 20)
    # ... | JOB_OBJECT_LIMIT_PROCESS_MEMORY
    assert worker.BasicLimitInformation.LimitFlags == 0x2000 | 0x0100
    assert worker.ProcessMemoryLimit == 2048 << 20
    raw = bytes(worker)  # what SetInformationJobObject would receive
    assert len(raw) == ctypes.sizeof(ExtendedLimitInformation)
    flags_at = (
        ExtendedLimitInformation.BasicLimitInformation.offset
        + BasicLimitInformation.LimitFlags.offset
    )
    assert int.from_bytes(raw[flags_at : flags_at + 4], sys.byteorder) == 0x2100


@pytest.mark.skipif(sys.platform == "win32", reason="the job object is real on Windows")
def test_outside_windows_no_job_object_is_made() -> None:
    assert lifeline.bind_children_to_this_process() is False
    assert lifeline.limit_this_process_windows(1 << 30) is False
    assert lifeline._job_handle is None and lifeline._worker_job_handle is None
