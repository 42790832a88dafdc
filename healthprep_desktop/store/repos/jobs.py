"""Batch jobs (one clinic day for one tenant) and the state of each patient in them.

A job's patients move pending -> running -> done | failed (with a short, non-PHI reason), and a
rerun picks up what is not done. ``hashes`` keeps content hashes (record, sheet...) so a rerun can
skip a patient whose inputs did not change.

A running job has an owner (the process running it) and a lease, kept in ``params`` under
``_owner``: a second batch on the same connection and clinic day is refused while the owner
lives and its lease holds (``acquire``), so two processes never prepare and post the same day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.errors import RecordNotFoundError
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.store.scoped import Row, ScopedTable

JOB_LEASE = timedelta(minutes=2)  # renewed by the running batch every few seconds
OWNER_KEY = "_owner"


class JobBusyError(Exception):
    """Another live process runs a batch for the same connection and clinic day."""

    def __init__(self, job: Job, owner: ClaimOwner) -> None:
        super().__init__(
            f"Another batch (job {job.id}, process {owner.pid}) is already running for this "
            f"connection and clinic day {job.clinic_day.isoformat()}: wait for it to finish "
            "or stop it, then run this again."
        )
        self.job = job
        self.owner = owner


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PatientState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    connection_id: int | None
    clinic_day: date
    state: JobState
    params: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class JobPatient:
    job_id: int
    patient_id: str
    position: int  # order on the schedule
    state: PatientState
    reason: str | None  # why it failed (no PHI)
    hashes: dict[str, str]
    attempts: int
    updated_at: str


class JobRepository:
    def __init__(self, jobs: ScopedTable, patients: ScopedTable) -> None:
        self._jobs = jobs
        self._patients = patients

    def create(
        self,
        clinic_day: date,
        *,
        connection_id: int | None = None,
        params: Mapping[str, Any] | None = None,
        patient_ids: Sequence[str] = (),
    ) -> Job:
        now = clock.now_text()
        with self._jobs.transaction():
            job_id = self._jobs.insert(
                {
                    "connection_id": connection_id,
                    "clinic_day": clinic_day.isoformat(),
                    "state": JobState.PENDING.value,
                    "params": _json.dump(dict(params or {})),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            self.add_patients(job_id, patient_ids)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: int) -> Job | None:
        row = self._jobs.select_one({"id": job_id})
        return _job(row) if row else None

    def all(self, *, clinic_day: date | None = None, limit: int | None = None) -> list[Job]:
        """Newest first."""
        where = {} if clinic_day is None else {"clinic_day": clinic_day.isoformat()}
        return [_job(r) for r in self._jobs.select(where, order_by=("-id",), limit=limit)]

    def holder(self, job: Job, *, now: str | None = None) -> ClaimOwner | None:
        """The live owner of a running job (None: not running, or its owner is gone)."""
        if job.state is not JobState.RUNNING:
            return None
        held = job.params.get(OWNER_KEY)
        if not isinstance(held, dict):
            return None
        owner = ClaimOwner.from_json(held.get("owner"))
        lease = held.get("lease_until")
        if owner is None or not isinstance(lease, str):
            return None
        if (now or clock.now_text()) >= lease or not owner.alive():
            return None
        return owner

    def blocking(
        self, connection_id: int | None, clinic_day: date, owner: ClaimOwner
    ) -> tuple[Job, ClaimOwner] | None:
        """A job on the same connection and day that another live owner is running."""
        rows = self._jobs.select(
            {"clinic_day": clinic_day.isoformat(), "state": JobState.RUNNING.value}
        )
        for row in rows:
            job = _job(row)
            if job.connection_id != connection_id:
                continue
            held = self.holder(job)
            if held is not None and held.token != owner.token:
                return job, held
        return None

    def acquire(self, job_id: int, owner: ClaimOwner, *, lease: timedelta = JOB_LEASE) -> Job:
        """Mark the job running for ``owner``; JobBusyError if another live owner runs this job
        or another job of the same connection and clinic day."""
        with self._jobs.transaction():
            job = self.get(job_id)
            if job is None:
                raise RecordNotFoundError(f"no job {job_id} in this clinic")
            busy = self.blocking(job.connection_id, job.clinic_day, owner)
            if busy is not None:
                raise JobBusyError(*busy)
            self._set_owner(job, owner, lease)
        found = self.get(job_id)
        assert found is not None
        return found

    def renew(self, job_id: int, owner: ClaimOwner, *, lease: timedelta = JOB_LEASE) -> bool:
        """Extend the lease while the job runs; False if another owner took the job over."""
        with self._jobs.transaction():
            job = self.get(job_id)
            held = job.params.get(OWNER_KEY) if job is not None else None
            if job is None or not isinstance(held, dict):
                return False
            if (ClaimOwner.from_json(held.get("owner")) or owner).token != owner.token:
                return False
            self._set_owner(job, owner, lease, state=job.state)
        return True

    def let_go(self, job_id: int, owner: ClaimOwner) -> None:
        """Drop the owner (the job ended or stopped)."""
        with self._jobs.transaction():
            job = self.get(job_id)
            if job is None:
                return
            held = job.params.get(OWNER_KEY)
            if isinstance(held, dict) and (
                (ClaimOwner.from_json(held.get("owner")) or owner).token == owner.token
            ):
                params = {k: v for k, v in job.params.items() if k != OWNER_KEY}
                self._jobs.update(
                    {"id": job_id}, {"params": _json.dump(params), "updated_at": clock.now_text()}
                )

    def _set_owner(
        self, job: Job, owner: ClaimOwner, lease: timedelta, state: JobState = JobState.RUNNING
    ) -> None:
        params = dict(job.params)
        params[OWNER_KEY] = {
            "owner": owner.to_json(),
            "lease_until": clock.to_text(clock.utc_now() + lease),
        }
        self._jobs.update(
            {"id": job.id},
            {"params": _json.dump(params), "state": state.value, "updated_at": clock.now_text()},
        )

    def set_state(self, job_id: int, state: JobState) -> bool:
        values = {"state": JobState(state).value, "updated_at": clock.now_text()}
        return self._jobs.update({"id": job_id}, values) > 0

    def delete(self, job_id: int) -> bool:
        """Delete a job and (by cascade) its patients' states."""
        return self._jobs.delete({"id": job_id}) > 0

    def add_patients(self, job_id: int, patient_ids: Sequence[str]) -> None:
        """Append patients in schedule order; ones already in the job keep their state."""
        with self._jobs.transaction():
            if not self._jobs.count({"id": job_id}):
                raise RecordNotFoundError(f"no job {job_id} in this clinic")
            start = self._patients.count({"job_id": job_id})
            now = clock.now_text()
            for offset, patient_id in enumerate(patient_ids):
                self._patients.upsert(
                    {
                        "job_id": job_id,
                        "patient_id": patient_id,
                        "position": start + offset,
                        "state": PatientState.PENDING.value,
                        "updated_at": now,
                    },
                    key=("job_id", "patient_id"),
                    update=False,
                )

    def patients(self, job_id: int, *, state: PatientState | None = None) -> list[JobPatient]:
        where: dict[str, Any] = {"job_id": job_id}
        if state is not None:
            where["state"] = PatientState(state).value
        return [_patient(r) for r in self._patients.select(where, order_by=("position",))]

    def patient(self, job_id: int, patient_id: str) -> JobPatient | None:
        row = self._patients.select_one({"job_id": job_id, "patient_id": patient_id})
        return _patient(row) if row else None

    def start_patient(self, job_id: int, patient_id: str) -> JobPatient:
        """Mark running and count the attempt."""
        return self._set_patient(
            job_id,
            patient_id,
            {"state": PatientState.RUNNING.value, "reason": None},
            increments={"attempts": 1},
        )

    def finish_patient(
        self,
        job_id: int,
        patient_id: str,
        state: PatientState,
        *,
        reason: str | None = None,
        hashes: Mapping[str, str] | None = None,
    ) -> JobPatient:
        values: dict[str, Any] = {"state": PatientState(state).value, "reason": reason}
        if hashes is not None:
            values["hashes"] = _json.dump(dict(hashes))
        return self._set_patient(job_id, patient_id, values)

    def counts(self, job_id: int) -> dict[PatientState, int]:
        counts = dict.fromkeys(PatientState, 0)
        for row in self._patients.select({"job_id": job_id}, columns=("state",)):
            counts[PatientState(row["state"])] += 1
        return counts

    def _set_patient(
        self,
        job_id: int,
        patient_id: str,
        values: dict[str, Any],
        *,
        increments: Mapping[str, int] | None = None,
    ) -> JobPatient:
        values["updated_at"] = clock.now_text()
        where = {"job_id": job_id, "patient_id": patient_id}
        if not self._patients.update(where, values, increments=increments):
            raise RecordNotFoundError(f"patient is not in job {job_id} of this clinic")
        found = self.patient(job_id, patient_id)
        assert found is not None
        return found


def _job(row: Row) -> Job:
    return Job(
        id=int(row["id"]),
        connection_id=row["connection_id"],
        clinic_day=date.fromisoformat(row["clinic_day"]),
        state=JobState(row["state"]),
        params=_json.load(row["params"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _patient(row: Row) -> JobPatient:
    return JobPatient(
        job_id=int(row["job_id"]),
        patient_id=row["patient_id"],
        position=int(row["position"]),
        state=PatientState(row["state"]),
        reason=row["reason"],
        hashes=_json.load(row["hashes"]),
        attempts=int(row["attempts"]),
        updated_at=row["updated_at"],
    )
