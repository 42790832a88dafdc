"""The Bulk Data export's own HTTP routes: status polling, deletion, file downloads, and the
sandbox control that changes patients' data for ``_since`` runs (docs/sandbox-bulk.md)."""

from __future__ import annotations

import json
import math
from email.utils import formatdate
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from healthprep_desktop.sandbox.auth import AccessToken, BearerError
from healthprep_desktop.sandbox.bulk.changes import touch_patients
from healthprep_desktop.sandbox.bulk.files import Receive, Scope, Send, file_headers, parse_range
from healthprep_desktop.sandbox.bulk.files import send_file as stream_file
from healthprep_desktop.sandbox.bulk.jobs import BulkJob, JobState, OutputFile
from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.datastore import dumps, instant
from healthprep_desktop.sandbox.faults import operation_outcome
from healthprep_desktop.sandbox.fhir_common import FhirError, Result
from healthprep_desktop.sandbox.org import Organization
from healthprep_desktop.sandbox.profiles import ServerProfile

if TYPE_CHECKING:
    from healthprep_desktop.sandbox.bulk.service import BulkService

JSON_TYPE = "application/json"
FILE_PATH = "$export-file"


def _bearer(org: Organization, header: str | None) -> AccessToken:
    try:
        return org.auth.bearer(header)
    except BearerError as exc:
        challenge = f'Bearer realm="{org.org_id}"'
        if exc.error:
            challenge += f', error="{exc.error}", error_description="{exc.description}"'
        raise FhirError(401, "login", exc.description, {"WWW-Authenticate": challenge}) from exc


def _response(result: Result) -> Response:
    return Response(result.body or b"", result.status, result.headers, result.content_type)


