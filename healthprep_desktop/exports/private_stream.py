"""A file written as a stream, private (0600) and atomic: the rows go to a temporary file beside
the target, renamed over it only when the writer finished without error.

workers/private_files.py writes whole byte strings; a 20,000-patient export is written row by
row, so it needs the same guarantees for a stream: a reader never sees half a file, a failed or
interrupted export leaves the older file (or none), and nobody else can read it meanwhile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from healthprep_desktop.workers.private_files import FILE_MODE


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[BinaryIO]:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of a killed run with our pid
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), FILE_MODE)  # the umask can only take bits away; be sure
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


__all__ = ["private_output"]
