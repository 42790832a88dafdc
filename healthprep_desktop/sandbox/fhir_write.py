"""Batch reads, DocumentReference create/update and document Bundle create, with the server
profile's write rules."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import parse_qsl

from healthprep_desktop.sandbox.bundles import (
    batch_entry,
    batch_response,
)
from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.datastore import (
    StoredResource,
    instant,
)
from healthprep_desktop.sandbox.faults import operation_outcome
from healthprep_desktop.sandbox.fhir_common import (
    WRITABLE_TYPES,
    Ctx,
    FhirBase,
    FhirError,
    Result,
    entry_headers,
    etag_matches,
)
from healthprep_desktop.sandbox.profiles.enforce import check_write
from healthprep_desktop.sandbox.scopes import CREATE, UPDATE


class WriteMixin(FhirBase):
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
        batch_headers: dict[str, str] = {}
        if result.stored is not None:
            batch_headers = {
                "etag": result.stored.etag,
                "last-modified": instant(result.stored.last_updated),
            }
        return batch_entry(
            status_line, result.body, outcome=result.is_outcome, headers=batch_headers
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

    def _check_document(
        self, ctx: Ctx, resource: JSON, limit: str | None, *, creating: bool
    ) -> None:
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
        profile = self.profile
        if not profile.is_generic:  # e.g. Epic: text/plain only, one attachment, an encounter
            check_write(profile, resource, self._encounter_exists(ctx, resource), creating)

    @staticmethod
    def _encounter_exists(ctx: Ctx, resource: JSON) -> bool | None:
        """None when the document names no encounter, else whether that Encounter exists."""
        encounters = (resource.get("context") or {}).get("encounter") or []
        refs = [str((e or {}).get("reference", "")) for e in encounters if isinstance(e, dict)]
        if not refs:
            return None
        store = ctx.org.store
        return all(
            r.startswith("Encounter/")
            and store.get("Encounter", r[len("Encounter/") :]) is not None
            for r in refs
        )

    def _write_result(
        self, ctx: Ctx, stored: StoredResource, status: int, headers: Mapping[str, str]
    ) -> Result:
        location = f"{ctx.bases.url}/{stored.key}/_history/{stored.version}"
        out_headers = {**entry_headers(stored), "location": location}
        prefer = headers.get("prefer", "")
        if "return=representation" in prefer:
            return Result(status, stored.body, headers=out_headers, stored=stored)
        if "return=OperationOutcome" in prefer:
            outcome = operation_outcome("informational", "stored", severity="information")
            return Result(status, outcome, headers=out_headers, stored=stored, is_outcome=True)
        return Result(status, b"", headers=out_headers, stored=stored)

    def _create(self, ctx: Ctx, rtype: str, headers: Mapping[str, str], body: bytes) -> Result:
        if rtype == "Bundle" and self.profile.offers(rtype, "create"):
            return self._create_document_bundle(ctx, headers, body)
        if rtype not in WRITABLE_TYPES:
            raise FhirError(405, "not-supported", f"create is not supported for {rtype}")
        limit = self._access(ctx, rtype, CREATE)
        resource = self._parse_resource(rtype, body)
        resource = {**resource, "id": str(uuid.uuid4())}  # the server assigns ids on create
        resource.pop("meta", None)
        self._check_document(ctx, resource, limit, creating=True)
        stored = ctx.org.store.put(resource)
        return self._write_result(ctx, stored, 201, headers)

    def _create_document_bundle(self, ctx: Ctx, headers: Mapping[str, str], body: bytes) -> Result:
        """A document Bundle (e.g. a DEQM gaps-in-care report): valid R4B, type document, its
        Composition first and about an existing Patient (the patient in context, if any)."""
        from fhir.resources.R4B.bundle import Bundle
        from pydantic import ValidationError

        limit = self._access(ctx, "Bundle", CREATE)
        resource = self._parse_resource("Bundle", body)
        try:
            Bundle.model_validate(resource)
        except ValidationError as exc:
            # Locations and messages only: the input values may be clinical text.
            where = "; ".join(
                ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()[:5]
            )
            raise FhirError(422, "invalid", f"invalid Bundle: {where}") from exc
        if resource.get("type") != "document":
            raise FhirError(422, "invalid", "only document Bundles can be created")
        first = ((resource.get("entry") or [{}])[0] or {}).get("resource") or {}
        if first.get("resourceType") != "Composition":
            raise FhirError(422, "invalid", "a document Bundle starts with its Composition")
        ref = str((first.get("subject") or {}).get("reference", ""))
        if not ref.startswith("Patient/") or ctx.org.store.get("Patient", ref[8:]) is None:
            raise FhirError(422, "invalid", "the Composition's subject must be an existing Patient")
        if limit is not None and ref[8:] != limit:
            raise FhirError(403, "forbidden", "the subject is not the patient in context")
        resource = {**resource, "id": str(uuid.uuid4())}  # the server assigns ids on create
        resource.pop("meta", None)
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
            if if_match and not etag_matches(if_match, existing):
                raise FhirError(412, "conflict", "the resource has changed (If-Match failed)")
        resource.pop("meta", None)
        self._check_document(ctx, resource, limit, creating=False)
        stored = ctx.org.store.put(resource)
        return self._write_result(ctx, stored, 200 if existing else 201, headers)
