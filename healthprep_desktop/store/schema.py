"""The schema as numbered forward migrations, and the column lists of tenant-scoped tables.

The database's version is ``PRAGMA user_version``. Opening runs every migration above it, each in
its own transaction, so an interrupted upgrade leaves the database at the last whole version.
Never edit a released migration: add the next one.

Every table that holds PHI, secrets, settings or jobs has a ``tenant_id`` column and is listed in
``TENANT_TABLES``; ``scoped.ScopedTable`` is the only code that reads or writes them. Child tables
reference their parent through ``(tenant_id, id)``, so a row can never point into another tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.store.database import Database
from healthprep_desktop.store.errors import SchemaTooNewError


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1 = Migration(
    1,
    "tenants, app and tenant settings, hash-chained audit trail",
    (
        """CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE app_settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE tenant_settings (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, name)
        )""",
        # tenant_id has no foreign key on purpose: the trail outlives any tenant.
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            os_user TEXT NOT NULL,
            ehr_user TEXT,
            tenant_id TEXT,
            action TEXT NOT NULL,
            patient_id TEXT,
            resource_ids TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        # No secondary indexes: every index is another encrypted page written per append, and
        # exports (rare) scan a few hundred thousand rows in well under a second.
        # The chain's head (last seq and hash), updated with every append: truncating the tail
        # leaves the head pointing past the last entry.
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL
        )""",
        # Append-only by construction; tampering has to drop these first (and verify() still
        # catches what it then does).
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    ),
)

_V2 = Migration(
    2,
    "EHR connections and their secrets",
    (
        """CREATE TABLE connections (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            vendor TEXT NOT NULL,
            base_url TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            config TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tenant_id, id),
            UNIQUE (tenant_id, name)
        )""",
        """CREATE TABLE secrets (
            tenant_id TEXT NOT NULL,
            connection_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, connection_id, name),
            FOREIGN KEY (tenant_id, connection_id)
                REFERENCES connections(tenant_id, id) ON DELETE CASCADE
        )""",
    ),
)

