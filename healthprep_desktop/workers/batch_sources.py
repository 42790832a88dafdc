"""The batch's secondary sources (issue 16): find each scheduled patient in every other source of
the clinic, link, read the linked charts, and merge them with the primary chart.

Per patient and source, concurrently across sources (each source's own connection, so its own
sign-in, rate limit and concurrency cap):
1. a standing LINKED decision in the store is used as it is (no search);
2. otherwise the source is searched (sources.matching.search_parameters), the candidates scored
   (match_patient, rejected pairs left out) and planned against the stored decisions
   (links.plan_link): an auto-link is stored and audited, possible matches go to the queue;
3. the linked chart is read (resources only: an outside document's text is not extracted).
A source that fails (unreachable, refused, signed out, too slow) is named on the sheet and the
patient is prepared from the rest; it never fails the patient or pauses the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import AuthError, BadRequest, FhirError
from healthprep_desktop.fhir.record import fetch_patient_record
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.screening.needs import ChartNeeds
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.sources import links
from healthprep_desktop.sources.matching import match_patient, search_parameters
from healthprep_desktop.sources.merge import MergedChart, SourceChart, SourceFailure, merge_charts
from healthprep_desktop.sources.model import (
    JSON,
    Demographics,
    LinkDecision,
    LinkState,
    MatchCandidate,
    Outcome,
    Source,
    SourceKind,
)
from healthprep_desktop.sources.normalise import demographics
from healthprep_desktop.store import AuditAction, Store, TenantScope
from healthprep_desktop.store import Outcome as AuditOutcome
from healthprep_desktop.workers.batch_support import BatchSummary
from healthprep_desktop.workers.chart import record_hash
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.evidence_sources import EvidenceSources, evidence_sources
from healthprep_desktop.workers.source_config import (
    as_source,
    primary_source,
    secondary_connections,
)

log = logging.getLogger(__name__)

# An immunization registry's record of a person is their doses: asking it for conditions,
# labs or procedures spends its rate limit on searches that come back empty.
REGISTRY_NEEDS = ChartNeeds(types=("Immunization",))
SEARCH_PAGE = 50  # candidates per Patient search page; more is a too-broad search, not a match
MAX_SEARCH_PAGES = 2


@dataclass
class SecondarySource:
    """One secondary source of the clinic, opened for a job."""

    source: Source
    connection: FhirConnection
    connection_id: int
    enterprise_systems: tuple[str, ...] = ()
    # Patient search shapes (parameter names) this server refused with 400: not asked again.
    refused: set[frozenset[str]] = field(default_factory=set)
    _capabilities: Capabilities | None = None
    _capabilities_read: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def capabilities(self) -> Capabilities | None:
        async with self._lock:
            if not self._capabilities_read:
                self._capabilities_read = True
                with contextlib.suppress(FhirError):
                    self._capabilities = await self.connection.capabilities()
        return self._capabilities


def open_secondary_sources(
    store: Store, tenant_id: str, primary_connection_id: int | None
) -> tuple[list[SecondarySource], list[Source]]:
    """The clinic's enabled secondary sources, each with its own connection (caller closes),
    and those whose settings could not even be opened (skipped, never fatal)."""
    scope = store.tenant(tenant_id)
    opened: list[SecondarySource] = []
    skipped: list[Source] = []
    for connection, settings in secondary_connections(scope, primary_connection_id):
        source = as_source(connection, settings)
        try:
            live = open_connection(store, tenant_id, connection.id)
        except Exception as exc:  # a broken config must not stop the clinic's own batch
            log.warning("secondary source %s not opened: %s", source.id, type(exc).__name__)
            skipped.append(source)
            continue
        opened.append(SecondarySource(source, live, connection.id, settings.enterprise_systems))
    return opened, skipped


@dataclass
class MergedRecord:
    """The chart the engine screens, and where each piece came from."""

    record: PatientRecord
    merged: MergedChart | None  # None: nothing linked and nothing failed (the primary alone)
    sources: EvidenceSources


@dataclass
class SourceReader:
    """Links and reads the secondary sources for one job."""

    sources: Sequence[SecondarySource]
    db: StoreExecutor
    primary_name: str
    user: str | None = None
    links_made: int = 0
    queued: int = 0
    failures: int = 0
    skipped: list[Source] = field(default_factory=list)  # sources whose settings did not open

    def tell(self, summary: BatchSummary | None) -> None:
        """What linking did this run, for the summary's notices (counts only, no PHI)."""
        if summary is None:
            return
        for source in self.skipped:
            summary.notices.append(
                f"{source.name} was not read: its connection settings could not be used; check it "
                "in Connections."
            )
        if self.links_made:
            summary.notices.append(
                f"{self.links_made} patient(s) newly linked to their records in other sources."
            )
        if self.queued:
            summary.notices.append(
                f"{self.queued} possible match(es) in other sources wait for a person to "
                "confirm (Connections: Patients in other sources)."
            )
        if self.failures:
            summary.notices.append(
                f"{self.failures} read(s) of other sources failed; those sheets say which."
            )

    async def aclose(self) -> None:
        for source in self.sources:
            stats = source.connection.client.stats
            log.info("source %s: %d requests", source.source.id, stats.requests)
            with contextlib.suppress(Exception):
                await source.connection.aclose()

    def start(
        self, scope: TenantScope, patient_id: str, record: PatientRecord, deadline: float
    ) -> asyncio.Task[MergedRecord]:
        """merged() as a task, so the other sources are read while the primary chart's
        documents are extracted (the caller sets the merged record's documents)."""
        return asyncio.get_running_loop().create_task(
            self.merged(scope, patient_id, record, deadline)
        )

    async def merged(
        self, scope: TenantScope, patient_id: str, record: PatientRecord, deadline: float
    ) -> MergedRecord:
        local = demographics(record.patient)
        stored = await self.db.call(scope.links.decisions, local_id=patient_id)
        outcomes = await asyncio.gather(
            *(self._one(scope, s, local, patient_id, stored, deadline) for s in self.sources)
        )
        charts = [o for o in outcomes if isinstance(o, SourceChart)]
        failures = [o for o in outcomes if isinstance(o, SourceFailure)]
        failures += [SourceFailure(s, "not opened") for s in self.skipped]
        primary = primary_source(self.primary_name)
        read_at = record.fetched_at or datetime.now(UTC)
        if not charts and not failures:
            # Linked nowhere: the primary chart as it is (its hash, so a rerun may keep the
            # sheet), its evidence still named in the results.
            alone = EvidenceSources(primary.name, {}, read=((primary.name, read_at),))
            return MergedRecord(record, None, alone)
        # Merging copies the whole chart: on a thread, so the window's loop never waits for it.
        merged = await asyncio.to_thread(
            merge_charts,
            [SourceChart(primary, patient_id, record.resources, read_at), *charts],
            failures,
        )
        screened = PatientRecord(
            patient=record.patient,
            resources=[r for r in merged.screened if r.get("resourceType") != "Patient"],
            documents=record.documents,
            fetched_at=record.fetched_at,
            source=record.source,
            warnings=[*record.warnings, *merged.warnings()],
        )
        return MergedRecord(screened, merged, evidence_sources(merged, primary))

    async def _one(
        self,
        scope: TenantScope,
        source: SecondarySource,
        local: Demographics,
        patient_id: str,
        stored: list[LinkDecision],
        deadline: float,
    ) -> SourceChart | SourceFailure | None:
        sid = source.source.id
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                remote = await self._link(scope, source, local, patient_id, stored)
                if remote is None:
                    return None
                fetched = await fetch_patient_record(
                    source.connection.client,
                    remote,
                    capabilities=await source.capabilities(),
                    documents=False,
                    source=source.source.name,
                    needs=REGISTRY_NEEDS if source.source.kind is SourceKind.REGISTRY else None,
                )
        except (FhirError, AuthError, TimeoutError, OSError) as exc:
            # Our errors carry no token or patient content; the sheet says only the source.
            log.warning("secondary source %s failed: %s", sid, type(exc).__name__)
            self.failures += 1
            await self.db.call(
                scope.audit,
                AuditAction.FETCH,
                patient_id=patient_id,
                outcome=AuditOutcome.FAILURE,
                detail=f"source {sid}: {type(exc).__name__}",
                ehr_user=self.user,
            )
            return SourceFailure(source.source, type(exc).__name__)
        # Kept (encrypted, under the source's connection and its patient id) so an offline
        # re-screen after a correction screens the same merged chart (rescreen_sources.py).
        await self.db.call(
            scope.records.put,
            source.connection_id,
            remote,
            fetched_at=(fetched.record.fetched_at or datetime.now(UTC)).isoformat(),
            etags={},
            record={"patient": fetched.record.patient, "resources": fetched.record.resources},
            record_hash=record_hash(fetched.record),
        )
        # Reading another organization's chart is a disclosure like any other: audited.
        await self.db.call(
            scope.audit,
            AuditAction.FETCH,
            patient_id=patient_id,
            resource_ids=(f"{sid}:Patient/{remote}",),
            detail=f"source {sid}: {len(fetched.record.resources)} resources, "
            f"{fetched.report.requests} requests",
            ehr_user=self.user,
        )
        return SourceChart(
            source.source,
            remote,
            fetched.record.resources,
            fetched.record.fetched_at or datetime.now(UTC),
        )

    async def _link(
        self,
        scope: TenantScope,
        source: SecondarySource,
        local: Demographics,
        patient_id: str,
        stored: list[LinkDecision],
    ) -> str | None:
        """The remote patient id linked to this clinic patient in this source, if any."""
        sid = source.source.id
        standing = links.current(d for d in stored if d.source_id == sid)
        linked = sorted(r for (_, _, r), d in standing.items() if d.state is LinkState.LINKED)
        if linked:
            return linked[0]
        rejected = links.rejected_remote_ids(stored, sid, patient_id)
        found = await self._candidates(source, local, rejected)
        plan = links.plan_link(sid, patient_id, found, stored, datetime.now(UTC))
        if plan.new_decision is not None:
            await self.db.call(scope.links.record, plan.new_decision)
            self.links_made += 1
        if plan.to_confirm:
            self.queued += await self.db.call(scope.links.queue, plan.to_confirm)
        return plan.linked

    async def _candidates(
        self, source: SecondarySource, local: Demographics, rejected: set[str]
    ) -> list[MatchCandidate]:
        """Search the source and score what it returns (match_patient over the union).

        Each request counts against the source's rate limit, so the searches go in as few as
        the server allows: all in one batch Bundle where it takes them; otherwise the
        identifier and the birth date with each name part first (an auto-link needs the exact
        birth date and an agreeing given name, so they find nearly every auto-linkable record),
        and the rest (a birth date alone, the transposed one, family+given, phone) only when
        those found no auto-link, to fill the confirmation queue.
        """
        # Shapes this server refused before are not asked again, not even inside a batch.
        searches = [p for p in search_parameters(local) if frozenset(p) not in source.refused]
        capabilities = await source.capabilities()

        def scored(people: list[Demographics]) -> list[MatchCandidate]:
            return match_patient(
                local,
                people,
                source.source.id,
                rejected=rejected,
                enterprise_systems=source.enterprise_systems,
            )

        if capabilities is not None and capabilities.supports_batch and len(searches) > 1:
            return scored(await self._search_batch(source, searches))
        first = [
            p
            for p in searches
            if "identifier" in p or (p.get("birthdate") == _iso(local) and "name" in p)
        ]
        rest = [p for p in searches if p not in first]
        people = await self._search(source, first)
        found = scored(people)
        if rest and not any(c.outcome is Outcome.AUTO_LINK for c in found):
            people += await self._search(source, rest)
            found = scored(people)
        return found

    async def _search(
        self, source: SecondarySource, searches: list[dict[str, str]]
    ) -> list[Demographics]:
        """Every Patient the searches return (their union), as demographics."""
        client = source.connection.client

        async def one(params: dict[str, str]) -> list[JSON]:
            out: list[JSON] = []
            shape = frozenset(params)
            if shape in source.refused:
                return out
            query = [*params.items(), ("_count", str(SEARCH_PAGE))]
            pages = 0
            try:
                async for page in client.search_pages("Patient", query):
                    out.extend(page.resources)
                    pages += 1
                    if pages >= MAX_SEARCH_PAGES:
                        break  # a search this broad finds look-alikes, not the patient
            except BadRequest:
                # This server does not take this combination (a birth date alone, phone); the
                # other searches still gather the candidates, and it is not asked again.
                source.refused.add(shape)
                log.info("source %s refused a %s search", source.source.id, "+".join(params))
            return out

        chunks = await asyncio.gather(*(one(p) for p in searches))
        return _people(r for chunk in chunks for r in chunk)

    async def _search_batch(
        self, source: SecondarySource, searches: list[dict[str, str]]
    ) -> list[Demographics]:
        client = source.connection.client
        urls = [f"Patient?{urlencode({**p, '_count': str(SEARCH_PAGE)})}" for p in searches]
        answers = await client.batch([("GET", u) for u in urls])
        found: list[JSON] = []
        missed: list[dict[str, str]] = []
        for params, answer in zip(searches, [*answers, *[None] * len(searches)], strict=False):
            if answer is None or answer.get("resourceType") != "Bundle":
                missed.append(params)  # not answered inside the batch: searched directly
                continue
            # Raw entries: matching reads a few Patient fields leniently (sources.normalise),
            # and validating every look-alike with the FHIR models costs more than the match.
            entries = answer.get("entry")
            entries = entries[: SEARCH_PAGE * MAX_SEARCH_PAGES] if isinstance(entries, list) else []
            found += [
                e["resource"]
                for e in entries
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            ]
        people = _people(found)
        if missed:
            people += await self._search(source, missed)
        return people


def _iso(local: Demographics) -> str | None:
    return local.birth_date.isoformat() if local.birth_date else None


def _people(resources: Iterable[JSON]) -> list[Demographics]:
    found: dict[str, Demographics] = {}
    for resource in resources:
        if resource.get("resourceType") == "Patient" and resource.get("id"):
            found.setdefault(str(resource["id"]), demographics(resource))
    return list(found.values())


async def open_reader(
    store: Store,
    db: StoreExecutor,
    tenant_id: str,
    primary_connection_id: int | None,
    primary_name: str,
    user: str | None,
) -> SourceReader | None:
    """The job's reader, or None when the clinic has no secondary source."""
    opened, skipped = await db.call(open_secondary_sources, store, tenant_id, primary_connection_id)
    if not opened and not skipped:
        return None
    return SourceReader(opened, db, primary_name, user, skipped=skipped)
