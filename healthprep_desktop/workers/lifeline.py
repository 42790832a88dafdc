"""Child processes never outlive the app.

A spawn worker blocks on its task queue, and it holds both ends of that queue's pipe, so it
never sees end-of-file when the parent dies: killed or crashed, the app used to leave its
workers (and, through them, multiprocessing's resource tracker, which waits for every holder of
its pipe to go) re-parented to init for good, with the parent's pipes open.

* Every worker runs ``start_parent_watchdog`` in its initializer: a daemon thread that waits on
  the parent's sentinel (a pipe on POSIX, the parent's process handle on Windows) and also polls
  ``os.getppid()``; when the parent is gone the worker kills itself within ``POLL_SECONDS``.
  On POSIX each worker leads its own process group, so tesseract runs it started die with it
  (and a terminal's Ctrl-C reaches only the app, which stops the pool in order).
* On Windows the app also puts itself in a job object that kills every process in it when the
  last handle closes, i.e. when the app dies (``bind_children_to_this_process``; ctypes only),
  and each worker puts itself in a nested job of its own that caps each process's memory and
  kills the worker's tesseract with it (``limit_this_process_windows``). The structures are
  declared with fixed-width types and their layout is tested on Linux; the kernel32 calls run
  only on Windows and are not exercised by the test suite.
* macOS uses the POSIX path: the parent's sentinel is a pipe, and re-parenting changes
  ``os.getppid()``; both are polled by the same watchdog thread.
* Once the workers are gone the resource tracker reads end-of-file and exits by itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading

POLL_SECONDS = 1.0
_job_handle: object | None = None  # the app's kill-on-close job (Windows)
_worker_job_handle: object | None = None  # a worker's own job, with its memory cap (Windows)


def _die() -> None:
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            if os.getpgrp() == os.getpid():  # our own group: take tesseract children along
                os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def lead_own_process_group() -> None:
    """POSIX: make this worker the leader of a new process group (its children join it)."""
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)


def start_parent_watchdog(poll_seconds: float = POLL_SECONDS) -> None:
    """In a spawned child: exit as soon as the parent process is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    original_ppid = os.getppid()

    def watch() -> None:
        while True:
            try:
                parent.join(poll_seconds)  # returns early when the sentinel fires
                gone = not parent.is_alive()
            except (OSError, ValueError):  # the sentinel itself is gone
                gone = True
            if gone or (sys.platform != "win32" and os.getppid() != original_ppid):
                _die()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def bind_children_to_this_process() -> bool:
    """Windows: put this process in a kill-on-close job object, so every child it starts
    from now on (workers, tesseract) is killed by the OS when this process dies. Elsewhere, or
    when Windows refuses (an outer job that forbids it), returns False."""
    global _job_handle
    if _job_handle is None:
        _job_handle = _windows_job(kill_on_close_limits())
    return _job_handle is not None


def limit_this_process_windows(memory_bytes: int) -> bool:
    """Windows (in a pool worker): a job of its own, nested in the app's, that caps the
    committed memory of each process in it (the worker, the tesseract it starts) and kills
    them all when the worker dies. Windows 8 and later nest jobs; elsewhere: False."""
    global _worker_job_handle
    if _worker_job_handle is None:
        _worker_job_handle = _windows_job(kill_on_close_limits(memory_bytes))
    return _worker_job_handle is not None


# --- job object structures -------------------------------------------------------------------
# Declared with fixed-width ctypes rather than ctypes.wintypes, so that they are built, and
# their layout checked against the Windows SDK's, on any platform (tests/workers/
# test_lifeline_layout.py): DWORD is 32 bits on Windows, but wintypes.DWORD is a C long,
# 64 bits on Linux and macOS. SIZE_T and ULONG_PTR are pointer-sized on every platform.

JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9  # JOBOBJECTINFOCLASS
JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x00000100
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
_DWORD = ctypes.c_uint32
_LARGE_INTEGER = ctypes.c_int64
_SIZE_T = ctypes.c_size_t


class BasicLimitInformation(ctypes.Structure):
    """JOBOBJECT_BASIC_LIMIT_INFORMATION (64 bytes on 64-bit Windows)."""

    _fields_ = [
        ("PerProcessUserTimeLimit", _LARGE_INTEGER),
        ("PerJobUserTimeLimit", _LARGE_INTEGER),
        ("LimitFlags", _DWORD),
        ("MinimumWorkingSetSize", _SIZE_T),
        ("MaximumWorkingSetSize", _SIZE_T),
        ("ActiveProcessLimit", _DWORD),
        ("Affinity", _SIZE_T),  # ULONG_PTR
        ("PriorityClass", _DWORD),
        ("SchedulingClass", _DWORD),
    ]


class IoCounters(ctypes.Structure):
    """IO_COUNTERS (six ULONGLONGs)."""

    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "ReadOperationCount",
            "WriteOperationCount",
            "OtherOperationCount",
            "ReadTransferCount",
            "WriteTransferCount",
            "OtherTransferCount",
        )
    ]


class ExtendedLimitInformation(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION (144 bytes on 64-bit Windows)."""

    _fields_ = [
        ("BasicLimitInformation", BasicLimitInformation),
        ("IoInfo", IoCounters),
        ("ProcessMemoryLimit", _SIZE_T),
        ("JobMemoryLimit", _SIZE_T),
        ("PeakProcessMemoryUsed", _SIZE_T),
        ("PeakJobMemoryUsed", _SIZE_T),
    ]


def kill_on_close_limits(process_memory: int | None = None) -> ExtendedLimitInformation:
    """The limits the app's job (and, with ``process_memory``, a worker's) is given."""
    info = ExtendedLimitInformation()
    flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if process_memory:
        flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY
        info.ProcessMemoryLimit = process_memory
    info.BasicLimitInformation.LimitFlags = flags
    return info


if sys.platform == "win32":

    def _windows_job(info: ExtendedLimitInformation) -> object | None:
        """A new job object with ``info``, this process assigned to it; the handle is never
        closed (it must live exactly as long as this process). None when Windows refuses."""
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        kernel32.SetInformationJobObject.restype = wintypes.BOOL
        kernel32.SetInformationJobObject.argtypes = [
            wintypes.HANDLE,
            ctypes.c_int,
            ctypes.c_void_p,
            wintypes.DWORD,
        ]
        kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
        kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        job = kernel32.CreateJobObjectW(None, None)
        if not job:
            return None
        ok = kernel32.SetInformationJobObject(
            job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), ctypes.sizeof(info)
        ) and kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess())
        if not ok:
            kernel32.CloseHandle(job)
            return None
        handle: object = job
        return handle

else:

    def _windows_job(info: ExtendedLimitInformation) -> object | None:
        return None  # job objects are Windows only; POSIX uses process groups and the watchdog


__all__ = [
    "bind_children_to_this_process",
    "kill_on_close_limits",
    "lead_own_process_group",
    "limit_this_process_windows",
    "start_parent_watchdog",
]