_V3 = Migration(
    3,
    "connection priority; batch jobs, per-patient state, sheets, text cache, write-back ledger, "
    "dismissed document matches",
    (
        "ALTER TABLE connections ADD COLUMN priority INTEGER NOT NULL DEFAULT 100",
        # connection_id is informational (no foreign key): a job's history outlives its connection.
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            connection_id INTEGER,
            clinic_day TEXT NOT NULL,
            state TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tenant_id, id)
        )""",
        """CREATE TABLE job_patients (
            tenant_id TEXT NOT NULL,
            job_id INTEGER NOT NULL,
            patient_id TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            reason TEXT,
            hashes TEXT NOT NULL DEFAULT '{}',
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, job_id, patient_id),
            FOREIGN KEY (tenant_id, job_id) REFERENCES jobs(tenant_id, id) ON DELETE CASCADE
        )""",
        """CREATE TABLE sheets (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            job_id INTEGER,
            patient_id TEXT NOT NULL,
            clinic_day TEXT NOT NULL,
            pdf BLOB NOT NULL,
            pdf_sha256 TEXT NOT NULL,
            results TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (tenant_id, id)
        )""",
        "CREATE INDEX sheets_by_day ON sheets(tenant_id, clinic_day, patient_id)",
        "CREATE INDEX sheets_by_job ON sheets(tenant_id, job_id)",
        """CREATE TABLE text_cache (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            content_hash TEXT NOT NULL,
            text TEXT NOT NULL,
            method TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, content_hash)
        )""",
        """CREATE TABLE writeback_ledger (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            state TEXT NOT NULL,
            resource_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, idempotency_key)
        )""",
        """CREATE TABLE match_dismissals (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            patient_id TEXT NOT NULL,
            screening_id TEXT NOT NULL,
            evidence_reference TEXT NOT NULL,
            reason TEXT NOT NULL,
            dismissed_by TEXT NOT NULL,
            dismissed_at TEXT NOT NULL,
            UNIQUE (tenant_id, id),
            UNIQUE (tenant_id, patient_id, screening_id, evidence_reference)
        )""",
    ),
)

_V4 = Migration(
    4,
    "the last fetched chart per patient, for incremental reruns",
    (
        # The chart as fetched (compressed JSON, PHI: encrypted like everything else), with the
        # server's ETags and the fetch time, so a rerun asks only for what changed since.
        """CREATE TABLE patient_records (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            connection_id INTEGER NOT NULL,
            patient_id TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            etags TEXT NOT NULL DEFAULT '{}',
            record BLOB NOT NULL,
            record_hash TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, connection_id, patient_id)
        )""",
    ),
)

_V5 = Migration(
    5,
    "screening entries a user made: done elsewhere, declined, postponed until",
    (
        # One entry per patient and screening (a new one replaces it); who and when are kept so
        # the sheet can say "declined, entered by J. Doe on 2026-11-02".
        """CREATE TABLE screening_entries (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            patient_id TEXT NOT NULL,
            screening_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            on_date TEXT,
            until_date TEXT,
            note TEXT NOT NULL DEFAULT '',
            entered_by TEXT NOT NULL,
            entered_at TEXT NOT NULL,
            UNIQUE (tenant_id, id),
            UNIQUE (tenant_id, patient_id, screening_id)
        )""",
    ),
)

_V6 = Migration(
    6,
    "bulk exports, panel runs and results, cross-source patient links and possible matches",
    (
        # A Bulk Data export this app started: enough to resume after a restart (the status
        # URL, the manifest, which files are already on disk) without kicking off again.
        """CREATE TABLE bulk_exports (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            connection_id INTEGER NOT NULL,
            request TEXT NOT NULL,
            status_url TEXT,
            state TEXT NOT NULL,
            transaction_time TEXT,
            manifest TEXT,
            downloaded TEXT NOT NULL DEFAULT '{}',
            folder TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tenant_id, id)
        )""",
        # One screening pass over a clinic's whole panel; a rerun exports `_since` the last
        # complete run's transaction time.
        """CREATE TABLE panel_runs (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            connection_id INTEGER NOT NULL,
            group_id TEXT,
            export_id INTEGER,
            state TEXT NOT NULL,
            since TEXT,
            transaction_time TEXT,
            patients INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tenant_id, id)
        )""",
        # The newest screening of each panel patient (results JSON as on a sheet, measure
        # populations per CMS id); the chart itself stays in patient_records.
        """CREATE TABLE panel_results (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            connection_id INTEGER NOT NULL,
            patient_id TEXT NOT NULL,
            run_id INTEGER,
            screened_at TEXT NOT NULL,
            record_hash TEXT NOT NULL,
            results TEXT NOT NULL,
            measures TEXT NOT NULL DEFAULT '{}',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, connection_id, patient_id)
        )""",
        "CREATE INDEX panel_results_by_run ON panel_results(tenant_id, run_id)",
        # Link decisions are appended, never updated: the newest per pair wins, and the history
        # says who linked or unlinked what, when (sources/links.py).
        """CREATE TABLE patient_links (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            source_id TEXT NOT NULL,
            local_id TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            state TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            score REAL NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            UNIQUE (tenant_id, id)
        )""",
        "CREATE INDEX patient_links_by_local ON patient_links(tenant_id, local_id, source_id)",
        # Possible matches waiting for a person (between the two thresholds).
        """CREATE TABLE link_candidates (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            source_id TEXT NOT NULL,
            local_id TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            score REAL NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'open',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tenant_id, id),
            UNIQUE (tenant_id, source_id, local_id, remote_id)
        )""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
