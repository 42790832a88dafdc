"""Pool workers give large freed blocks back to the OS at once (glibc on Linux).

A worker decodes a page image (hundreds of MB for a large fax frame), shrinks it, lets it go,
and then waits while tesseract reads the small page. glibc's malloc raises its mmap threshold
each time a large mmapped block is freed (up to 32 MB on 64-bit), so the next frame's 16 MB
Pillow blocks come from the heap, and freed heap memory is kept by the process: the worker
still held the decoded frame's memory while tesseract ran beside it, and the two peaks added
up (bench/hostile.py: 443-737 MB for one six-frame 9000x9000 TIFF, 340 MB with this).

A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``, which also turns the adjustment off) keeps
every allocation above it mmapped, so it returns to the OS as soon as it is freed. Elsewhere
(macOS, Windows, a libc without mallopt) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
LARGE_BLOCK = 4 << 20  # bytes: allocations from this size up are mmapped (a page band is less)


def return_large_blocks_to_the_os(threshold: int = LARGE_BLOCK) -> bool:
    """In a worker: mmap (and so give back on free) every allocation of ``threshold`` bytes
    or more. True when the C library accepted it."""
    return _mallopt(M_MMAP_THRESHOLD, threshold)


if sys.platform == "linux":

    def _mallopt(parameter: int, value: int) -> bool:
        # The C library this process already uses (ctypes.util.find_library would start
        # ldconfig in a child process at every worker start).
        try:
            libc = ctypes.CDLL(None)
            mallopt = libc.mallopt  # glibc; musl has none
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        return bool(mallopt(parameter, value))

else:

    def _mallopt(parameter: int, value: int) -> bool:
        return False  # macOS and Windows allocators return large blocks by themselves
