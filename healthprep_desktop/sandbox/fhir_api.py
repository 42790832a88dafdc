"""The FHIR R4 REST API of every organization: read, vread, search, $everything, batch,
DocumentReference create and update, with the access token's scopes enforced on each call.

One dispatcher serves both HTTP requests and the GET entries of a batch Bundle, so a batch
entry is checked and answered exactly as the same request sent on its own would be.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from healthprep_desktop.sandbox import fhirdates
from healthprep_desktop.sandbox.auth import AccessToken, BearerError
from healthprep_desktop.sandbox.bundles import (
    Bases,
    batch_entry,
    batch_response,
    relative_url,
    searchset,
)
from healthprep_desktop.sandbox.capability import capability_statement, smart_configuration
from healthprep_desktop.sandbox.config import JSON, SandboxClock, SandboxConfig
from healthprep_desktop.sandbox.datastore import (
    Criterion,
    SearchError,
    StoredResource,
    dumps,
    instant,
)
from healthprep_desktop.sandbox.faults import SandboxStats, corrupt, is_malformed, operation_outcome
from healthprep_desktop.sandbox.org import Organization, Snapshot
from healthprep_desktop.sandbox.scopes import CREATE, READ, SEARCH, UPDATE, Access
from healthprep_desktop.sandbox.search_params import ParamKind, known_types, params_for

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
CONTROL_PARAMS = frozenset(
    {
        "_count",
        "_sort",
        "_include",
        "_revinclude",
        "_getpages",
        "_getpagesoffset",
        "_total",
        "_summary",
        "_format",
        "_elements",
        "_pretty",
        "_type",
        "_since",
    }
)
# Not patient data: a patient-scoped token may read and search these across the organization.
SHARED_TYPES = frozenset(
    {"Practitioner", "PractitionerRole", "Location", "Organization", "Medication"}
)
WRITABLE_TYPES = frozenset({"DocumentReference"})


@dataclass(slots=True)
class Result:
    status: int
    body: bytes | None = None
    content_type: str = FHIR_JSON
    headers: dict[str, str] = field(default_factory=dict)
    stored: StoredResource | None = None
    resource_type: str = "-"
    interaction: str = "other"
    is_outcome: bool = False


class FhirError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = dict(headers or {})

    def result(self) -> Result:
        return Result(
            self.status,
            operation_outcome(self.code, self.diagnostics),
            headers=self.headers,
            is_outcome=True,
        )


@dataclass(slots=True)
class Ctx:
    org: Organization
    token: AccessToken
    bases: Bases


def _entry_headers(stored: StoredResource) -> dict[str, str]:
    return {"etag": stored.etag, "last-modified": stored.last_modified}


def _etag_matches(header: str, stored: StoredResource) -> bool:
    wanted = {t.strip() for t in header.split(",")}
    return "*" in wanted or stored.etag in wanted or f'"{stored.version}"' in wanted


def _not_modified_since(header: str, stored: StoredResource) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False
    return int(stored.last_updated) <= since


def _wants_raw_binary(headers: Mapping[str, str], query: list[tuple[str, str]]) -> bool:
    formats = [v for k, v in query if k == "_format"]
    accept = headers.get("accept", "") + " " + " ".join(formats)
    return not any(t in accept for t in ("fhir+json", "application/json", "json"))


def _include_specs(
    values: list[str], searched: str, reverse: bool
) -> list[tuple[str, str, str | None]]:
    specs: list[tuple[str, str, str | None]] = []
    for raw in values:
        for spec in raw.split(","):
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise SearchError(f"'{spec}' is not Type:parameter[:target]")
            source, param = parts[0], parts[1]
            target = parts[2] if len(parts) == 3 else None
            if not reverse and source != searched:
                raise SearchError(f"_include must start with {searched}")
            defs = params_for(source).get(param)
            if defs is None or defs[0].kind is not ParamKind.REFERENCE:
                raise SearchError(f"{source}:{param} is not a reference parameter")
            specs.append((source, param, target))
    return specs


def schedule_days(criteria: list[Criterion], limit: int) -> list[Any]:
    """The days an Appointment date search covers (AND across parameters, OR within one)."""
    lo, hi = fhirdates.UNBOUNDED
    for c in criteria:
        if c.name != "date" or c.modifier is not None:
            continue
        c_lo, c_hi = float("inf"), float("-inf")
        for raw in c.values:
            prefix, text = fhirdates.split_prefix(raw)
            found = fhirdates.parse_range(text)
            if found is None:
                continue
            b_lo, b_hi = fhirdates.bounds(prefix, found)
            c_lo, c_hi = min(c_lo, b_lo), max(c_hi, b_hi)
        lo, hi = max(lo, c_lo), min(hi, c_hi)
    return fhirdates.days_in((lo, hi), limit) or []


class FhirApi:
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
        self._known = frozenset(known_types())

    # --- HTTP ------------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        info: dict[str, str] = request.scope.get("sandbox") or {}
        try:
            result = await self._handle(request)
        except FhirError as exc:
            result = exc.result()
        except ClientDisconnect:  # the client went away mid-body: nobody to answer
            result = FhirError(400, "incomplete", "the client disconnected").result()
        except Exception:  # the client gets an OperationOutcome, never a bare 500
            log.exception("sandbox FHIR API: unexpected error")
            result = FhirError(500, "exception", "internal server error").result()
        if result.resource_type == "-":  # refused before dispatch (e.g. 401): name it anyway
            parts = [p for p in str(request.path_params.get("rest", "")).split("/") if p]
            if parts and parts[0] in self._known:
                result.resource_type = parts[0]
                result.interaction = _interaction(request.method, parts)
        info["type"] = result.resource_type
        if result.interaction != "other":
            info["interaction"] = result.interaction
        return _to_response(result)

    async def _handle(self, request: Request) -> Result:
        org = self.orgs.get(request.path_params["org_id"])
        if org is None:
            raise FhirError(404, "not-found", "unknown organization")
        parts = [p for p in str(request.path_params.get("rest", "")).split("/") if p]
        root = str(request.base_url).rstrip("/")
        bases = Bases(f"{root}/org/{org.org_id}/fhir", f"/org/{org.org_id}/fhir")
        method = request.method
        if method == "GET" and parts == ["metadata"]:
            document = capability_statement(
                root, org.org_id, org.config.name, bases.url, org.store.types()
            )
            return Result(200, dumps(document), interaction="capabilities")
        if method == "GET" and parts == [".well-known", "smart-configuration"]:
            document = smart_configuration(root, org.org_id, bases.url)
            return Result(
                200, dumps(document), "application/json", interaction="smart-configuration"
            )
        try:
            token = org.auth.bearer(request.headers.get("authorization"))
        except BearerError as exc:
            challenge = f'Bearer realm="{org.org_id}"'
            if exc.error:
                challenge += f', error="{exc.error}", error_description="{exc.description}"'
            raise FhirError(401, "login", exc.description, {"WWW-Authenticate": challenge}) from exc
        body = await request.body() if method in ("POST", "PUT") else None
        query = list(request.query_params.multi_items())
        return await self.execute(
            Ctx(org, token, bases), method, parts, query, request.headers, body
        )

    # --- dispatch --------------------------------------------------------------------------

    async def execute(
        self,
        ctx: Ctx,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Result:
        rtype = parts[0] if parts else "-"
        try:
            result = self._route(ctx, method, parts, query, headers, body)
            if result is None:  # only the batch is asynchronous
                result = await self._batch(ctx, body or b"")
        except FhirError as exc:
            result = exc.result()
        except SearchError as exc:
            result = FhirError(400, "invalid", str(exc)).result()
        if result.resource_type == "-":
            result.resource_type = rtype if rtype in self._known or rtype == "-" else "unknown"
        if result.interaction == "other":
            result.interaction = _interaction(method, parts)
        return result

    def _route(
        self,
        ctx: Ctx,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Result | None:
        if not parts:
            if method == "POST":
                return None
            raise FhirError(405, "not-supported", "use a resource type path")
        rtype = parts[0]
        if rtype not in self._known and rtype not in ctx.org.store.types():
            raise FhirError(404, "not-supported", f"resource type {rtype} is not supported")
        n = len(parts)
        if n == 1 and method == "GET":
            return self._search(ctx, rtype, query)
        if n == 2 and parts[1] == "_search" and method == "POST":
            form = parse_qsl((body or b"").decode("utf-8", "replace"), keep_blank_values=True)
            return self._search(ctx, rtype, query + form)
        if n == 1 and method == "POST":
            return self._create(ctx, rtype, headers, body or b"")
        if n == 2 and method == "GET":
            return self._read(ctx, rtype, parts[1], headers, query)
        if n == 2 and method == "PUT":
            return self._update(ctx, rtype, parts[1], headers, body or b"")
        if n == 3 and rtype == "Patient" and parts[2] == "$everything" and method == "GET":
            return self._everything(ctx, parts[1], query)
        if n == 4 and parts[2] == "_history" and method == "GET":
            return self._vread(ctx, rtype, parts[1], parts[3], headers)
        raise FhirError(405, "not-supported", f"{method} is not supported on this path")

    # --- access ----------------------------------------------------------------------------

    def _access(self, ctx: Ctx, rtype: str, action: str) -> str | None:
        """None for organization-wide access, a patient id for compartment-only access;
        403 when no granted scope covers the type and interaction."""
        access = ctx.token.grant.access(rtype, action)
        if access is Access.NONE:
            raise FhirError(
                403, "forbidden", f"the granted scopes do not permit {action} on {rtype}"
            )
        if access is Access.ALL or rtype in SHARED_TYPES:
            return None
        if ctx.token.patient is None:
            raise FhirError(403, "forbidden", "patient scopes need a patient in context")
        return ctx.token.patient

    def _may_read(self, ctx: Ctx, stored: StoredResource) -> bool:
        access = ctx.token.grant.access(stored.resource_type, READ)
        if access is Access.ALL:
            return True
        if access is Access.NONE:
            return False
        return self._in_compartment(stored, ctx.token.patient)

    @staticmethod
    def _in_compartment(stored: StoredResource, patient: str | None) -> bool:
        if stored.patient is None:
            return stored.resource_type in SHARED_TYPES
        return stored.patient == patient

    def _served(self, stored: StoredResource) -> bytes:
        faults = self.config.faults
        if is_malformed(faults.seed, faults.malformed_fraction, stored.resource_type, stored.key):
            self.stats.fault("malformed")
            return dumps(corrupt(stored.json(), faults.seed))
        return stored.body

    # --- read ------------------------------------------------------------------------------

    def _read(
        self,
        ctx: Ctx,
        rtype: str,
        rid: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
    ) -> Result:
        limit = self._access(ctx, rtype, READ)
        stored = ctx.org.store.get(rtype, rid)
        if stored is None:
            raise FhirError(404, "not-found", f"{rtype}/{rid} is not known")
        if limit is not None and not self._in_compartment(stored, limit):
            raise FhirError(403, "forbidden", "the resource is outside the patient in context")
        return self._conditional_read(stored, headers, query, "read")

    def _vread(
        self, ctx: Ctx, rtype: str, rid: str, version: str, headers: Mapping[str, str]
    ) -> Result:
        limit = self._access(ctx, rtype, READ)
        if not version.isdigit():
            raise FhirError(404, "not-found", "unknown version")
        stored = ctx.org.store.get_version(rtype, rid, int(version))
        if stored is None:
            raise FhirError(404, "not-found", f"{rtype}/{rid} version {version} is not known")
        if limit is not None and not self._in_compartment(stored, limit):
            raise FhirError(403, "forbidden", "the resource is outside the patient in context")
        return self._conditional_read(stored, headers, [], "vread")

    def _conditional_read(
        self,
        stored: StoredResource,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        interaction: str,
    ) -> Result:
        entry_headers = _entry_headers(stored)
        if_none_match = headers.get("if-none-match")
        if_modified = headers.get("if-modified-since")
        if (if_none_match and _etag_matches(if_none_match, stored)) or (
            not if_none_match and if_modified and _not_modified_since(if_modified, stored)
        ):
            return Result(304, None, headers=entry_headers, stored=stored, interaction=interaction)
        if stored.resource_type == "Binary" and _wants_raw_binary(headers, query):
            binary = stored.json()
            try:
                data = base64.b64decode(binary.get("data", ""), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise FhirError(500, "exception", "stored Binary data is not base64") from exc
            content_type = str(binary.get("contentType") or "application/octet-stream")
            return Result(200, data, content_type, entry_headers, stored, interaction=interaction)
        return Result(
            200, stored.body, headers=entry_headers, stored=stored, interaction=interaction
        )

    # --- search ----------------------------------------------------------------------------

    def _page_size(self, control: dict[str, list[str]]) -> int:
        raw = control.get("_count", [str(self.config.default_page_size)])[-1]
        try:
            count = int(raw)
        except ValueError as exc:
            raise SearchError(f"_count must be a number, not '{raw}'") from exc
        return max(0, min(count, self.config.max_page_size))

    def _search(self, ctx: Ctx, rtype: str, query: list[tuple[str, str]]) -> Result:
        limit = self._access(ctx, rtype, SEARCH)
        control: dict[str, list[str]] = {}
        criteria: list[Criterion] = []
        for name, value in query:
            base, _, modifier = name.partition(":")
            if base in CONTROL_PARAMS:
                control.setdefault(base, []).append(value)
            else:
                criteria.append(Criterion(base, modifier or None, value.split(",")))
        count = self._page_size(control)
        if "_getpages" in control:
            return self._snapshot_page(ctx, control, count, "search-type")
        if limit is not None:
            self._check_named_patient(rtype, criteria, limit)
        if rtype == "Appointment":
            for day in schedule_days(criteria, self.config.max_schedule_days):
                ctx.org.ensure_day(day)
        store = ctx.org.store
        matches = store.search(rtype, criteria, limit)
        sort_keys = [k for raw in control.get("_sort", []) for k in raw.split(",") if k]
        for key in sort_keys:
            name = key.lstrip("-")
            defs = params_for(rtype).get(name)
            if name not in ("_lastUpdated", "_id") and (
                defs is None or defs[0].kind is not ParamKind.DATE
            ):
                raise SearchError(f"_sort by '{name}' is not supported")
        if sort_keys:
            matches = store.sort(matches, sort_keys)
        includes = _include_specs(control.get("_include", []), rtype, reverse=False)
        revincludes = _include_specs(control.get("_revinclude", []), rtype, reverse=True)
        if control.get("_summary", [""])[-1] == "count" or count == 0:
            body = searchset(ctx.bases.url, len(matches), [], [], self.clock.now())
            return Result(200, body, interaction="search-type")
        extra = [(k, v) for k in ("_include", "_revinclude") for v in control.get(k, [])]
        self_link = relative_url(rtype, query)
        return self._page(ctx, rtype, self_link, matches, 0, count, extra, includes, revincludes)

    @staticmethod
    def _check_named_patient(rtype: str, criteria: list[Criterion], limit: str) -> None:
        for c in criteria:
            named = c.name in ("patient", "subject") or (rtype == "Patient" and c.name == "_id")
            if not named:
                continue
            for value in c.values:
                if value.rstrip("/").rsplit("/", 1)[-1] != limit:
                    raise FhirError(403, "forbidden", "the search names a patient not in context")

    def _page(
        self,
        ctx: Ctx,
        path: str,
        self_link: str,
        results: list[StoredResource],
        offset: int,
        count: int,
        extra: list[tuple[str, str]],
        includes: list[tuple[str, str, str | None]],
        revincludes: list[tuple[str, str, str | None]],
        sid: str | None = None,
        total: int | None = None,
        interaction: str = "search-type",
    ) -> Result:
        """One page; ``results`` is the whole list (first page) or just this page (a
        snapshot page, with ``total`` given)."""
        if total is None:
            total = len(results)
            page = results[offset : offset + count]
            if total > offset + count:
                owner = (ctx.token.client_id, ctx.token.patient)
                sid = ctx.org.snapshots.add(Snapshot(list(results), owner, path, extra))
        else:
            page = results
        style = self.config.link_style
        links = [("self", ctx.bases.link(style, self_link))]
        if sid is not None and offset + count < total:
            params = [*extra, ("_getpages", sid), ("_getpagesoffset", str(offset + count))]
            params.append(("_count", str(count)))
            links.append(("next", ctx.bases.link(style, relative_url(path, params))))
        if sid is not None and offset > 0:
            params = [*extra, ("_getpages", sid), ("_getpagesoffset", str(max(0, offset - count)))]
            params.append(("_count", str(count)))
            links.append(("previous", ctx.bases.link(style, relative_url(path, params))))
        entries = [(s, self._served(s), "match") for s in page]
        entries += [
            (s, self._served(s), "include")
            for s in self._included(ctx, page, includes, revincludes)
        ]
        body = searchset(ctx.bases.url, total, links, entries, self.clock.now())
        return Result(200, body, interaction=interaction)

    def _snapshot_page(
        self, ctx: Ctx, control: dict[str, list[str]], count: int, interaction: str
    ) -> Result:
        sid = control["_getpages"][-1]
        snapshot = ctx.org.snapshots.get(sid)
        if snapshot is None or snapshot.owner != (ctx.token.client_id, ctx.token.patient):
            raise FhirError(410, "not-found", "the search has expired; run it again")
        try:
            offset = max(0, int(control.get("_getpagesoffset", ["0"])[-1]))
        except ValueError as exc:
            raise SearchError("_getpagesoffset must be a number") from exc
        store = ctx.org.store
        page: list[StoredResource] = []
        for old in snapshot.results[offset : offset + count]:
            found = store.get(old.resource_type, old.id)
            if found is not None:
                page.append(found)
        searched = snapshot.path.split("/", 1)[0]
        includes = _include_specs(control.get("_include", []), searched, reverse=False)
        revincludes = _include_specs(control.get("_revinclude", []), searched, reverse=True)
        self_params = [*snapshot.extra, ("_getpages", sid), ("_getpagesoffset", str(offset))]
        self_params.append(("_count", str(count)))
        return self._page(
            ctx,
            snapshot.path,
            relative_url(snapshot.path, self_params),
            page,
            offset,
            count,
            snapshot.extra,
            includes,
            revincludes,
            sid=sid,
            total=len(snapshot.results),
            interaction=interaction,
        )

    def _included(
        self,
        ctx: Ctx,
        page: list[StoredResource],
        includes: list[tuple[str, str, str | None]],
        revincludes: list[tuple[str, str, str | None]],
    ) -> list[StoredResource]:
        if not includes and not revincludes:
            return []
        store = ctx.org.store
        seen = {s.key for s in page}
        out: list[StoredResource] = []

        def add(found: StoredResource | None) -> None:
            if found is not None and found.key not in seen and self._may_read(ctx, found):
                seen.add(found.key)
                out.append(found)

        for _source, param, target in includes:
            for stored in page:
                for ref in stored.index.get(param, ()):
                    text = str(ref)
                    if "/" not in text or (target and not text.startswith(target + "/")):
                        continue
                    rtype, rid = text.split("/", 1)
                    add(store.get(rtype, rid))
        for source, param, _target in revincludes:
            for found in store.revinclude(page, source, param):
                add(found)
        return out

    # --- $everything -----------------------------------------------------------------------

    def _everything(self, ctx: Ctx, patient_id: str, query: list[tuple[str, str]]) -> Result:
        limit = self._access(ctx, "Patient", READ)
        if limit is not None and limit != patient_id:
            raise FhirError(403, "forbidden", "the patient is not the one in context")
        control: dict[str, list[str]] = {}
        for name, value in query:
            control.setdefault(name, []).append(value)
        count = self._page_size(control)
        if "_getpages" in control:
            return self._snapshot_page(ctx, control, count, "operation:everything")
        store = ctx.org.store
        if store.get("Patient", patient_id) is None:
            raise FhirError(404, "not-found", f"Patient/{patient_id} is not known")
        types = [t for raw in control.get("_type", []) for t in raw.split(",") if t] or None
        results = [s for s in store.compartment(patient_id, types) if self._may_read(ctx, s)]
        if "_since" in control:
            since = fhirdates.parse_range(control["_since"][-1])
            if since is None:
                raise SearchError("_since must be an instant")
            results = [s for s in results if s.lu_range[0] >= since[0]]
        path = f"Patient/{patient_id}/$everything"
        return self._page(
            ctx,
            path,
            relative_url(path, query),
            results,
            0,
            count,
            [],
            [],
            [],
            interaction="operation:everything",
        )

    # --- batch -----------------------------------------------------------------------------

    async def _batch(self, ctx: Ctx, body: bytes) -> Result:
        try:
            bundle = json.loads(body)
        except ValueError as exc:
            raise FhirError(400, "structure", "the body is not JSON") from exc
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirError(400, "structure", "POST to the base needs a Bundle")
        if bundle.get("type") != "batch":
            raise FhirError(400, "not-supported", "only batch Bundles are supported")
        entries: list[bytes] = []
        for entry in bundle.get("entry") or []:
            request = (entry or {}).get("request") or {}
            entries.append(await self._batch_entry(ctx, request))
        return Result(
            200,
            batch_response(entries, self.clock.now()),
            resource_type="Bundle",
            interaction="batch",
        )

    async def _batch_entry(self, ctx: Ctx, request: JSON) -> bytes:
        method = str(request.get("method", ""))
        url = str(request.get("url", ""))
        if method != "GET" or not url:
            outcome = operation_outcome("not-supported", "batch entries must be GET requests")
            return batch_entry("405 Method Not Allowed", outcome, outcome=True, headers={})
        if url.startswith(ctx.bases.url):
            url = url[len(ctx.bases.url) :]
        path, _, query_string = url.partition("?")
        parts = [p for p in path.split("/") if p]
        if not parts:
            outcome = operation_outcome("not-supported", "nested batches are not supported")
            return batch_entry("400 Bad Request", outcome, outcome=True, headers={})
        headers = {"accept": "application/fhir+json"}
        if request.get("ifNoneMatch"):
            headers["if-none-match"] = str(request["ifNoneMatch"])
        if request.get("ifModifiedSince"):
            headers["if-modified-since"] = str(request["ifModifiedSince"])
        query = parse_qsl(query_string, keep_blank_values=True)
        result = await self.execute(ctx, "GET", parts, query, headers, None)
        status_line = f"{result.status} {HTTPStatus(result.status).phrase}"
        entry_headers: dict[str, str] = {}
        if result.stored is not None:
            entry_headers = {
                "etag": result.stored.etag,
                "last-modified": instant(result.stored.last_updated),
            }
        return batch_entry(
            status_line, result.body, outcome=result.is_outcome, headers=entry_headers
        )

    # --- create / update -------------------------------------------------------------------

    def _parse_resource(self, rtype: str, body: bytes) -> JSON:
        try:
            resource = json.loads(body)
        except ValueError as exc:
            raise FhirError(400, "structure", "the body is not JSON") from exc
        if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
            raise FhirError(400, "structure", f"the body must be a {rtype}")
        return resource

    def _check_document(self, ctx: Ctx, resource: JSON, limit: str | None) -> None:
        from fhir.resources.R4B.documentreference import DocumentReference
        from pydantic import ValidationError

        try:
            DocumentReference.model_validate(resource)
        except ValidationError as exc:
            # Locations and messages only: the input values may be clinical text.
            where = "; ".join(
                ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()[:5]
            )
            raise FhirError(422, "invalid", f"invalid DocumentReference: {where}") from exc
        ref = str((resource.get("subject") or {}).get("reference", ""))
        if not ref.startswith("Patient/") or ctx.org.store.get("Patient", ref[8:]) is None:
            raise FhirError(422, "invalid", "subject must reference an existing Patient")
        if limit is not None and ref[8:] != limit:
            raise FhirError(403, "forbidden", "subject is not the patient in context")

    def _write_result(
        self, ctx: Ctx, stored: StoredResource, status: int, headers: Mapping[str, str]
    ) -> Result:
        location = f"{ctx.bases.url}/{stored.key}/_history/{stored.version}"
        out_headers = {**_entry_headers(stored), "location": location}
        prefer = headers.get("prefer", "")
        if "return=representation" in prefer:
            return Result(status, stored.body, headers=out_headers, stored=stored)
        if "return=OperationOutcome" in prefer:
            outcome = operation_outcome("informational", "stored", severity="information")
            return Result(status, outcome, headers=out_headers, stored=stored, is_outcome=True)
        return Result(status, b"", headers=out_headers, stored=stored)

    def _create(self, ctx: Ctx, rtype: str, headers: Mapping[str, str], body: bytes) -> Result:
        if rtype not in WRITABLE_TYPES:
            raise FhirError(405, "not-supported", f"create is not supported for {rtype}")
        limit = self._access(ctx, rtype, CREATE)
        resource = self._parse_resource(rtype, body)
        resource = {**resource, "id": str(uuid.uuid4())}  # the server assigns ids on create
        resource.pop("meta", None)
        self._check_document(ctx, resource, limit)
        stored = ctx.org.store.put(resource)
        return self._write_result(ctx, stored, 201, headers)

    def _update(
        self, ctx: Ctx, rtype: str, rid: str, headers: Mapping[str, str], body: bytes
    ) -> Result:
        if rtype not in WRITABLE_TYPES:
            raise FhirError(405, "not-supported", f"update is not supported for {rtype}")
        limit = self._access(ctx, rtype, UPDATE)
        resource = self._parse_resource(rtype, body)
        if resource.get("id") != rid:
            raise FhirError(400, "invalid", "the body's id must match the URL")
        existing = ctx.org.store.get(rtype, rid)
        if existing is not None:
            if limit is not None and not self._in_compartment(existing, limit):
                raise FhirError(403, "forbidden", "the resource is outside the patient in context")
            if_match = headers.get("if-match")
            if if_match and not _etag_matches(if_match, existing):
                raise FhirError(412, "conflict", "the resource has changed (If-Match failed)")
        resource.pop("meta", None)
        self._check_document(ctx, resource, limit)
        stored = ctx.org.store.put(resource)
        return self._write_result(ctx, stored, 200 if existing else 201, headers)


def _interaction(method: str, parts: list[str]) -> str:
    if not parts:
        return "batch"
    if len(parts) == 1:
        return {"GET": "search-type", "POST": "create"}.get(method, "other")
    if len(parts) == 2:
        if parts[1] == "_search":
            return "search-type"
        return {"GET": "read", "PUT": "update"}.get(method, "other")
    if len(parts) == 3 and parts[2].startswith("$"):
        return "operation:" + parts[2][1:]
    if len(parts) == 4:
        return "vread"
    return "other"


def _to_response(result: Result) -> Response:
    headers = dict(result.headers)
    if result.status == 304:
        return Response(status_code=304, headers=headers)
    return Response(
        content=result.body or b"",
        status_code=result.status,
        headers=headers,
        media_type=result.content_type,
    )
