"""Gaps in care (Da Vinci DEQM) after a batch or a panel run: one document per patient.

Reads each patient's chart as the batch stored it (like measure mode), runs every CMS measure
for a calendar year, screens the chart (the screening engine's next-due dates decide the
prospective gaps, see screening/measures/gaps_status.py) and writes ``DIR/<patient id>.json``,
a DEQM gaps-in-care Bundle. Files 0600 in 0700 folders; the audit entry holds counts and
references, no PHI.

Posting, where the EHR allows it: its CapabilityStatement must offer ``create`` on Bundle and
the sign-in must permit it. Each document is posted once: the tenant's write-back ledger keys
it by connection, patient and the document's identifier (derived from its content), claimed
before the POST; a claim left pending by a crash is settled by searching for the identifier.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.errors import FhirError, FhirHttpError
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.screening.engine import evaluate as screen
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures
from healthprep_desktop.screening.measures.gaps_bundle import ClinicOrganization, gaps_bundle
from healthprep_desktop.screening.measures.gaps_status import (
    GroupGap,
    group_gap,
    measure_due_dates,
)
from healthprep_desktop.screening.measures.report import measure_defs, measure_report
from healthprep_desktop.store import AuditAction, TenantScope
from healthprep_desktop.store.repos.ledger import LedgerState
from healthprep_desktop.workers.measure_mode import _safe_name
from healthprep_desktop.workers.private_files import make_private_dir, write_private_json
from healthprep_desktop.workers.rescreen_stored import record_from_store
from healthprep_desktop.workers.writeback_step import scope_allows_write

BUNDLE = "Bundle"
UNSETTLED = (
    "an interrupted run may have posted this document and the sign-in may not search Bundles "
    "to check (user/Bundle.read), so it is not posted again"
)


@dataclass(slots=True)
class GapsRun:
    patients: int = 0  # charts evaluated
    files: dict[str, Path] = field(default_factory=dict)  # patient -> the document written
    statuses: Counter[str] = field(default_factory=Counter)  # gap status -> DetectedIssues
    no_gaps: int = 0  # patients in no measure's denominator: no document
    missing_charts: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # patient -> CMS -> text
    seconds: float = 0.0


def _patient_resource(patient: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """The stored Patient when it is a valid R4B Patient, else only its id: a chart kept with
    an invalid field (the batch keeps them, see open_connection) must not spoil the document."""
    from fhir.resources.R4B.patient import Patient
    from pydantic import ValidationError

    resource = {**patient, "resourceType": "Patient", "id": patient_id}
    try:
        Patient.model_validate(resource)
    except ValidationError:
        return {"resourceType": "Patient", "id": patient_id}
    return resource


def patient_gaps(
    patient: dict[str, Any],
    resources: list[dict[str, Any]],
    period: MeasurementPeriod,
    due: dict[str, date],
    as_of: date,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[GroupGap]], dict[str, str]]:
    """(MeasureReports, gaps per measure, errors) of one chart."""
    result = evaluate_measures(patient, resources, period)
    reports: dict[str, dict[str, Any]] = {}
    gaps: dict[str, list[GroupGap]] = {}
    for cms, outcomes in result.outcomes.items():
        groups = measure_defs()[cms].groups
        found = [
            gap
            for group, outcome in zip(groups, outcomes, strict=True)
            if (
                gap := group_gap(
                    cms, group.id, outcome, next_due=due.get(cms), as_of=as_of, period=period
                )
            )
            is not None
        ]
        if found:
            reports[cms] = measure_report(cms, result.patient_id, period, outcomes)
            gaps[cms] = found
    return reports, gaps, dict(result.errors)


def write_gaps_bundles(
    scope: TenantScope,
    connection_id: int,
    patient_ids: list[str],
    year: int,
    out: Path,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> GapsRun:
    """One DEQM gaps-in-care Bundle per patient with a gap status, in ``out``."""
    period = MeasurementPeriod.calendar_year(year)
    day = as_of or date.today()
    row = scope.connections.get(connection_id)
    base_url = row.base_url if row is not None else "urn:healthprep:unknown-base"
    organization = ClinicOrganization(scope.id, scope.tenant.name)
    library = default_library()
    run = GapsRun()
    started = time.perf_counter()
    make_private_dir(out)
    for patient_id in patient_ids:
        stored = scope.records.get(connection_id, patient_id)
        if stored is None:
            run.missing_charts.append(patient_id)
            continue
        record, _missing = record_from_store(scope, stored)
        due = measure_due_dates(screen(record, day, library), library)
        patient = _patient_resource(stored.record.get("patient") or {}, patient_id)
        reports, gaps, errors = patient_gaps(patient, record.resources, period, due, day)
        run.patients += 1
        if errors:
            run.errors[patient_id] = errors
        bundle = gaps_bundle(patient, period, reports, gaps, organization, base_url, now=now)
        if bundle is None:
            run.no_gaps += 1
            continue
        path = out / f"{_safe_name(patient_id)}.json"
        write_private_json(path, bundle, indent=1, sort_keys=False)
        run.files[patient_id] = path
        for found in gaps.values():
            run.statuses.update(g.status.value for g in found)
    run.seconds = time.perf_counter() - started
    scope.audit(
        AuditAction.EXPORT,
        resource_ids=tuple(f"Patient/{p}" for p in run.files),
        detail=f"gaps in care {year}: {len(run.files)} DEQM bundles for {run.patients} patients",
    )
    return run


def describe(run: GapsRun, out: Path) -> list[str]:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(run.statuses.items())) or "none"
    lines = [
        f"Wrote {len(run.files)} gaps-in-care bundles for {run.patients} patients to {out} "
        f"in {run.seconds:.2f} s (gaps: {counts})"
    ]
    if run.no_gaps:
        lines.append(f"{run.no_gaps} patient(s) are in no measure's denominator: no bundle")
    if run.missing_charts:
        lines.append(f"No fetched chart for {len(run.missing_charts)} patient(s): not reported")
    for patient_id, errors in sorted(run.errors.items()):
        for cms, text in sorted(errors.items()):
            lines.append(f"  {patient_id} {cms}: could not be computed ({text})")
    return lines


# --- posting ---------------------------------------------------------------------------------


def bundle_create_offered(capability: dict[str, Any]) -> bool:
    """Does the CapabilityStatement offer ``create`` on Bundle (server mode)?"""
    for rest in capability.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource") or []:
            if isinstance(resource, dict) and resource.get("type") == BUNDLE:
                codes = {i.get("code") for i in resource.get("interaction") or [] if i}
                if "create" in codes:
                    return True
    return False


@dataclass(slots=True)
class GapsPosting:
    posted: int = 0
    unchanged: int = 0  # this exact document was posted before
    recovered: int = 0  # a post a crashed run left pending had landed
    busy: int = 0  # another live process holds the claim
    failed: dict[str, str] = field(default_factory=dict)  # patient -> one sentence
    notice: str | None = None  # why nothing was posted

    def lines(self) -> list[str]:
        if self.notice is not None:
            return [self.notice]
        line = f"Posted {self.posted} gaps-in-care bundles to the EHR"
        extras = [
            f"{n} {what}"
            for n, what in (
                (self.unchanged, "already posted"),
                (self.recovered, "found posted by an interrupted run"),
                (self.busy, "being posted by another process"),
                (len(self.failed), "refused"),
            )
            if n
        ]
        lines = [line + (f" ({', '.join(extras)})" if extras else "")]
        lines += [f"  {patient}: {text}" for patient, text in sorted(self.failed.items())]
        return lines


def _identifier(bundle: dict[str, Any]) -> tuple[str, str]:
    ident = bundle.get("identifier") or {}
    return str(ident.get("system", "")), str(ident.get("value", ""))


class CannotSettle(Exception):
    """Whether an interrupted post landed cannot be checked (e.g. the sign-in may not read
    Bundles): the claim stays pending rather than risk a second copy."""


async def _find_posted(client: FhirClient, system: str, value: str) -> str | None:
    try:
        found = await client.search_all(BUNDLE, {"identifier": f"{system}|{value}"})
    except FhirHttpError as exc:
        raise CannotSettle from exc
    for resource in found:
        if _identifier(resource) == (system, value) and resource.get("id"):
            return str(resource["id"])
    return None


async def post_gaps_bundles(
    client: FhirClient,
    scope: TenantScope,
    connection_id: int,
    run: GapsRun,
    *,
    granted: str | None = None,
) -> GapsPosting:
    """POST each written document, once; when the EHR or the sign-in does not allow it, post
    nothing and say so in ``notice``. ``granted``: the sign-in's granted scope string, when
    the server said it (None: posting is tried and a refusal is reported)."""
    posting = GapsPosting()
    response = await client.send("GET", "metadata")
    try:
        capability = response.json()
    except ValueError:
        capability = {}
    if not isinstance(capability, dict) or not bundle_create_offered(capability):
        posting.notice = (
            "The EHR does not accept gaps-in-care documents (its CapabilityStatement offers no "
            "Bundle create), so the bundles were written to the folder only."
        )
        return posting
    if granted and not scope_allows_write(granted, BUNDLE):
        posting.notice = (
            "The sign-in may not create Bundles in the EHR (the connection must ask for "
            "user/Bundle.write and sign in again), so the bundles were written to the folder only."
        )
        return posting
    for patient_id, path in run.files.items():
        bundle = json.loads(path.read_text(encoding="utf-8"))
        await _post_one(client, scope, connection_id, patient_id, bundle, posting)
    scope.audit(
        AuditAction.WRITE_BACK,
        resource_ids=tuple(f"Patient/{p}" for p in run.files if p not in posting.failed),
        detail=f"gaps in care: {posting.posted} DEQM bundles posted, "
        f"{posting.unchanged} unchanged, {len(posting.failed)} refused",
    )
    return posting


async def _post_one(
    client: FhirClient,
    scope: TenantScope,
    connection_id: int,
    patient_id: str,
    bundle: dict[str, Any],
    posting: GapsPosting,
) -> None:
    system, value = _identifier(bundle)
    key = f"deqm-gaps|{connection_id}|{patient_id}|{value}"
    ledger = scope.ledger
    entry = ledger.get(key)
    if entry is not None and entry.state is LedgerState.POSTED:
        posting.unchanged += 1
        return
    if entry is not None:  # pending: a run died mid-post, or another one is posting now
        if not entry.settleable():
            posting.busy += 1
            return
        try:
            landed = await _find_posted(client, system, value)
        except CannotSettle:
            posting.failed[patient_id] = UNSETTLED
            return
        if landed is not None:
            ledger.complete(key, landed)
            posting.recovered += 1
            return
        ledger.release(key)
    ledger.claim(key, patient_id)
    try:
        result = await client.create(bundle, return_representation=False)
    except FhirHttpError as exc:
        ledger.release(key)  # the server answered: certainly not created
        posting.failed[patient_id] = str(exc)
        return
    except FhirError:
        posting.failed[patient_id] = "no answer from the EHR; the next run checks and retries"
        return  # the claim stays pending: the next run searches before posting again
    # Without an id in the answer the ledger keeps the document's identifier: enough to find it.
    ledger.complete(key, result.resource_id or value)
    posting.posted += 1


def granted_scope(connection: FhirConnection) -> str | None:
    """The scope string the sign-in was granted, when the server said it (SMART only)."""
    if not connection.config.auth_method.is_smart:
        return None
    tokens = connection.tokens.tokens
    return tokens.scope if tokens is not None and tokens.scope.strip() else None


async def describe_and_post(
    scope: TenantScope,
    connection_id: int,
    patient_ids: list[str],
    year: int,
    out: Path,
    connection: FhirConnection | None,
    *,
    as_of: date | None = None,
) -> list[str]:
    """Write the documents (in a thread: the measures are CPU work), then post them through
    ``connection`` when one is given; the lines to print."""
    run = await asyncio.to_thread(
        write_gaps_bundles, scope, connection_id, patient_ids, year, out, as_of=as_of
    )
    lines = describe(run, out)
    if connection is None:
        lines.append("Not posted to the EHR (with --write-back they are, where the EHR allows).")
        return lines
    if not run.files:
        return lines
    try:
        posting = await post_gaps_bundles(
            connection.client, scope, connection_id, run, granted=granted_scope(connection)
        )
    except FhirError as exc:  # e.g. /metadata unreachable: the files are written all the same
        return [*lines, f"The gaps-in-care bundles were not posted: {exc}"]
    return lines + posting.lines()


__all__ = [
    "GapsPosting",
    "GapsRun",
    "bundle_create_offered",
    "describe",
    "describe_and_post",
    "granted_scope",
    "patient_gaps",
    "post_gaps_bundles",
    "write_gaps_bundles",
]