LATEST_VERSION = MIGRATIONS[-1].version


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A tenant-scoped table: its name and every column except ``tenant_id``."""

    name: str
    columns: frozenset[str]


def _spec(name: str, *columns: str) -> TableSpec:
    return TableSpec(name, frozenset(columns))


TENANT_SETTINGS = _spec("tenant_settings", "name", "value", "updated_at")
CONNECTIONS = _spec(
    "connections",
    "id",
    "name",
    "vendor",
    "base_url",
    "enabled",
    "config",
    "created_at",
    "updated_at",
    "priority",
)
SECRETS = _spec("secrets", "connection_id", "name", "value", "updated_at")
JOBS = _spec(
    "jobs", "id", "connection_id", "clinic_day", "state", "params", "created_at", "updated_at"
)
JOB_PATIENTS = _spec(
    "job_patients",
    "job_id",
    "patient_id",
    "position",
    "state",
    "reason",
    "hashes",
    "attempts",
    "updated_at",
)
SHEETS = _spec(
    "sheets",
    "id",
    "job_id",
    "patient_id",
    "clinic_day",
    "pdf",
    "pdf_sha256",
    "results",
    "created_at",
)
TEXT_CACHE = _spec("text_cache", "content_hash", "text", "method", "created_at")
WRITEBACK_LEDGER = _spec(
    "writeback_ledger",
    "idempotency_key",
    "patient_id",
    "state",
    "resource_id",
    "created_at",
    "updated_at",
)
MATCH_DISMISSALS = _spec(
    "match_dismissals",
    "id",
    "patient_id",
    "screening_id",
    "evidence_reference",
    "reason",
    "dismissed_by",
    "dismissed_at",
)

PATIENT_RECORDS = _spec(
    "patient_records",
    "connection_id",
    "patient_id",
    "fetched_at",
    "etags",
    "record",
    "record_hash",
    "updated_at",
)
SCREENING_ENTRIES = _spec(
    "screening_entries",
    "id",
    "patient_id",
    "screening_id",
    "kind",
    "on_date",
    "until_date",
    "note",
    "entered_by",
    "entered_at",
)
BULK_EXPORTS = _spec(
    "bulk_exports",
    "id",
    "connection_id",
    "request",
    "status_url",
    "state",
    "transaction_time",
    "manifest",
    "downloaded",
    "folder",
    "error",
    "created_at",
    "updated_at",
)
PANEL_RUNS = _spec(
    "panel_runs",
    "id",
    "connection_id",
    "group_id",
    "export_id",
    "state",
    "since",
    "transaction_time",
    "patients",
    "summary",
    "created_at",
    "updated_at",
)
PANEL_RESULTS = _spec(
    "panel_results",
    "connection_id",
    "patient_id",
    "run_id",
    "screened_at",
    "record_hash",
    "results",
    "measures",
    "updated_at",
)
PATIENT_LINKS = _spec(
    "patient_links",
    "id",
    "source_id",
    "local_id",
    "remote_id",
    "state",
    "decided_by",
    "decided_at",
    "score",
    "reason",
)
LINK_CANDIDATES = _spec(
    "link_candidates",
    "id",
    "source_id",
    "local_id",
    "remote_id",
    "score",
    "detail",
    "state",
    "created_at",
    "updated_at",
)
TENANT_TABLES: tuple[TableSpec, ...] = (
    TENANT_SETTINGS,
    CONNECTIONS,
    SECRETS,
    JOBS,
    JOB_PATIENTS,
    SHEETS,
    TEXT_CACHE,
    WRITEBACK_LEDGER,
    MATCH_DISMISSALS,
    PATIENT_RECORDS,
    SCREENING_ENTRIES,
    BULK_EXPORTS,
    PANEL_RUNS,
    PANEL_RESULTS,
    PATIENT_LINKS,
    LINK_CANDIDATES,
)


def schema_version(db: Database) -> int:
    row = db.query_one("PRAGMA user_version")
    return int(row[0])


def migrate(db: Database, target: int = LATEST_VERSION) -> list[int]:
    """Apply the migrations above the database's version up to ``target``; return those applied."""
    current = schema_version(db)
    if current > LATEST_VERSION:
        raise SchemaTooNewError(current, LATEST_VERSION)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if current < migration.version <= target:
            with db.transaction():
                for statement in migration.statements:
                    db.execute(statement)
                # user_version lives in the header page, so it commits with the statements.
                db.execute(f"PRAGMA user_version = {int(migration.version)}")
            applied.append(migration.version)
    return applied
