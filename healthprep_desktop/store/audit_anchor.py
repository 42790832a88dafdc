"""The audit chain's head, anchored outside the database.

The hash chain inside the database shows edits, but someone holding the database key can delete
the tail and fix the head row, or rewrite an entry and recompute every hash after it. So the
head (sequence number and hash) is also written, as the app runs, to an append-only file beside
the database (``healthprep.db.audit-anchor``, 0600): each line is written once and never changed.
``AuditLog.verify`` checks every anchored head against the chain: an anchored entry that is gone
means entries were deleted from the end; an anchored hash that no longer matches means entries
were rewritten.

Writes are periodic: after a commit when the last anchor is older than ``ANCHOR_INTERVAL``
seconds, and at close. Limits (tamper-evidence, not tamper-proofing): the last interval before
a crash is not anchored; whoever can also edit or delete this file (the same OS account) can
defeat it, so keep a copy of the head that ``audit verify`` / ``audit export`` print elsewhere.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from healthprep_desktop.store import clock

log = logging.getLogger(__name__)

ANCHOR_SUFFIX = ".audit-anchor"
ANCHOR_INTERVAL = 1.0  # seconds between anchors while appending; always at close
_TAG = "healthprep-audit-anchor-v1"
_LINE = re.compile(r"^" + _TAG + r" (\d{1,18}) ([0-9a-f]{64}) (\S+)$")


def anchor_path(database: Path) -> Path:
    return database.with_name(database.name + ANCHOR_SUFFIX)


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str
    at: str  # UTC, clock.to_text


@dataclass(frozen=True, slots=True)
class AnchorRead:
    anchors: list[Anchor]  # sorted by seq; for one seq, the first line written
    unreadable_line: int | None = None  # 1-based number of the first damaged line, if any
    conflict: Anchor | None = None  # a second line naming the same seq with another hash


class AnchorFile:
    """Appends head lines; thread use goes through the AuditLog's database lock."""

    def __init__(self, path: Path, interval: float = ANCHOR_INTERVAL) -> None:
        self.path = path
        self._interval = interval
        self._last_write: float | None = None  # time.monotonic() of this process's last line
        self._last_seq = 0
        self.unanchored = False  # commits since the last line

    def committed(self, seq: int, head_hash: str) -> None:
        """A transaction that moved the head to ``seq`` committed."""
        now = time.monotonic()
        if self._last_write is None or now - self._last_write >= self._interval:
            self.write(seq, head_hash)
        else:
            self.unanchored = True

    def write(self, seq: int, head_hash: str) -> None:
        if seq <= 0 or (seq == self._last_seq and not self.unanchored):
            return
        line = f"{_TAG} {seq} {head_hash} {clock.now_text()}\n".encode("ascii")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o600)
                os.write(fd, line)  # one short write on an O_APPEND file: lines never interleave
            finally:
                os.close(fd)
        except OSError as exc:
            # The entries are committed; losing one anchor only narrows what verify can prove.
            log.warning("could not write the audit anchor file: %s", exc.strerror)
            self.unanchored = True
            return
        self._last_write = time.monotonic()
        self._last_seq = seq
        self.unanchored = False

    def read(self) -> AnchorRead:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return AnchorRead([])
        return parse_anchors(raw.decode("ascii", "replace").split("\n"))


def parse_anchors(lines: Iterable[str]) -> AnchorRead:
    listed = list(lines)
    if listed and listed[-1] == "":
        listed.pop()  # the newline after the last line
    by_seq: dict[int, Anchor] = {}
    for number, text in enumerate(listed, start=1):
        match = _LINE.match(text)
        if match is None:
            if number == len(listed):
                continue  # a line torn by a crash mid-write: nothing anchored by it
            return AnchorRead(sorted(by_seq.values(), key=_seq), unreadable_line=number)
        anchor = Anchor(int(match[1]), match[2], match[3])
        seen = by_seq.get(anchor.seq)
        if seen is not None and seen.hash != anchor.hash:
            return AnchorRead(sorted(by_seq.values(), key=_seq), conflict=anchor)
        by_seq.setdefault(anchor.seq, anchor)
    return AnchorRead(sorted(by_seq.values(), key=_seq))


def _seq(anchor: Anchor) -> int:
    return anchor.seq


def retire_stale(path: Path) -> None:
    """A new database is being created where an anchor file of an earlier one remains (that
    database was deleted): keep the old file as evidence under another name, start afresh."""
    if path.exists():
        stamp = clock.now_text().replace(":", "").replace("-", "")
        try:
            path.rename(path.with_name(f"{path.name}.retired-{stamp}"))
        except OSError as exc:
            log.warning("could not set the old audit anchor file aside: %s", exc.strerror)
