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
  last handle closes, i.e. when the app dies (``bind_children_to_this_process``; ctypes only).
* Once the workers are gone the resource tracker reads end-of-file and exits by itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading

POLL_SECONDS = 1.0
_job_handle: object | None = None


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
    if sys.platform == "win32":
        return _bind_windows()
    return False


if sys.platform == "win32":

    def _bind_windows() -> bool:
        global _job_handle
        if _job_handle is not None:
            return True
        import ctypes
        from ctypes import wintypes

        class _BasicLimits(ctypes.Structure):
            _fields_ = [
                ("PerProcessUserTimeLimit", ctypes.c_int64),
                ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD),
                ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t),
                ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t),
                ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD),
            ]

        class _IoCounters(ctypes.Structure):
            _fields_ = [(n, ctypes.c_uint64) for n in ("r", "w", "o", "rb", "wb", "ob")]

        class _ExtendedLimits(ctypes.Structure):
            _fields_ = [
                ("BasicLimitInformation", _BasicLimits),
                ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t),
                ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t),
                ("PeakJobMemoryUsed", ctypes.c_size_t),
            ]

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        kernel32.SetInformationJobObject.argtypes = [
            wintypes.HANDLE,
            ctypes.c_int,
            ctypes.c_void_p,
            wintypes.DWORD,
        ]
        kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        job_object_extended_limit_information = 9
        job_object_limit_kill_on_job_close = 0x2000
        job = kernel32.CreateJobObjectW(None, None)
        if not job:
            return False
        info = _ExtendedLimits()
        info.BasicLimitInformation.LimitFlags = job_object_limit_kill_on_job_close
        ok = kernel32.SetInformationJobObject(
            job, job_object_extended_limit_information, ctypes.byref(info), ctypes.sizeof(info)
        ) and kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess())
        if not ok:
            kernel32.CloseHandle(job)
            return False
        _job_handle = job  # never closed: it must live exactly as long as this process
        return True


__all__ = ["bind_children_to_this_process", "lead_own_process_group", "start_parent_watchdog"]
