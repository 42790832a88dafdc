"""A batch's progress and events: what the window or the terminal is told, and when.

One object per job holds the listener, the progress tracker and the summary, so every step
(fetch, screen, store, write-back) reports the same way without holding the job itself.
"""

from __future__ import annotations

import logging
from typing import Any

from healthprep_desktop.workers.batch_support import BatchSummary
from healthprep_desktop.workers.events import (
    JobPhase,
    JobProgress,
    Listener,
    PatientEvent,
    PatientState,
    ProgressTracker,
)

log = logging.getLogger(__name__)


class JobEvents:
    """The listener, the tracker and the summary of one job (set once the job is known)."""

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.tracker: ProgressTracker | None = None
        self.summary: BatchSummary | None = None
        self.job_id: int | None = None

    def emit(self, event: PatientEvent | JobProgress) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # a broken listener must not stop the batch
            log.exception("progress listener failed")

    def progress(self, message: str = "") -> None:
        if self.tracker is not None:
            self.emit(self.tracker.snapshot(message))

    def set_phase(self, phase: JobPhase, message: str = "") -> None:
        if self.tracker is not None:
            self.tracker.phase = phase
            if self.summary is not None:
                self.summary.phase = phase
            self.progress(message)

    @property
    def phase(self) -> JobPhase | None:
        return self.tracker.phase if self.tracker is not None else None

    def patient(self, patient_id: str, state: PatientState, **kw: Any) -> None:
        assert self.job_id is not None
        self.emit(PatientEvent(str(self.job_id), patient_id, state, **kw))
