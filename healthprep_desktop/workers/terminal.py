"""A terminal progress bar for the headless ``batch`` command (stderr, one redrawn line)."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from healthprep_desktop.workers.events import Event, JobProgress, PatientEvent, PatientState


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None, *, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._last_line = ""
        self._last_plain_decile = -1

    def __call__(self, event: Event) -> None:
        if isinstance(event, PatientEvent):
            if event.state is PatientState.FAILED:
                self._print_above(f"patient {event.patient_id}: failed: {event.reason}")
            return
        if isinstance(event, JobProgress):
            self._draw(event)

    def _line(self, p: JobProgress) -> str:
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 60))
        filled = int(width * p.fraction)
        bar = "#" * filled + "-" * (width - filled)
        return (
            f"[{bar}] {p.finished}/{p.total} done={p.done} failed={p.failed} "
            f"skipped={p.skipped} in-flight={p.in_flight} {p.rate_per_min:.0f}/min "
            f"ETA {_eta(p.eta_seconds)} {p.phase.value}"
        )

    def _draw(self, p: JobProgress) -> None:
        line = self._line(p)
        if self.interactive:
            pad = max(0, len(self._last_line) - len(line))
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
            self._last_line = line
            return
        # Not a terminal (CI, a log file): one line per tenth and on phase changes.
        decile = int(p.fraction * 10)
        if decile != self._last_plain_decile or p.phase.value in ("finished", "cancelled"):
            self._last_plain_decile = decile
            self.stream.write(line + "\n")
            self.stream.flush()

    def _print_above(self, text: str) -> None:
        if self.interactive and self._last_line:
            self.stream.write("\r" + " " * len(self._last_line) + "\r")
        self.stream.write(text + "\n")
        if self.interactive and self._last_line:
            self.stream.write(self._last_line)
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self._last_line:
            self.stream.write("\n")
            self.stream.flush()
