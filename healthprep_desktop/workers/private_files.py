"""Files the app writes outside the store (exports, JSON, PDFs, measure reports): private to the
user who runs it.

Folders the app creates are 0700 and every file is written 0600, atomically (a temporary file
beside the target, then a rename), so a reader never sees half a PDF and a full disk leaves no
truncated file behind. A folder the user chose that already exists keeps its permissions (it may
be shared on purpose): ``shared_folder_warning`` says in one sentence when other local users can
look into it. On Windows the mode bits mean little; files inherit the folder's ACL there.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

DIR_MODE = 0o700
FILE_MODE = 0o600
_SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT} if hasattr(errno, "EDQUOT") else {errno.ENOSPC}


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700; an existing folder is left as it is."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by someone else
            folder.mkdir(mode=DIR_MODE)
        with contextlib.suppress(OSError):  # the umask may have taken bits we never gave
            folder.chmod(DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))


def shared_folder_warning(path: Path) -> str | None:
    """One sentence when other local users can look into (or write to) an existing folder."""
    if sys.platform == "win32":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not mode & _SHARED_BITS:
        return None
    return (
        f"Warning: other users of this computer can open the folder {path} (permissions "
        f"{stat.S_IMODE(mode):04o}); the files written there are private (0600) but their names "
        f"show patient ids, so prefer a private folder (chmod 700 {path})."
    )


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file, atomically (replacing any older file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of a killed run with our pid
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), FILE_MODE)  # the umask can only take bits away; be sure
            fh.write(data)
            fh.flush()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_private_json(path: Path, data: Any, *, indent: int = 2, sort_keys: bool = True) -> None:
    text = json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n"
    write_private_bytes(path, text.encode("utf-8"))


def is_disk_full(exc: BaseException) -> bool:
    """An OSError for a full disk or an exhausted quota, or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return True
    return "disk is full" in str(exc).lower() or "disk full" in str(exc).lower()


def environment_failure(exc: BaseException, what: str, *, folder_hint: bool = True) -> str:
    """One sentence for an OSError (or a full database) while ``what`` ("writing the exports
    to DIR"), without a traceback. The text names no patient data, only paths we were given."""
    other = ", or choose another folder," if folder_hint else ""
    if is_disk_full(exc):
        return (
            f"The disk is full (or your quota is used up) while {what}: free some space{other} "
            "and run the command again."
        )
    if isinstance(exc, PermissionError):
        return f"Permission denied while {what}: choose a folder you can write to."
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        return f"The operating system refused while {what}: {reason}{where}."
    return f"The local database could not be written while {what} ({type(exc).__name__})."


__all__ = [
    "environment_failure",
    "is_disk_full",
    "make_private_dir",
    "shared_folder_warning",
    "write_private_bytes",
    "write_private_json",
]
