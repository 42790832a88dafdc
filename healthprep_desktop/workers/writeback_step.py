"""Write-back as its own per-patient step, after the sheet is stored.

The sheet is committed (stored, patient done, audited) first; posting it to the chart comes
after, with its own state on the stored sheet's results envelope under ``writeback``:
``pending`` (not tried yet, or interrupted: a resumed job posts it), ``posted`` (with the
document id), ``failed`` (after retries; a rerun tries again) or ``not_posted`` with the reason
(the EHR refused, the sign-in has no permission to file documents, or the EHR files notes only
against an encounter and the visit has none yet: "not posted: no encounter for this visit yet"),
marked ``retry``: the next run, or ``--resume`` of the same job once the user signed in again or
the EHR opened the encounter, tries again. A refused post never discards the sheet.

Before a run that writes back, the scope the sign-in was granted is compared with the scope
write-back needs (DocumentReference write); when it is missing the run says so in one sentence
and posts nothing, instead of failing every patient with a 403.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from healthprep_desktop.fhir.errors import (
    AuthError,
    FhirError,
    FhirTransportError,
    Forbidden,
    RateLimited,
    ReauthenticationRequired,
    ServerError,
    Unauthorized,
)
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.writeback import (
    LedgerRecord,
    NotPostable,
    WritebackBusy,
    WritebackResult,
)
from healthprep_desktop.store import AuditAction, Outcome, TenantScope
from healthprep_desktop.store.errors import DuplicateKeyError
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.db import StoreExecutor

log = logging.getLogger(__name__)

WRITEBACK_KEY = "writeback"  # in a stored sheet's results envelope
ATTEMPTS = 3
PAUSE = 1.0  # seconds, doubled per attempt
WRITE_RESOURCE = "DocumentReference"
NO_SCOPE_REASON = "this sign-in has no permission to file documents in the EHR: sign in again"
REFUSED_REASON = (
    "the EHR refused to file the sheet (403): sign in again with permission to write documents"
)
_TRANSIENT = (FhirTransportError, ServerError, RateLimited, TimeoutError)


class WritebackState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    FAILED = "failed"
    NOT_POSTED = "not_posted"


def scope_allows_write(granted: str, resource: str = WRITE_RESOURCE) -> bool:
    """Does a granted scope string permit creating ``resource``? SMART v1 (``.write``, ``.*``)
    and v2 (``.c``, ``.cruds``) forms, for user, system or patient context."""
    for item in granted.split():
        context, _, rest = item.partition("/")
        if context not in ("user", "system", "patient") or not rest:
            continue
        target, _, permission = rest.partition(".")
        if target not in (resource, "*"):
            continue
        permission = permission.split("?", 1)[0]
        if permission in ("write", "*") or (
            permission and set(permission) <= set("cruds") and "c" in permission
        ):
            return True
    return False


def sign_in_notice(connection: FhirConnection) -> str | None:
    """One sentence when write-back needs a new sign-in; None when the grant allows it (or the
    server did not say what it granted, in which case posting is tried)."""
    if not connection.config.auth_method.is_smart:
        return None
    tokens = connection.tokens.tokens
    if tokens is None or not tokens.scope.strip() or scope_allows_write(tokens.scope):
        return None
    return (
        "Write-back needs a new sign-in: this connection's sign-in was not granted permission "
        f"to file documents ({WRITE_RESOURCE} write), so the sheets are stored and none is "
        "posted to the EHR."
    )


def ehr_user(connection: FhirConnection) -> str | None:
    """Whose sign-in the batch uses: the fhirUser, else the id_token's subject."""
    if not connection.config.auth_method.is_smart:
        return connection.config.username or None
    tokens = connection.tokens.tokens
    if tokens is None:
        return None
    if tokens.fhir_user:
        return tokens.user_reference or tokens.fhir_user
    if tokens.id_token:
        try:
            claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        return str(subject) if subject else None
    return None


def mark(
    state: WritebackState, *, reason: str = "", document: str | None = None, retry: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"state": state.value}
    if retry:
        out["retry"] = True  # not posted for now: the next run tries again
    if reason:
        out["reason"] = reason
        if state is WritebackState.NOT_POSTED:
            out["note"] = f"not posted: {reason}"
    if document:
        out["document"] = document
    return out


