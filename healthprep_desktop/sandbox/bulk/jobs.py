"""Bulk export jobs: what was asked, how far the writer got, what the status answers.

A job is "running" until its writer has finished AND the configured number of status polls
and seconds have passed (so a test sees 202 then 200 even for a three-patient clinic). Only
then does it report complete (the manifest) or failed (``next_jobs_fail``).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from healthprep_desktop.sandbox.bulk.kickoff import ExportRequest
from healthprep_desktop.sandbox.config import BulkConfig


class JobState(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(slots=True)
class OutputFile:
    resource_type: str
    name: str  # e.g. "Observation-2.ndjson"
    path: Path
    count: int = 0  # resources (lines) written
    size: int = 0  # bytes, known once closed


@dataclass(slots=True)
class BulkJob:
    id: str
    org_id: str
    client_id: str
    request: ExportRequest
    request_url: str
    transaction_time: float  # sandbox clock, millisecond precision
    folder: Path
    patients: tuple[str, ...]  # the patients exported (empty for a system export by type)
    base_url: str = ""  # the FHIR base the client used at kick-off (file URLs hang on it)
    fail: bool = False  # make the job fail when it would complete (next_jobs_fail)
    polls: int = 0  # status polls answered 202
    last_poll: float | None = None  # sandbox clock
    done_patients: int = 0
    finished_at: float | None = None  # when the writer finished (sandbox clock)
    writer_error: str | None = None  # the writer crashed: the job fails
    outputs: list[OutputFile] = field(default_factory=list)
    errors: list[OutputFile] = field(default_factory=list)
    deleted: bool = False
    task: asyncio.Task[None] | None = None

    def state(self, config: BulkConfig, now: float) -> JobState:
        if self.finished_at is None and self.writer_error is None:
            return JobState.RUNNING
        if self.polls < config.polls_before_complete:
            return JobState.RUNNING
        if now - self.transaction_time < config.min_seconds:
            return JobState.RUNNING
        if self.fail or self.writer_error is not None:
            return JobState.FAILED
        return JobState.COMPLETE

    def progress(self) -> str:
        total = len(self.patients)
        if total == 0:
            return "finishing" if self.finished_at is not None else "exporting"
        done = min(self.done_patients, total)
        return f"{done * 100 // total}% ({done}/{total} patients)"

    def file(self, name: str) -> OutputFile | None:
        for found in (*self.outputs, *self.errors):
            if found.name == name:
                return found
        return None


class JobRegistry:
    """Every organization's jobs, by id; deleting a job removes its folder."""

    def __init__(self) -> None:
        self._jobs: dict[str, BulkJob] = {}
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def add(self, job: BulkJob) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def all(self) -> list[BulkJob]:
        with self._lock:
            return list(self._jobs.values())

    def get(self, org_id: str, job_id: str) -> BulkJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.deleted or job.org_id != org_id:
            return None
        return job

    def in_progress(self, org_id: str, client_id: str, config: BulkConfig, now: float) -> bool:
        with self._lock:
            jobs = list(self._jobs.values())
        return any(
            j.org_id == org_id
            and j.client_id == client_id
            and not j.deleted
            and j.state(config, now) is JobState.RUNNING
            for j in jobs
        )

    def delete(self, job: BulkJob) -> None:
        job.deleted = True
        if job.task is not None and not job.task.done():
            job.task.cancel()
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)
