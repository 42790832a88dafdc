"""No store API returns another tenant's rows (property-based), and scoping has one home."""

from __future__ import annotations

import ast
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthprep_desktop.store import (
    AuditAction,
    DuplicateKeyError,
    EntryKind,
    JobState,
    RecordNotFoundError,
    Store,
)
from healthprep_desktop.store.schema import CONNECTIONS
from healthprep_desktop.store.scoped import ScopedTable

DAY = date(2025, 2, 3)
TENANTS = 3


@dataclass
class Model:
    """What each tenant should see, kept by the test independently of the store."""

    connections: dict[str, int] = field(default_factory=dict)  # name -> id
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)  # (conn name, key) -> value
    texts: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, str] = field(default_factory=dict)
    dismissals: set[tuple[str, str, str]] = field(default_factory=set)
    jobs: dict[int, list[str]] = field(default_factory=dict)
    sheets: dict[int, str] = field(default_factory=dict)  # id -> patient
    settings: dict[str, int] = field(default_factory=dict)
    audited: list[str] = field(default_factory=list)  # patient ids
    entries: dict[tuple[str, str], int] = field(default_factory=dict)  # (patient, screening) -> id


words = st.text(alphabet="abcxyz", min_size=1, max_size=3)
operations = st.lists(
    st.tuples(
        st.integers(0, TENANTS - 1),
        st.sampled_from(
            [
                "connection",
                "secret",
                "text",
                "ledger",
                "dismiss",
                "job",
                "sheet",
                "setting",
                "audit",
                "entry",
            ]
        ),
        words,
        words,
    ),
    max_size=25,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_no_api_returns_another_tenants_rows(
    store: Store, ops: list[tuple[int, str, str, str]]
) -> None:
    # Fresh tenants per example; earlier examples' tenants stay in the file as more neighbours.
    scopes = [
        store.tenant(store.create_tenant(f"T{i}", tenant_id=uuid.uuid4().hex).id)
        for i in range(TENANTS)
    ]
    models = [Model() for _ in range(TENANTS)]
    for index, op, a, b in ops:
        scope, model = scopes[index], models[index]
        if op == "connection" and a not in model.connections:
            model.connections[a] = scope.connections.add(a, "epic", f"https://{a}/fhir").id
        elif op == "secret" and model.connections:
            name = sorted(model.connections)[0]
            scope.secrets.put(model.connections[name], "refresh_token", b)
            model.secrets[(name, "refresh_token")] = b
        elif op == "text":
            scope.text_cache.put(a, f"text {b}", "ocr")
            model.texts[a] = f"text {b}"
        elif op == "ledger" and a not in model.ledger:
            scope.ledger.record(a, "p1", f"DocumentReference/{b}")
            model.ledger[a] = f"DocumentReference/{b}"
        elif op == "dismiss":
            scope.dismissals.dismiss(
                b, "colorectal", f"DocumentReference/{a}", reason="wrong", dismissed_by="u"
            )
            model.dismissals.add((b, "colorectal", f"DocumentReference/{a}"))
        elif op == "job":
            job = scope.jobs.create(DAY, patient_ids=[a, b] if a != b else [a])
            model.jobs[job.id] = [a, b] if a != b else [a]
        elif op == "sheet":
            model.sheets[scope.sheets.save(a, DAY, b"%PDF-" + b.encode(), {"p": a}).id] = a
        elif op == "setting":
            scope.settings.set_raw(a, len(b))
            model.settings[a] = len(b)
        elif op == "audit":
            scope.audit(AuditAction.FETCH, patient_id=a)
            model.audited.append(a)
        elif op == "entry":
            made = scope.entries.put(a, b, EntryKind.DECLINED, entered_by="u")
            model.entries[(a, b)] = made.id

    all_text_keys = {k for m in models for k in m.texts}
    all_ledger_keys = {k for m in models for k in m.ledger}
    all_job_ids = {j for m in models for j in m.jobs}
    all_sheet_ids = {s for m in models for s in m.sheets}
    all_connection_ids = {c for m in models for c in m.connections.values()}
    for scope, model in zip(scopes, models, strict=True):
        connections = scope.connections.all()
        assert {c.name: c.id for c in connections} == model.connections
        for connection_id in all_connection_ids:
            found = scope.connections.get(connection_id)
            assert (found is not None) == (connection_id in model.connections.values())
        secrets = {
            (c.name, n): scope.secrets.get(c.id, n)
            for c in connections
            for n in scope.secrets.names(c.id)
        }
        assert secrets == model.secrets
        assert {k: scope.text_cache.get(k) for k in all_text_keys if scope.text_cache.get(k)} == (
            model.texts
        )
        assert len(scope.text_cache) == len(model.texts)
        assert {e.idempotency_key: e.resource_id for e in scope.ledger.all()} == model.ledger
        assert {k for k in all_ledger_keys if scope.ledger.get(k)} == set(model.ledger)
        assert {
            (d.patient_id, d.screening_id, d.evidence_reference) for d in scope.dismissals.all()
        } == model.dismissals
        assert {j.id for j in scope.jobs.all()} == set(model.jobs)
        for job_id in all_job_ids:
            mine = job_id in model.jobs
            assert (scope.jobs.get(job_id) is not None) == mine
            patients = [p.patient_id for p in scope.jobs.patients(job_id)]
            assert patients == (model.jobs[job_id] if mine else [])
        assert {s.id: s.patient_id for s in scope.sheets.all()} == model.sheets
        for sheet_id in all_sheet_ids:
            assert (scope.sheets.get(sheet_id) is not None) == (sheet_id in model.sheets)
        assert scope.settings.all_raw() == model.settings
        audited = [e.patient_id for e in scope.audit_entries() if e.action == "fetch"]
        assert audited == model.audited
        assert {(e.patient_id, e.screening_id): e.id for e in scope.entries.all()} == model.entries

    # Writes aimed at another tenant's ids change nothing there.
    for index, scope in enumerate(scopes):
        for other, model in enumerate(models):
            if other == index:
                continue
            for connection_id in model.connections.values():
                assert scope.connections.update(connection_id, name="hijacked") is None
                assert not scope.connections.remove(connection_id)
                with pytest.raises(RecordNotFoundError):
                    scope.secrets.put(connection_id, "refresh_token", "planted")
            for job_id in model.jobs:
                assert not scope.jobs.set_state(job_id, JobState.CANCELLED)
                with pytest.raises(RecordNotFoundError):
                    scope.jobs.add_patients(job_id, ["intruder"])
            for sheet_id in model.sheets:
                assert not scope.sheets.delete(sheet_id)
            for entry_id in model.entries.values():
                assert scope.entries.get(entry_id) is None
                assert not scope.entries.remove(entry_id)
    for scope, model in zip(scopes, models, strict=True):
        assert {c.name for c in scope.connections.all()} == set(model.connections)
        assert {s.id for s in scope.sheets.all()} == set(model.sheets)
        assert all(j.state == "pending" for j in scope.jobs.all())


def test_the_tenant_column_cannot_be_chosen(store: Store) -> None:
    tenant = store.create_tenant("A")
    table = ScopedTable(store._db, CONNECTIONS, tenant.id)
    with pytest.raises(ValueError, match="tenant_id"):
        table.insert({"tenant_id": "other", "name": "x"})
    with pytest.raises(ValueError, match="tenant_id"):
        table.select({"tenant_id": "other"})
    with pytest.raises(ValueError, match="tenant_id"):
        table.update({"id": 1}, {"tenant_id": "other"})
    with pytest.raises(ValueError, match="no column"):
        table.select(order_by=("name; DROP TABLE tenants",))


def test_unique_keys_are_per_tenant(store: Store) -> None:
    a = store.tenant(store.create_tenant("A").id)
    b = store.tenant(store.create_tenant("B").id)
    a.ledger.record("sheet:p1:2025-02-03", "p1", "DocumentReference/1")
    b.ledger.record("sheet:p1:2025-02-03", "p1", "DocumentReference/2")  # no clash across tenants
    with pytest.raises(DuplicateKeyError):
        a.ledger.claim("sheet:p1:2025-02-03", "p1")
    a.connections.add("Epic", "epic", "https://a")
    b.connections.add("Epic", "epic", "https://b")
    with pytest.raises(DuplicateKeyError):
        a.connections.add("Epic", "epic", "https://a2")


_SQL = re.compile(r"\b(SELECT\s.*\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)
REPOS = Path(__file__).resolve().parents[2] / "healthprep_desktop" / "store" / "repos"


@pytest.mark.parametrize("module", sorted(p.name for p in REPOS.glob("*.py")), ids=str)
def test_repositories_reach_tenant_tables_only_through_scoped_table(module: str) -> None:
    tree = ast.parse((REPOS / module).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    strings = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    sql = [s for s in strings if _SQL.search(s)]
    assert "sqlcipher3" not in imported
    if module == "settings_values.py":
        # App-wide settings are not tenant data; its SQL touches app_settings only.
        assert all("app_settings" in s for s in sql)
    else:
        assert "healthprep_desktop.store.database" not in imported
        assert sql == []
