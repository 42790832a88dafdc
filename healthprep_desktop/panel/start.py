"""Set a panel run up: the clinic's screening inputs, the path (Bulk Data or per patient) and
why, for the ``panel`` command, the benchmark and the tests alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.panel.run import PanelOptions, PanelRun
from healthprep_desktop.panel.screening_walk import ScreeningInputs
from healthprep_desktop.panel.sources import BulkExport
from healthprep_desktop.screening.needs import record_types
from healthprep_desktop.settings import Settings
from healthprep_desktop.store import Store
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import stable_hash
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.job_steps import job_options

# Where the fhir/bulk package cannot be used: (capabilities -> a reason, or None when usable).
BulkProbe = Callable[[Capabilities], str | None]
# (connection, store, tenant id, connection id) -> the export function
BulkFactory = Callable[[FhirConnection, Store, str, int], BulkExport]


@dataclass(frozen=True, slots=True)
class PathChoice:
    bulk: BulkExport | None
    why: str


def screening_inputs(store: Store, tenant_id: str, as_of: date) -> ScreeningInputs:
    """The clinic's library and the options that change a screening (part of the rerun hash);
    measure mode for the current and the previous calendar year."""
    scope = store.tenant(tenant_id)
    ctx = RunContext(scope=scope, params={}, options=job_options(Settings(store), scope))
    due_soon = ctx.options.get("due_soon_days")
    tz = ctx.options.get("time_zone")
    return ScreeningInputs(
        as_of=as_of,
        years=(as_of.year, as_of.year - 1),
        library_json=ctx.library_json,
        library_hash=ctx.library_hash,
        options_hash=stable_hash({"due_soon_days": due_soon, "time_zone": tz}),
        due_soon_days=due_soon,
        tz=tz,
    )


def choose_path(
    capabilities: Capabilities | None,
    wanted: str,
    *,
    probe: BulkProbe | None,
    make_bulk: Callable[[], BulkExport] | None,
) -> PathChoice:
    """``wanted`` is auto / bulk / per-patient. Auto takes Bulk Data where the server offers
    it and says why not otherwise."""
    if wanted == "per-patient":
        return PathChoice(None, "asked for with --path per-patient")
    if probe is None or make_bulk is None:
        return PathChoice(None, "this build has no Bulk Data client")
    if capabilities is None:
        return PathChoice(None, "the server's CapabilityStatement could not be read")
    reason = probe(capabilities)
    if reason is not None:
        return PathChoice(None, reason)
    return PathChoice(make_bulk(), "the server supports Bulk Data export")


def make_run(
    store: Store,
    tenant_id: str,
    connection_id: int,
    connection: FhirConnection,
    *,
    as_of: date,
    options: PanelOptions,
    choice: PathChoice,
    capabilities: Capabilities | None,
    cpu: CpuPool,
    db: StoreExecutor,
    say: Callable[[str], None],
    work_dir: Path | None = None,
) -> PanelRun:
    inputs = screening_inputs(store, tenant_id, as_of)
    if not options.types:
        library = None
        if inputs.library_json is not None:
            import json

            from healthprep_desktop.screening.library import parse_library

            library = parse_library(json.loads(inputs.library_json))
        types = record_types(library)
        if capabilities is not None and capabilities.resources:
            # As the fetch plan does: a type the server does not offer is not asked for (an
            # export naming one is refused outright).
            types = tuple(t for t in types if t in capabilities.resources)
        options.types = ("Patient", *types)
    return PanelRun(
        store,
        store.tenant(tenant_id),
        connection_id,
        connection,
        inputs=inputs,
        options=options,
        cpu=cpu,
        db=db,
        say=say,
        bulk=choice.bulk,
        why=choice.why,
        capabilities=capabilities,
        work_dir=work_dir,
    )


__all__ = ["BulkFactory", "BulkProbe", "PathChoice", "choose_path", "make_run", "screening_inputs"]
