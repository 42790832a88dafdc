"""Bulk Data export over HTTP: Group read and search, and the kick-off that starts a job.

``BulkService.route`` answers the FHIR paths it owns (``Group``, ``$export``) from inside the
FHIR API's dispatch, so kick-offs are authorized, counted and answered like any interaction;
status, delete and files are their own routes (endpoints.py: ``$export-status``,
``$export-file``) because a file is streamed from disk, not returned as one body.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from healthprep_desktop.sandbox.bulk.groups import (
    GroupSearchError,
    PanelGroup,
    find_group,
    search_groups,
)
from healthprep_desktop.sandbox.bulk.jobs import BulkJob, JobRegistry
from healthprep_desktop.sandbox.bulk.kickoff import ExportRequest, parse_kickoff
from healthprep_desktop.sandbox.bulk.writer import millis, run_export
from healthprep_desktop.sandbox.config import SandboxClock, SandboxConfig
from healthprep_desktop.sandbox.datastore import dumps
from healthprep_desktop.sandbox.faults import SandboxStats, operation_outcome
from healthprep_desktop.sandbox.fhir_common import Ctx, FhirError, Result
from healthprep_desktop.sandbox.org import Organization
from healthprep_desktop.sandbox.profiles import ServerProfile, profile_named
from healthprep_desktop.sandbox.scopes import READ, Access

STATUS_PATH = "$export-status"
_LEVEL_PATHS = {"system": "[base]/$export", "patient": "Patient/$export", "group": "Group"}


class BulkService:
    """One per sandbox: the jobs of every organization, and the routes that serve them."""

    def __init__(
        self,
        config: SandboxConfig,
        orgs: Mapping[str, Organization],
        stats: SandboxStats,
        clock: SandboxClock,
    ) -> None:
        self.config = config
        self.orgs = orgs
        self.stats = stats
        self.clock = clock
        self.jobs = JobRegistry()
        self._temp: str | None = None

    @property
    def profile(self) -> ServerProfile:
        return profile_named(self.config.profile)

    def _job_folder(self, job_id: str) -> Path:
        root = self.config.bulk.folder
        if root is None:
            if self._temp is None:
                # Patient data outside the store: a private folder, removed with the service.
                self._temp = tempfile.mkdtemp(prefix="healthprep-bulk-")
                weakref.finalize(self, shutil.rmtree, self._temp, True)
            root = Path(self._temp)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = root / job_id
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
        return folder

    def expiry(self) -> float:
        configured = self.config.bulk.file_expiry_seconds
        return configured if configured is not None else self.profile.bulk.file_expiry_seconds

    # --- the FHIR API's dispatch -----------------------------------------------------------

    def route(
        self,
        ctx: Ctx,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Result | None:
        """The answer for a path this module owns, None for any other path."""
        if not parts:
            return None
        if parts == ["$export"]:
            return self._kickoff(ctx, "system", None, method, parts, query, headers, body)
        if parts == ["Patient", "$export"]:
            return self._kickoff(ctx, "patient", None, method, parts, query, headers, body)
        if parts[0] != "Group":
            return None
        if len(parts) == 3 and parts[2] == "$export":
            return self._kickoff(ctx, "group", parts[1], method, parts, query, headers, body)
        return self._group(ctx, method, parts, query, body)

    # --- Group -----------------------------------------------------------------------------

    def _group(
        self,
        ctx: Ctx,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        body: bytes | None,
    ) -> Result:
        if ctx.token.grant.access("Group", READ) is not Access.ALL:
            raise FhirError(
                403, "forbidden", "reading Groups needs user/ or system/ read access to Group"
            )
        store = ctx.org.store
        if len(parts) == 2 and method == "GET" and parts[1] != "_search":
            group = find_group(store, parts[1])
            if group is None:
                raise FhirError(404, "not-found", f"Group/{parts[1]} is not known")
            return Result(200, dumps(group.resource()), resource_type="Group", interaction="read")
        if (parts == ["Group"] and method == "GET") or (
            parts == ["Group", "_search"] and (method == "POST")
        ):
            form = parse_qsl((body or b"").decode("utf-8", "replace")) if method == "POST" else []
            try:
                profile = self.profile
                # athena-like: searches without a patient carry ah-practice (the tenant).
                asked = [(n, v) for n, v in query + form if n != profile.practice_param]
                found = search_groups(store, asked, restricted=not profile.is_generic)
            except GroupSearchError as exc:
                raise FhirError(400, "not-supported", str(exc)) from exc
            return Result(
                200,
                self._searchset(ctx, found, query + form),
                resource_type="Group",
                interaction="search-type",
            )
        raise FhirError(405, "not-supported", f"{method} is not supported on Group here")

    def _searchset(self, ctx: Ctx, groups: list[PanelGroup], query: list[tuple[str, str]]) -> bytes:
        self_url = f"{ctx.bases.url}/Group" + (f"?{urlencode(query)}" if query else "")
        return dumps(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(groups),
                "link": [{"relation": "self", "url": self_url}],
                "entry": [
                    {
                        "fullUrl": f"{ctx.bases.url}/Group/{g.id}",
                        "resource": g.resource(),
                        "search": {"mode": "match"},
                    }
                    for g in groups
                ],
            }
        )

    # --- kick-off --------------------------------------------------------------------------

    def _kickoff(
        self,
        ctx: Ctx,
        level: str,
        group_id: str | None,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Result:
        rtype = {"system": "system", "patient": "Patient", "group": "Group"}[level]
        if method not in ("GET", "POST"):
            raise FhirError(405, "not-supported", "start an export with GET or POST")
        support = self.profile.bulk
        offered = {
            "system": support.system_export,
            "patient": support.patient_export,
            "group": support.group_export,
        }[level]
        if not offered:
            paths = [p for lvl, p in _LEVEL_PATHS.items() if getattr(support, f"{lvl}_export")]
            where = ", ".join(f"{p}/[id]/$export" if p == "Group" else p for p in paths)
            raise FhirError(
                404,
                "not-supported",
                f"this server does not offer {_LEVEL_PATHS[level]} export; use {where or 'none'}",
            )
        store = ctx.org.store
        patients: tuple[str, ...] = ()
        if level == "group":
            group = find_group(store, group_id or "")
            if group is None:
                raise FhirError(404, "not-found", f"Group/{group_id} is not known")
            patients = group.members
        elif level == "patient":
            patients = tuple(store.patient_ids())
        profile = self.profile
        request = parse_kickoff(
            level,
            group_id,
            method,
            query,
            headers,
            body,
            lambda t: profile.type_rules(t) is not None,
        )
        if request.patients is not None:
            patients, request = self._limit_patients(level, patients, request)
        types = self._types(ctx, request)
        bulk = self.config.bulk
        now = self.clock.now()
        if support.one_job_per_client and self.jobs.in_progress(
            ctx.org.org_id, ctx.token.client_id, bulk, now
        ):
            retry = max(1, bulk.retry_after)
            raise FhirError(
                429,
                "throttled",
                "an export by this client is already in progress; wait for it or delete it",
                {"Retry-After": str(retry)},
            )
        self._purge_expired(now)
        job_id = self.jobs.new_id()
        transaction = millis(now) / 1000.0
        fail = bulk.next_jobs_fail > 0
        if fail:
            bulk.next_jobs_fail -= 1
        path = "/".join(parts)
        request_url = f"{ctx.bases.url}/{path}" + (f"?{urlencode(query)}" if query else "")
        job = BulkJob(
            job_id,
            ctx.org.org_id,
            ctx.token.client_id,
            request,
            request_url,
            transaction,
            self._job_folder(job_id),
            patients,
            base_url=ctx.bases.url,
            fail=fail,
        )
        self.jobs.add(job)
        job.task = asyncio.get_running_loop().create_task(
            run_export(job, store, types, bulk, self.config.faults)
        )
        status_url = f"{ctx.bases.url}/{STATUS_PATH}/{job_id}"
        body_out = operation_outcome(
            "informational", f"export started; poll {status_url}", severity="information"
        )
        return Result(
            202,
            body_out,
            headers={"Content-Location": status_url},
            resource_type=rtype,
            interaction="operation:export",
        )

    def _limit_patients(
        self, level: str, patients: tuple[str, ...], request: ExportRequest
    ) -> tuple[tuple[str, ...], ExportRequest]:
        if level == "system":
            raise FhirError(
                400, "invalid", "the patient parameter applies to Patient and Group exports"
            )
        members = set(patients)
        wanted = request.patients or ()
        outside = [p for p in wanted if p not in members]
        if outside and not request.lenient:
            raise FhirError(
                400,
                "invalid",
                f"{len(outside)} patient parameter(s) name no patient of this export",
            )
        warnings = request.warnings
        if outside:
            warnings += (f"{len(outside)} patient parameter(s) named no patient and were ignored",)
        kept = tuple(p for p in wanted if p in members)
        return kept, replace(request, warnings=warnings)

    def _types(self, ctx: Ctx, request: ExportRequest) -> tuple[str, ...] | None:
        """The types to write (None = all); 403 when the token may not read one asked for."""
        grant = ctx.token.grant
        if request.types is not None:
            denied = [t for t in request.types if grant.access(t, READ) is not Access.ALL]
            if denied:
                raise FhirError(
                    403,
                    "forbidden",
                    "the granted scopes do not permit a system or user level read of "
                    f"{', '.join(denied)}; ask for system/{denied[0]}.read",
                )
            return request.types
        profile = self.profile
        store = ctx.org.store
        candidates = list(store.types()) if profile.types is None else list(profile.types)
        readable = [t for t in candidates if grant.access(t, READ) is Access.ALL]
        if not readable:
            raise FhirError(
                403,
                "forbidden",
                "an export needs system/ or user/ read scopes (e.g. system/*.read)",
            )
        if profile.types is None and len(readable) == len(candidates):
            return None
        return tuple(readable)

    def _purge_expired(self, now: float) -> None:
        """Free the disk of expired exports (their files answer 404 either way)."""
        expiry = self.expiry()
        for job in self.jobs.all():
            if job.finished_at is not None and now > job.finished_at + expiry:
                shutil.rmtree(job.folder, ignore_errors=True)
