"""Waiting for an export: polling its status URL until the manifest, then deleting the job.

The server paces the polling: a 202 with Retry-After (seconds or an HTTP date) is waited out as
given; without one the wait doubles from `first_delay` up to `max_delay`. X-Progress is passed
to the caller as plain text. A 429 means "poll less often" (the interval doubles), a 502/503/504
or a 500 whose OperationOutcome says "transient" is retried a few times, and any other error
answer is the server saying that the job failed. Sleeping goes through `PollPolicy.sleep`, so
tests measure the waits without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from healthprep_desktop.fhir.bulk._manifest import ExportManifest
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import (
    BulkExportFailed,
    BulkManifestInvalid,
    BulkTimedOut,
    FhirError,
    FhirHttpError,
    FhirTransportError,
    OutcomeIssue,
    outcome_summary,
    parse_operation_outcome,
    plain_text,
)
from healthprep_desktop.fhir.pacing import parse_retry_after

log = logging.getLogger(__name__)

_ANSWERED_HERE = (429, 500, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    first_delay: float = 1.0  # without Retry-After: 1, 2, 4 ... seconds
    max_delay: float = 60.0
    max_retry_after: float = 900.0  # a longer request from the server is capped
    max_wait: float = 24 * 3600.0  # then BulkTimedOut
    transient_attempts: int = 6  # 5xx or no answer, in a row
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


ProgressText = Callable[[str | None], None]


async def wait_for_manifest(
    client: FhirClient,
    status_url: str,
    policy: PollPolicy | None = None,
    on_progress: ProgressText | None = None,
) -> ExportManifest:
    """Poll until the export completes; return its validated manifest."""
    policy = policy or PollPolicy()
    delay = policy.first_delay
    waited = 0.0
    transient = 0
    while True:
        pause: float
        try:
            response = await client.send("GET", status_url, ok_statuses=_ANSWERED_HERE)
        except FhirTransportError:
            transient += 1
            if transient >= policy.transient_attempts:
                raise
            pause, delay = delay, min(delay * 2, policy.max_delay)
        except FhirHttpError as exc:
            if exc.status in (401, 403):
                raise  # its own sentence says how to sign in again
            raise _failed(exc.status, exc.issues) from None
        else:
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status == 200:
                return ExportManifest.from_json(_body(response))
            if status == 202:
                transient = 0
                if on_progress is not None:
                    progress = response.headers.get("X-Progress")
                    on_progress(plain_text(progress, 100) if progress else None)
                if retry_after is not None:
                    pause = min(retry_after, policy.max_retry_after)
                else:
                    pause, delay = delay, min(delay * 2, policy.max_delay)
            elif status == 429:
                # "Slow down": never sooner than asked, and the interval grows from here on.
                delay = min(delay * 2, policy.max_delay)
                pause = max(delay, min(retry_after or 0.0, policy.max_retry_after))
            elif status < 400:
                raise BulkManifestInvalid(
                    f"The export's status address answered HTTP {status} without a manifest: "
                    "start the export again."
                )
            else:
                issues = parse_operation_outcome(_body(response, strict=False))
                if status == 500 and issues and not _transient(issues):
                    raise _failed(status, issues)
                transient += 1
                if transient >= policy.transient_attempts:
                    raise _failed(status, issues)
                pause = retry_after if retry_after is not None else delay
                pause = min(pause, policy.max_retry_after)
                delay = min(delay * 2, policy.max_delay)
        waited += pause
        if waited > policy.max_wait:
            raise BulkTimedOut(
                f"The export was still running after {policy.max_wait / 3600:g} hours: run the "
                "command again later to pick it up where it stands."
            )
        await policy.sleep(pause)


async def delete_export(client: FhirClient, status_url: str) -> bool:
    """DELETE the job (cancel it, or let the server free its files): True when the server
    accepted; a job already gone counts as deleted. Failures are logged, not raised: a job left
    on the server expires on its own."""
    try:
        response = await client.send("DELETE", status_url, ok_statuses=(404, 410))
        await response.aread()
    except FhirError as exc:
        log.info("the export job could not be deleted (%s)", type(exc).__name__)
        return False
    return True


def _body(response: Any, *, strict: bool = True) -> Any:
    try:
        return response.json()
    except ValueError:
        if strict:
            raise BulkManifestInvalid(
                "The export's status address answered something that is not JSON: start the "
                "export again."
            ) from None
        return None


def _transient(issues: list[OutcomeIssue]) -> bool:
    return all(i.code == "transient" or i.severity not in ("error", "fatal") for i in issues)


def _failed(status: int, issues: list[OutcomeIssue]) -> BulkExportFailed:
    detail = outcome_summary(issues)
    said = f" (the server said: {plain_text(detail, 200)})" if detail else ""
    if status in (404, 410):
        return BulkExportFailed(
            f"The server no longer knows this export (it was cancelled or expired){said}: "
            "start the export again."
        )
    return BulkExportFailed(
        f"The server reported that the export failed (HTTP {status}){said}: start the export "
        "again, and report it to the EHR's administrator if it fails again."
    )


__all__ = ["PollPolicy", "delete_export", "wait_for_manifest"]
