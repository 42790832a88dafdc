"""The FHIR R4 REST API of every organization: read, vread, search, $everything, batch,
DocumentReference create and update, with the access token's scopes and the server profile
(sandbox.profiles) enforced on each call. Searches live in fhir_search, batch and writes in
fhir_write, what they share in fhir_common; this module is the HTTP side and the dispatch.

One dispatcher serves both HTTP requests and the GET entries of a batch Bundle, so a batch
entry is checked and answered exactly as the same request sent on its own would be.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from healthprep_desktop.sandbox.auth import BearerError
from healthprep_desktop.sandbox.bulk import BulkService
from healthprep_desktop.sandbox.bundles import Bases
from healthprep_desktop.sandbox.capability import capability_statement, smart_configuration
from healthprep_desktop.sandbox.datastore import SearchError, StoredResource, dumps
from healthprep_desktop.sandbox.fhir_common import (
    Ctx,
    FhirError,
    Result,
    entry_headers,
    etag_matches,
)
from healthprep_desktop.sandbox.fhir_search import SearchMixin
from healthprep_desktop.sandbox.fhir_write import WriteMixin
from healthprep_desktop.sandbox.profiles.enforce import ProfileRefusal, offered_rules
from healthprep_desktop.sandbox.scopes import READ

log = logging.getLogger(__name__)


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


class FhirApi(SearchMixin, WriteMixin):
    # Group and $export (sandbox/bulk); app.py installs it.
    bulk: BulkService | None = None

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
                root,
                org.org_id,
                org.config.name,
                bases.url,
                org.store.types(),
                self.profile,
                (self.config.default_page_size, self.config.max_page_size),
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
        except ProfileRefusal as exc:
            result = FhirError(exc.status, exc.code, exc.diagnostics).result()
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
        profile = self.profile
        if self.bulk is not None:
            owned = self.bulk.route(ctx, method, parts, query, headers, body)
            if owned is not None:
                return owned
        if not parts:
            if method == "POST":
                if not profile.batch:
                    raise FhirError(
                        405, "not-supported", "this server has no batch; send each request alone"
                    )
                return None
            raise FhirError(405, "not-supported", "use a resource type path")
        rtype = parts[0]
        if rtype not in self._known and rtype not in ctx.org.store.types():
            raise FhirError(404, "not-supported", f"resource type {rtype} is not supported")
        offered_rules(profile, rtype)  # a type the profile's server does not have: 404
        n = len(parts)
        if n == 3 and parts[2] == "$everything" and not profile.everything:
            raise FhirError(
                404,
                "not-supported",
                "this server does not offer Patient/$everything; search each resource type",
            )
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
        served_headers = entry_headers(stored)
        if_none_match = headers.get("if-none-match")
        if_modified = headers.get("if-modified-since")
        if (if_none_match and etag_matches(if_none_match, stored)) or (
            not if_none_match and if_modified and _not_modified_since(if_modified, stored)
        ):
            return Result(304, None, headers=served_headers, stored=stored, interaction=interaction)
        if stored.resource_type == "Binary" and _wants_raw_binary(headers, query):
            binary = stored.json()
            try:
                data = base64.b64decode(binary.get("data", ""), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise FhirError(500, "exception", "stored Binary data is not base64") from exc
            content_type = str(binary.get("contentType") or "application/octet-stream")
            return Result(200, data, content_type, served_headers, stored, interaction=interaction)
        return Result(
            200, stored.body, headers=served_headers, stored=stored, interaction=interaction
        )


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
