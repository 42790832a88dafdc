"""Progress of a running batch: bar, counts, rate and ETA, Pause/Resume and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from healthprep_desktop.workers.events import JobPhase, JobProgress

_PHASE_TEXT = {
    JobPhase.STARTING: "Starting",
    JobPhase.SCHEDULE: "Reading the schedule",
    JobPhase.PATIENTS: "Preparing sheets",
    JobPhase.COMBINING: "Combining the day's sheets",
    JobPhase.PAUSED: "Paused",
    JobPhase.RECONNECT: "Waiting for sign-in",
    JobPhase.CANCELLED: "Cancelled",
    JobPhase.FINISHED: "Finished",
    JobPhase.FAILED: "Failed",
}
_ENDED = (JobPhase.CANCELLED, JobPhase.FINISHED, JobPhase.FAILED)


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def progress_text(p: JobProgress) -> str:
    parts = [_PHASE_TEXT.get(p.phase, p.phase.value), f"{p.finished}/{p.total}"]
    if p.failed:
        parts.append(f"{p.failed} failed")
    if p.skipped:
        parts.append(f"{p.skipped} unchanged")
    if p.phase not in _ENDED:
        parts.append(f"{p.rate_per_min:.0f}/min")
        parts.append(f"ETA {eta_text(p.eta_seconds)}")
    if p.message:
        parts.append(p.message)
    return " · ".join(parts)


class BatchPanel(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setObjectName("batchProgress")
        self.bar.setMinimumWidth(200)
        self.label = QLabel()
        self.label.setObjectName("batchText")
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setObjectName("pause")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.paused = False
        self.last: JobProgress | None = None
        self.hide()

    def started(self) -> None:
        self.paused = False
        self.last = None
        self.bar.setRange(0, 0)  # busy until the schedule's size is known
        self.label.setText("Starting…")
        self.pause_button.setText("&Pause")
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.show()

    def update_progress(self, p: JobProgress) -> None:
        self.last = p
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.finished)
        self.label.setText(progress_text(p))
        self.paused = p.phase is JobPhase.PAUSED
        self.pause_button.setText("&Resume" if self.paused else "&Pause")
        if p.phase in _ENDED:
            self.ended()

    def ended(self) -> None:
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

    def _toggle_pause(self) -> None:
        if self.paused:
            self.paused = False
            self.pause_button.setText("&Pause")
            self.resume_requested.emit()
        else:
            self.paused = True
            self.pause_button.setText("&Resume")
            self.pause_requested.emit()
