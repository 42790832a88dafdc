"""Settings declared in one module, stored per app or per tenant, validated, audited, upgraded."""

from __future__ import annotations

from typing import Any

import pytest

from healthprep_desktop import settings as s
from healthprep_desktop.store import Store


def test_declarations_are_complete() -> None:
    names = {item.name for item in s.SETTINGS}
    assert {
        "due_soon_days",
        "labs_months",
        "imaging_months",
        "consults_months",
        "hospital_months",
        "documents_months",
        "idle_lock_minutes",
        "concurrency",
        "ocr_enabled",
        "ocr_page_cap",
    } <= names
    for item in s.SETTINGS:
        assert item.description and item.scope in (s.Scope.APP, s.Scope.TENANT)
        assert item.validate(item.default) == item.default
    assert s.DUE_SOON_DAYS.default == 30
    assert s.setting("ocr_enabled") is s.OCR_ENABLED


def test_defaults_values_and_scopes(store: Store) -> None:
    a = store.tenant(store.create_tenant("A").id)
    b = store.tenant(store.create_tenant("B").id)
    settings = s.Settings(store)
    assert settings.get(s.DUE_SOON_DAYS, a) == 30
    settings.set(s.DUE_SOON_DAYS, 45, a, ehr_user="admin")
    settings.set(s.OCR_ENABLED, False, b)
    settings.set(s.IDLE_LOCK_MINUTES, 5)
    assert settings.get(s.DUE_SOON_DAYS, a) == 45
    assert settings.get(s.DUE_SOON_DAYS, b) == 30  # per tenant
    assert settings.get(s.OCR_ENABLED, a) is True and settings.get(s.OCR_ENABLED, b) is False
    assert settings.get(s.IDLE_LOCK_MINUTES) == 5
    assert s.Settings(store).values(s.Scope.TENANT, a)["due_soon_days"] == 45
    settings.reset(s.DUE_SOON_DAYS, a)
    assert settings.get(s.DUE_SOON_DAYS, a) == 30
    changes = [e for e in store.audit.entries() if e.action == "settings_change"]
    assert [(e.tenant_id, e.detail) for e in changes] == [
        (a.id, "due_soon_days"),
        (b.id, "ocr_enabled"),
        (None, "idle_lock_minutes"),
        (a.id, "due_soon_days"),
    ]
    assert changes[0].ehr_user == "admin"
    assert all("45" not in e.detail for e in changes)  # names, never values


@pytest.mark.parametrize(
    ("item", "value", "message"),
    [
        (s.DUE_SOON_DAYS, -1, "at least 0"),
        (s.DUE_SOON_DAYS, True, "must be a int"),
        (s.OCR_ENABLED, 1, "must be a bool"),
        (s.CONCURRENCY, 0, "at least 1"),
        (s.LOG_LEVEL, "LOUD", "one of"),
    ],
)
def test_invalid_values_are_refused(store: Store, item: Any, value: Any, message: str) -> None:
    scope = store.tenant(store.create_tenant("A").id)
    target = scope if item.scope is s.Scope.TENANT else None
    with pytest.raises(ValueError, match=message):
        s.Settings(store).set(item, value, target)


def test_scope_mismatch_is_refused(store: Store) -> None:
    scope = store.tenant(store.create_tenant("A").id)
    settings = s.Settings(store)
    with pytest.raises(ValueError, match="clinic setting"):
        settings.get(s.DUE_SOON_DAYS)
    with pytest.raises(ValueError, match="workstation setting"):
        settings.set(s.IDLE_LOCK_MINUTES, 3, scope)


def test_invalid_stored_value_falls_back_to_default(store: Store) -> None:
    scope = store.tenant(store.create_tenant("A").id)
    scope.settings.set_raw("concurrency", 10_000)
    assert s.Settings(store).get(s.CONCURRENCY, scope) == s.CONCURRENCY.default


def test_upgrade_hooks_run_once_in_order(store: Store) -> None:
    a = store.tenant(store.create_tenant("A").id)
    store.app_settings.set_raw("idle_lock_seconds", 600)
    a.settings.set_raw("cutoff_months", 18)
    calls: list[tuple[int, s.Scope]] = []

    def v2(values: dict[str, Any], scope: s.Scope) -> None:
        calls.append((2, scope))
        if "idle_lock_seconds" in values:
            values["idle_lock_minutes"] = values.pop("idle_lock_seconds") // 60

    def v3(values: dict[str, Any], scope: s.Scope) -> None:
        calls.append((3, scope))
        if "cutoff_months" in values:
            months = values.pop("cutoff_months")
            values.update({"labs_months": months, "imaging_months": months})

    upgrades = [s.SettingsUpgrade(3, "split cutoff", v3), s.SettingsUpgrade(2, "minutes", v2)]
    store.app_settings.set_raw("_settings_version", 1)
    opened = s.Settings(store, upgrades=upgrades, version=3)
    assert opened.applied_upgrades == [2, 3]
    assert [c[0] for c in calls] == [2, 2, 3, 3]
    assert opened.get(s.IDLE_LOCK_MINUTES) == 10
    assert store.app_settings.get_raw("idle_lock_seconds") is None
    assert opened.get(s.LABS_MONTHS, a) == 18 and opened.get(s.IMAGING_MONTHS, a) == 18
    assert a.settings.get_raw("cutoff_months") is None
    calls.clear()
    assert s.Settings(store, upgrades=upgrades, version=3).applied_upgrades == []
    assert calls == []


def test_fresh_store_records_the_current_version(store: Store) -> None:
    s.Settings(store)
    assert store.app_settings.get_raw("_settings_version") == s.SETTINGS_VERSION
