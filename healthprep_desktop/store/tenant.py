"""A tenant (clinic or organisation) and the scope through which all of its data is reached."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from healthprep_desktop.store import schema
from healthprep_desktop.store.audit import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditFilter,
    AuditLog,
    Outcome,
)
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.repos.bulk_exports import BulkExportRepository
from healthprep_desktop.store.repos.connection_secrets import SecretRepository
from healthprep_desktop.store.repos.connections import ConnectionRepository
from healthprep_desktop.store.repos.dismissals import DismissalRepository
from healthprep_desktop.store.repos.jobs import JobRepository
from healthprep_desktop.store.repos.ledger import WritebackLedger
from healthprep_desktop.store.repos.panel_results import PanelResultRepository
from healthprep_desktop.store.repos.patient_links import PatientLinkRepository
from healthprep_desktop.store.repos.patient_records import PatientRecordRepository
from healthprep_desktop.store.repos.screening_entries import ScreeningEntryRepository
from healthprep_desktop.store.repos.settings_values import TenantSettingValues
from healthprep_desktop.store.repos.sheets import SheetRepository
from healthprep_desktop.store.repos.text_cache import TextCacheRepository
from healthprep_desktop.store.scoped import ScopedTable


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    created_at: str


class TenantScope:
    """Everything one tenant owns. Every repository here is bound to this tenant's id through
    ``ScopedTable``; there is no way to pass another tenant's id to any of them."""

    def __init__(self, db: Database, audit_log: AuditLog, tenant: Tenant) -> None:
        self.tenant = tenant
        self._audit_log = audit_log

        def table(spec: schema.TableSpec) -> ScopedTable:
            return ScopedTable(db, spec, tenant.id)

        connections = table(schema.CONNECTIONS)
        secrets = table(schema.SECRETS)
        self.connections = ConnectionRepository(connections, secrets=secrets, audit=self.audit)
        self.secrets = SecretRepository(secrets, connections)
        self.jobs = JobRepository(table(schema.JOBS), table(schema.JOB_PATIENTS))
        self.sheets = SheetRepository(table(schema.SHEETS))
        self.text_cache = TextCacheRepository(table(schema.TEXT_CACHE))
        self.ledger = WritebackLedger(table(schema.WRITEBACK_LEDGER))
        self.dismissals = DismissalRepository(table(schema.MATCH_DISMISSALS))
        self.settings = TenantSettingValues(table(schema.TENANT_SETTINGS))
        self.records = PatientRecordRepository(table(schema.PATIENT_RECORDS))
        self.entries = ScreeningEntryRepository(table(schema.SCREENING_ENTRIES))
        self.panel = PanelResultRepository(table(schema.PANEL_RESULTS), table(schema.PANEL_RUNS))
        self.bulk_exports = BulkExportRepository(table(schema.BULK_EXPORTS))
        self.links = PatientLinkRepository.of(table, audit=self.audit)

    @property
    def id(self) -> str:
        return self.tenant.id

    def audit(
        self,
        action: AuditAction,
        *,
        patient_id: str | None = None,
        resource_ids: Sequence[str] = (),
        outcome: Outcome = Outcome.SUCCESS,
        detail: str = "",
        ehr_user: str | None = None,
    ) -> AuditEntry:
        """Record an audit entry for this tenant. ``detail`` must hold no PHI."""
        return self._audit_log.append(
            AuditEvent(
                action=action,
                tenant_id=self.id,
                patient_id=patient_id,
                resource_ids=tuple(resource_ids),
                outcome=outcome,
                detail=detail,
                ehr_user=ehr_user,
            )
        )

    def audit_entries(self, where: AuditFilter | None = None) -> list[AuditEntry]:
        """This tenant's audit entries (the filter's own tenant is overridden)."""
        return self._audit_log.entries(
            dataclasses.replace(where or AuditFilter(), tenant_id=self.id)
        )