class BulkEndpoints:
    """Status, delete and touch as Starlette endpoints; ``files`` is the file route's app."""

    def __init__(self, service: BulkService) -> None:
        self.service = service
        self.orgs = service.orgs
        self.jobs = service.jobs
        self.config = service.config
        self.clock = service.clock
        self.stats = service.stats
        self.files = FileEndpoint(self)

    @property
    def profile(self) -> ServerProfile:
        return self.service.profile

    def _expiry(self) -> float:
        return self.service.expiry()

    # --- status and delete -----------------------------------------------------------------

    def _job_for(self, request: Request) -> tuple[BulkJob, AccessToken]:
        org = self.orgs.get(request.path_params["org_id"])
        if org is None:
            raise FhirError(404, "not-found", "unknown organization")
        token = _bearer(org, request.headers.get("authorization"))
        job = self.jobs.get(org.org_id, str(request.path_params["job_id"]))
        if job is None or job.client_id != token.client_id:
            raise FhirError(404, "not-found", "no such export (it may have been deleted)")
        return job, token

    async def status(self, request: Request) -> Response:
        info: dict[str, str] = request.scope.get("sandbox") or {}
        deleting = request.method == "DELETE"
        info["interaction"] = "bulk-delete" if deleting else "bulk-status"
        try:
            job, _ = self._job_for(request)
            if deleting:
                self.jobs.delete(job)
                body = operation_outcome("informational", "export deleted", "information")
                return _response(Result(202, body))
            return _response(self._status(job))
        except FhirError as exc:
            return _response(exc.result())

    def _status(self, job: BulkJob) -> Result:
        bulk = self.config.bulk
        now = self.clock.now()
        state = job.state(bulk, now)
        if state is JobState.RUNNING and bulk.enforce_retry_after and job.last_poll is not None:
            wait = job.last_poll + bulk.retry_after - now
            if wait > 0:
                raise FhirError(
                    429,
                    "throttled",
                    "polled sooner than Retry-After; wait before polling again",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
        if bulk.next_status_errors > 0:
            bulk.next_status_errors -= 1
            self.stats.fault("bulk_status_error")
            raise FhirError(
                bulk.status_error_code,
                "transient",
                "the export status is unavailable for a moment; poll again",
                {"Retry-After": str(max(0, bulk.retry_after))},
            )
        if state is JobState.RUNNING:
            job.polls += 1
            job.last_poll = now
            headers = {"Retry-After": str(max(0, bulk.retry_after))}
            if self.profile.bulk.progress:
                headers["X-Progress"] = job.progress()
            return Result(202, None, headers=headers)
        if state is JobState.FAILED:
            raise FhirError(500, "exception", job.writer_error or "the export failed; start again")
        expires = (job.finished_at or now) + self._expiry()
        return Result(
            200,
            dumps(self._manifest(job)),
            "application/json",
            headers={"Expires": formatdate(expires, usegmt=True)},
        )

    def _manifest(self, job: BulkJob) -> JSON:
        root = f"{job.base_url}/{FILE_PATH}/{job.id}"

        def item(output: OutputFile) -> JSON:
            url = f"{root}/{output.name}"
            return {"type": output.resource_type, "url": url, "count": output.count}

        return {
            "transactionTime": instant(job.transaction_time),
            "request": job.request_url,
            "requiresAccessToken": True,
            "output": [item(o) for o in job.outputs],
            "deleted": [],
            "error": [item(e) for e in job.errors],
        }

    async def touch(self, request: Request) -> Response:
        """``POST /_sandbox/bulk/touch`` with ``{"org": id, "patients": [ids]}`` or
        ``{"org": id, "count": N}`` (the first N patients): changes those patients' data
        (touch_patients) for a sandbox running in another process; answers how many
        resources changed. A sandbox control, like /_sandbox/stats: no token."""
        try:
            asked = json.loads(await request.body() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            asked = None
        if not isinstance(asked, dict):
            return Response(dumps({"error": "send a JSON object"}), 400, media_type=JSON_TYPE)
        org_id = asked.get("org") or next(iter(self.orgs))
        org = self.orgs.get(str(org_id))
        if org is None:
            return Response(dumps({"error": "unknown organization"}), 404, media_type=JSON_TYPE)
        patients = asked.get("patients")
        if not isinstance(patients, list):
            count = asked.get("count")
            if not isinstance(count, int) or count < 0:
                return Response(
                    dumps({"error": "give patients (a list of ids) or count (a number)"}),
                    400,
                    media_type=JSON_TYPE,
                )
            patients = org.store.patient_ids()[:count]
        types = asked.get("types")
        changed = touch_patients(
            org, [str(p) for p in patients], types if isinstance(types, list) else None
        )
        body = {"changed": changed, "patients": len(patients)}
        return Response(dumps(body), media_type=JSON_TYPE)


class FileEndpoint:
    """``GET [base]/$export-file/{job_id}/{name}`` as a raw ASGI app (see files.py)."""

    def __init__(self, service: BulkEndpoints) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        info: dict[str, str] = scope.get("sandbox") or {}
        info["interaction"] = "bulk-file"
        service = self.service
        try:
            if request.method not in ("GET", "HEAD"):
                raise FhirError(405, "not-supported", "export files are read with GET")
            job, _ = service._job_for(request)
            found = job.file(str(request.path_params["name"]))
            now = service.clock.now()
            if found is None or job.state(service.config.bulk, now) is not JobState.COMPLETE:
                raise FhirError(404, "not-found", "no such export file")
            info["type"] = found.resource_type
            finished = job.finished_at or now
            if now > finished + service._expiry():
                raise FhirError(
                    404,
                    "not-found",
                    "this export file expired at "
                    f"{instant(finished + service._expiry())}; start a new export",
                )
            if not found.path.exists():
                raise FhirError(404, "not-found", "this export file was removed; start again")
            part = parse_range(request.headers.get("range"), found.size)
            etag = f'"{job.id}-{found.name}-{found.size}"'
            headers = file_headers(found.size, etag, finished, part)
            bulk = service.config.bulk
            cut: int | None = None
            if bulk.next_downloads_cut > 0 and request.method == "GET":
                bulk.next_downloads_cut -= 1
                cut = max(0, bulk.cut_after_bytes)
                service.stats.fault("bulk_download_cut")
            if request.method == "HEAD":
                status = 200 if part is None else 206
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            await stream_file(send, found.path, found.size, part, headers, cut)
        except FhirError as exc:
            await _response(exc.result())(scope, receive, send)
