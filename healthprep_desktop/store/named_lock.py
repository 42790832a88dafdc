"""Named locks shared by every process that opens one store: lock files in `<store dir>/locks`.

The OS lock (fcntl.flock on Linux and macOS, msvcrt.locking on Windows) is released by the OS
when its holder exits or is killed, so a crashed process never leaves a lock behind. Lock files
are 0600 in a 0700 folder and are never deleted (deleting a lock file races with a process that
has it open). Their names are hashes: nothing about the clinic or the connection shows.

    lock = NamedLock.for_store(store_path, "refresh", tenant_id, str(connection_id))
    async with lock.held(wait_seconds=120):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from healthprep_desktop.store.errors import StoreError

_POLL_SECONDS = 0.02


class LockTimeout(StoreError):
    """Another process held the lock for longer than the caller would wait."""


class NamedLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_store(cls, store_path: Path, kind: str, *parts: str) -> NamedLock:
        folder = store_path.parent / "locks"
        digest = hashlib.sha256("\0".join((store_path.name, kind, *parts)).encode()).hexdigest()
        return cls(folder / f"{kind}-{digest[:24]}.lock")

    def _open(self) -> int:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.path.parent, 0o700)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        if hasattr(os, "fchmod"):
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)  # a file made by an older version keeps no wider mode
        return fd

    def try_acquire(self) -> int | None:
        """The open, locked file descriptor, or None when another holder has it."""
        fd = self._open()
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    @staticmethod
    def release(fd: int) -> None:
        try:
            if sys.platform == "win32":
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    async def acquire(self, wait_seconds: float) -> int:
        """Wait (without blocking the event loop) up to `wait_seconds`; the locked file
        descriptor, for `release`."""
        deadline = time.monotonic() + wait_seconds
        while (fd := self.try_acquire()) is None:
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another process held {self.path.name} for over {wait_seconds:.0f} s"
                )
            await asyncio.sleep(_POLL_SECONDS)
        return fd

    @contextlib.asynccontextmanager
    async def held(self, wait_seconds: float) -> AsyncIterator[None]:
        """Hold the lock; wait (without blocking the event loop) up to `wait_seconds`."""
        fd = await self.acquire(wait_seconds)
        try:
            yield
        finally:
            self.release(fd)

    @contextlib.contextmanager
    def held_sync(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        while (fd := self.try_acquire()) is None:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another process held {self.path.name} for over {timeout:.0f} s")
            time.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            self.release(fd)
