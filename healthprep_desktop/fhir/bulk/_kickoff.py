"""Starting a Bulk Data export: `Group/[id]/$export` or `Patient/$export`, answered 202 with
the job's status URL in Content-Location (FHIR Bulk Data Access 2.0, "kick-off request").

`_type` is limited to what the screening library reads, so the server does not write files the
app would throw away; `_since` makes a rerun export only what changed since the last one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import (
    BulkKickoffRefused,
    FhirHttpError,
    InvalidResponse,
    outcome_summary,
    plain_text,
)

PREFER_ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export. `group_id` None exports every patient the client may see
    (`Patient/$export`); `types` empty means every type the screening library reads."""

    group_id: str | None = None
    types: tuple[str, ...] = ()
    since: str | None = None  # a FHIR instant: the previous export's transactionTime
    # Further kick-off parameters sent as given (e.g. `_typeFilter`, `_elements`).
    extra_params: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        if self.group_id:
            return f"Group/{quote(self.group_id, safe='')}/$export"
        return "Patient/$export"

    def wanted_types(self) -> tuple[str, ...]:
        if self.types:
            return self.types
        from healthprep_desktop.screening.needs import chart_needs

        # The Patient resources carry the demographics every rule reads.
        return ("Patient", *(t for t in chart_needs().types if t != "Patient"))

    def params(self) -> list[tuple[str, str]]:
        params = [("_type", ",".join(self.wanted_types()))]
        if self.since:
            params.append(("_since", self.since))
        params.extend(self.extra_params)
        return params

    def with_since(self, since: datetime | str | None) -> ExportRequest:
        if isinstance(since, datetime):
            since = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return replace(self, since=since)

    def describe(self) -> str:
        """Safe to show: names the group, never a patient."""
        what = f"group {self.group_id}" if self.group_id else "all patients"
        since = f", since {self.since}" if self.since else ""
        return f"{what} ({len(self.wanted_types())} types{since})"

    def to_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "types": list(self.types),
            "since": self.since,
            "extra_params": [list(p) for p in self.extra_params],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportRequest:
        return cls(
            group_id=data.get("group_id"),
            types=tuple(data.get("types") or ()),
            since=data.get("since"),
            extra_params=tuple((str(k), str(v)) for k, v in data.get("extra_params") or ()),
        )

    def key(self) -> str:
        """The same request gives the same key (a saved job is found by it)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))


async def kick_off(client: FhirClient, request: ExportRequest) -> str:
    """Start the export; return the status URL. A refusal becomes BulkKickoffRefused with one
    sentence saying what to do."""
    try:
        response = await client.send(
            "GET", request.path, params=request.params(), headers=PREFER_ASYNC
        )
    except FhirHttpError as exc:
        raise _refused(exc, request) from None
    await response.aread()
    location = response.headers.get("Content-Location")
    if response.status_code != 202 or not location:
        raise InvalidResponse(
            f"The server answered the Bulk Data export request with HTTP "
            f"{response.status_code} instead of 202 and a status address: it may not support "
            "asynchronous export; use the per-patient fetch."
        )
    # A relative Content-Location is resolved against the request's URL.
    return str(httpx.URL(str(response.request.url)).join(location))


def _refused(exc: FhirHttpError, request: ExportRequest) -> BulkKickoffRefused:
    detail = outcome_summary(exc.issues)
    said = f" (the server said: {plain_text(detail, 200)})" if detail else ""
    what = f"group {request.group_id}" if request.group_id else "all patients"
    status = exc.status
    if status == 404 and request.group_id:
        text = (
            f"The server has no group {request.group_id!r} to export{said}: check the group id "
            "(the EHR administrator can list the groups the app may export)."
        )
    elif status == 404:
        text = f"The server does not offer Patient/$export{said}: use the per-patient fetch."
    elif status == 401:
        text = (
            f"The server did not accept the app's sign-in for the export of {what}{said}: "
            "check the backend-services registration (client id and public key) and sign in again."
        )
    elif status == 403:
        text = (
            f"The app is not allowed to export {what}{said}: ask the EHR administrator to grant "
            "system-level read scopes (system/*.read) for bulk export."
        )
    elif status in (400, 422):
        text = (
            f"The server rejected the export request for {what}{said}: it may not support one "
            "of the requested types or _since; try the per-patient fetch."
        )
    else:
        text = f"The export of {what} could not be started: {exc}"
    return BulkKickoffRefused(text, status, exc.issues)


__all__ = ["ExportRequest", "kick_off"]
