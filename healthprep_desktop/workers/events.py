"""Progress events flowing out of a batch job to whoever listens (the window or the terminal).

Events carry FHIR ids and states only, never names: the terminal and the logs see them too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class PatientState(StrEnum):
    PENDING = "pending"
    FETCHING = "fetching"
    EXTRACTING = "extracting"
    SCREENING = "screening"
    STORING = "storing"
    WRITING_BACK = "writing_back"
    DONE = "done"
    SKIPPED = "skipped"  # unchanged since the last run: the stored sheet stands
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (PatientState.DONE, PatientState.SKIPPED, PatientState.FAILED)


class JobPhase(StrEnum):
    STARTING = "starting"
    SCHEDULE = "schedule"  # fetching the day's appointments
    PATIENTS = "patients"  # preparing patients
    COMBINING = "combining"  # rendering the whole-day PDF
    PAUSED = "paused"
    RECONNECT = "reconnect"  # authorization lost: waiting for the user to sign in again
    CANCELLED = "cancelled"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PatientEvent:
    job_id: str
    patient_id: str
    state: PatientState
    reason: str | None = None  # readable failure reason, no PHI
    summary: dict[str, int] | None = None  # status counts, e.g. {"due": 2, "due_soon": 1}


@dataclass(frozen=True, slots=True)
class JobProgress:
    job_id: str
    phase: JobPhase
    total: int
    done: int
    failed: int
    skipped: int
    in_flight: int
    rate_per_min: float  # patients finished per minute, over a sliding window
    eta_seconds: float | None
    message: str = ""

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 0.0


Event = PatientEvent | JobProgress
Listener = Callable[[Event], None]


@dataclass
class ProgressTracker:
    """Counts and a sliding-window rate; emits JobProgress snapshots."""

    job_id: str
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    in_flight: int = 0
    phase: JobPhase = JobPhase.STARTING
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _finishes: deque[float] = field(default_factory=deque)
    _started: float | None = None

    def start(self) -> None:
        self._started = self.clock()

    def finished_one(self) -> None:
        now = self.clock()
        self._finishes.append(now)
        while self._finishes and now - self._finishes[0] > self.window_seconds:
            self._finishes.popleft()

    def rate_per_second(self) -> float:
        if not self._finishes:
            return 0.0
        now = self.clock()
        start = self._started if self._started is not None else self._finishes[0]
        span = min(self.window_seconds, max(now - start, 1e-6))
        return len(self._finishes) / span

    def snapshot(self, message: str = "") -> JobProgress:
        rate = self.rate_per_second()
        remaining = self.total - (self.done + self.failed + self.skipped)
        eta = remaining / rate if rate > 0 and remaining > 0 else (0.0 if remaining <= 0 else None)
        return JobProgress(
            job_id=self.job_id,
            phase=self.phase,
            total=self.total,
            done=self.done,
            failed=self.failed,
            skipped=self.skipped,
            in_flight=self.in_flight,
            rate_per_min=rate * 60.0,
            eta_seconds=eta,
            message=message,
        )
