"""A terminal progress bar for the headless ``batch`` command (stderr, one redrawn line), and
"waiting for the server (N s)" while a request goes unanswered (``waiting``)."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from healthprep_desktop.workers.events import Event, JobProgress, PatientEvent, PatientState

WAITING_SHOWN_AFTER = 5.0  # seconds without an answer before the terminal says so


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
        self._bar = ""
        self._wait = ""
        self._wait_bucket = -1
        self._closed = False

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
            self._bar = line
            self._render()
            return
        # Not a terminal (CI, a log file): one line per tenth and on phase changes.
        decile = int(p.fraction * 10)
        if decile != self._last_plain_decile or p.phase.value in ("finished", "cancelled"):
            self._last_plain_decile = decile
            self.stream.write(line + "\n")
            self.stream.flush()

    def _render(self) -> None:
        line = self._bar + (f"  {self._wait}" if self._bar and self._wait else self._wait)
        pad = max(0, len(self._last_line) - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._last_line = line

    def waiting(self, seconds: float) -> None:
        """The oldest request in flight has waited `seconds` for its answer (0: none is
        waiting). From WAITING_SHOWN_AFTER on, the terminal says so: after the bar on a
        terminal, redrawn each second; in a log, one line at 5 s and every 10 s after."""
        text = f"waiting for the server ({seconds:.0f} s)" if seconds >= WAITING_SHOWN_AFTER else ""
        if text == self._wait or self._closed:
            return
        self._wait = text
        if self.interactive:
            self._render()
            return
        bucket = int(seconds // 10) if text else -1
        if text and bucket != self._wait_bucket:
            self.stream.write(text + "\n")
            self.stream.flush()
        self._wait_bucket = bucket

    def _print_above(self, text: str) -> None:
        if self.interactive and self._last_line:
            self.stream.write("\r" + " " * len(self._last_line) + "\r")
        self.stream.write(text + "\n")
        if self.interactive and self._last_line:
            self.stream.write(self._last_line)
        self.stream.flush()

    def close(self) -> None:
        self._closed = True
        if self.interactive and self._last_line:
            self.stream.write("\n")
            self.stream.flush()
