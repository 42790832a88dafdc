"""Progress of a running batch: bar, counts, rate and ETA, Pause/Resume and Cancel; after a run
with failures, "Retry failed (n)"; while the EHR is away, says so (the runner resumes)."""

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
    retry_requested = Signal()

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
        self.cancel_button = QPushButton("&Cancel…")
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.setToolTip("Stop preparing (Esc); finished sheets are kept")
        self.retry_button = QPushButton("Re&try failed")
        self.retry_button.setObjectName("retryFailed")
        self.retry_button.hide()
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.retry_button.clicked.connect(self.retry_requested)
        self.label.setWordWrap(True)
        # Two lines' room from the start: a text that wraps onto a second line mid-batch would
        # otherwise grow the panel, shrink the schedule and repaint every row of it.
        self.label.setMinimumHeight(self.label.fontMetrics().lineSpacing() * 2)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.retry_button)
        self.paused = False
        self.outage: str | None = None
        self.last: JobProgress | None = None
        # The panel's room is kept while it is hidden: showing it at a batch's start would
        # otherwise shrink the schedule and repaint all of its rows at once (the batch's
        # longest event-loop stall, measured with bench/ui.py --sample-stalls).
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self.hide()

    def reset(self) -> None:
        """Another clinic or day: nothing of the last run stays on screen."""
        self.last = None
        self.outage = None
        self.label.clear()
        self.retry_button.hide()
        self.hide()

    def show_outage(self, reason: str | None) -> None:
        """The EHR cannot be reached (reason) or is back (None); the runner pauses and resumes."""
        self.outage = reason
        self.pause_button.setEnabled(reason is None)
        if reason is not None:
            self.label.setText(
                "Paused: the EHR cannot be reached. Retrying by itself; preparing resumes when it"
                " answers."
            )
        elif self.last is not None:
            self.label.setText(progress_text(self.last))

    def offer_retry(self, failed: int) -> None:
        self.retry_button.setText(f"Re&try failed ({failed})")
        self.retry_button.setVisible(failed > 0)
        if failed:
            self.show()

    def started(self) -> None:
        self.paused = False
        self.outage = None
        self.retry_button.hide()
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
        if self.outage is None:
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
