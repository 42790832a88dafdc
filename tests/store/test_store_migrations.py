"""Forward migrations from every earlier schema version, with the data surviving."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop import paths
from healthprep_desktop.store import AuditAction, AuditEvent, Store
from healthprep_desktop.store.audit import AuditLog
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import DatabaseKey, save_key
from healthprep_desktop.store.schema import (
    LATEST_VERSION,
    MIGRATIONS,
    TENANT_TABLES,
    migrate,
    schema_version,
)

NOW = "2024-01-02T03:04:05.000000Z"


def _populate(db: Database, version: int) -> None:
    """Rows as the app at ``version`` wrote them (raw SQL: today's API speaks the latest)."""
    if version >= 1:
        for tenant_id, name in (("t1", "North Clinic"), ("t2", "South Clinic")):
            db.execute("INSERT INTO tenants VALUES (?, ?, ?)", (tenant_id, name, NOW))
        db.execute("INSERT INTO app_settings VALUES ('idle_lock_minutes', '5', ?)", (NOW,))
        db.execute("INSERT INTO tenant_settings VALUES ('t1', 'due_soon_days', '45', ?)", (NOW,))
        AuditLog(db).append(AuditEvent(AuditAction.CONNECT, tenant_id="t1"))
    if version >= 2:
        db.execute(
            "INSERT INTO connections (id, tenant_id, name, vendor, base_url, enabled, config, "
            "created_at, updated_at) VALUES (7, 't1', 'Epic', 'epic', 'https://ehr/fhir', 1, "
            '\'{"client_id":"abc"}\', ?, ?)',
            (NOW, NOW),
        )
        db.execute("INSERT INTO secrets VALUES ('t1', 7, 'refresh_token', 'r-123', ?)", (NOW,))
        AuditLog(db).append(AuditEvent(AuditAction.LOGIN, tenant_id="t1", ehr_user="dr.a"))


def _make_database_at(version: int) -> None:
    path = paths.database_path()
    key = DatabaseKey.random()
    save_key(path, key)
    db = Database.open(path, key)
    try:
        assert migrate(db, target=version) == list(range(1, version + 1))
        assert schema_version(db) == version
        _populate(db, version)
    finally:
        db.close()


def test_migrations_are_numbered_consecutively() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION >= 3


@pytest.mark.parametrize("start", range(LATEST_VERSION))
def test_migrates_from_every_earlier_version(start: int) -> None:
    _make_database_at(start)
    with Store.open() as store:
        assert store.schema_version == LATEST_VERSION
        assert store.audit.verify().ok
        if start >= 1:
            assert [t.id for t in store.tenants()] == ["t1", "t2"]
            assert store.app_settings.get_raw("idle_lock_minutes") == 5
            t1 = store.tenant("t1")
            assert t1.settings.get_raw("due_soon_days") == 45
            assert store.tenant("t2").settings.all_raw() == {}
        if start >= 2:
            connection = t1.connections.get(7)
            assert connection is not None
            assert connection.config == {"client_id": "abc"}
            assert connection.priority == 100  # added by v3 with its default
            assert t1.secrets.get(7, "refresh_token") == "r-123"
            assert [e.ehr_user for e in store.audit.entries()][-1] == "dr.a"
        # What the newest schema added is usable on the upgraded file.
        tenant = store.tenant("t1") if start >= 1 else store.tenant(store.create_tenant("N").id)
        job = tenant.jobs.create(date(2025, 3, 4), patient_ids=["p1"])
        assert [p.patient_id for p in tenant.jobs.patients(job.id)] == ["p1"]
    with Store.open() as store:  # a second open finds nothing to do
        assert store.schema_version == LATEST_VERSION


def test_tenant_specs_match_the_tables() -> None:
    with Store.open() as store:
        db = store._db
        tables = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        scoped = {spec.name for spec in TENANT_TABLES}
        for table in tables:
            columns = db.table_columns(table)
            # Every table with a tenant column is reachable only through ScopedTable...
            assert ("tenant_id" in columns) == (table in scoped) or table == "audit_log", table
        for spec in TENANT_TABLES:
            # ...and its spec lists exactly the other columns.
            assert set(db.table_columns(spec.name)) - {"tenant_id"} == spec.columns, spec.name