def writeback_state(envelope: Any) -> WritebackState | None:
    found = envelope.get(WRITEBACK_KEY) if isinstance(envelope, dict) else None
    if not isinstance(found, dict):
        return None
    try:
        return WritebackState(str(found.get("state")))
    except ValueError:
        return None


def set_mark(scope: TenantScope, sheet_id: int, value: dict[str, Any]) -> None:
    """Store the write-back state on the sheet's results envelope (store thread)."""
    info = scope.sheets.info(sheet_id)
    if info is None or not isinstance(info.results, dict):
        return
    envelope = dict(info.results)
    envelope[WRITEBACK_KEY] = value
    scope.sheets.set_results(sheet_id, envelope)


class OwnedLedger:
    """The fhir package's Ledger on the store, with this process's claims owned and leased:
    it settles only claims whose owner died or whose lease expired."""

    def __init__(self, scope: TenantScope, owner: ClaimOwner) -> None:
        self._ledger = scope.ledger
        self._owner = owner

    def entries(self, prefix: str, patient_id: str) -> list[LedgerRecord]:
        return [
            LedgerRecord(e.idempotency_key, e.state.value, e.resource_id, e.settleable())
            for e in self._ledger.all(patient_id=patient_id)
            if e.idempotency_key.startswith(prefix)
        ]

    def claim(self, key: str, patient_id: str) -> None:
        try:
            self._ledger.claim(key, patient_id, owner=self._owner)
        except DuplicateKeyError as exc:
            raise WritebackBusy("another HealthPrep process claimed this post first") from exc

    def complete(self, key: str, resource_id: str) -> None:
        self._ledger.complete(key, resource_id)

    def release(self, key: str) -> None:
        self._ledger.release(key)


@dataclass
class WritebackStep:
    """Posts one stored sheet, retries transient failures, and marks the outcome on it."""

    scope: TenantScope
    db: StoreExecutor
    job_id: int
    user: str | None
    blocked: str | None  # the sign-in notice: posting is skipped for the whole run

    async def run(
        self, patient_id: str, sheet_id: int, post: Callable[[], Any]
    ) -> tuple[WritebackState, str]:
        """``post`` is a coroutine factory doing the write-back; returns the state and reason.
        A lost sign-in is re-raised (the sheet stays ``pending`` for the next attempt)."""
        # Both refusals are fixed by a new sign-in, after which a resumed job posts (retry).
        if self.blocked is not None:
            return await self._end(
                patient_id, sheet_id, WritebackState.NOT_POSTED, NO_SCOPE_REASON, retry=True
            )
        reason = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result: WritebackResult = await post()
            except (ReauthenticationRequired, Unauthorized, AuthError):
                raise
            except Forbidden:
                return await self._end(
                    patient_id, sheet_id, WritebackState.NOT_POSTED, REFUSED_REASON, retry=True
                )
            except NotPostable as exc:
                return await self._end(
                    patient_id, sheet_id, WritebackState.NOT_POSTED, str(exc), retry=True
                )
            except _TRANSIENT as exc:
                reason = f"the EHR could not be reached or failed ({type(exc).__name__})"
                if attempt < ATTEMPTS:
                    await asyncio.sleep(PAUSE * 2 ** (attempt - 1))
                continue
            except FhirError as exc:
                reason = str(exc)[:200] or type(exc).__name__
                break
            value = mark(WritebackState.POSTED, document=result.resource_id)
            value["outcome"] = result.outcome
            await self.db.call(set_mark, self.scope, sheet_id, value)
            return WritebackState.POSTED, result.outcome
        return await self._end(patient_id, sheet_id, WritebackState.FAILED, reason)

    async def _end(
        self,
        patient_id: str,
        sheet_id: int,
        state: WritebackState,
        reason: str,
        *,
        retry: bool = False,
    ) -> tuple[WritebackState, str]:
        value = mark(state, reason=reason, retry=retry)
        await self.db.call(set_mark, self.scope, sheet_id, value)
        await self.db.call(
            self.scope.audit,
            AuditAction.WRITE_BACK,
            patient_id=patient_id,
            resource_ids=(f"sheet/{sheet_id}",),
            outcome=Outcome.FAILURE,
            detail=f"job {self.job_id}: {state.value}: {reason}"[:200],
            ehr_user=self.user,
        )
        return state, reason
