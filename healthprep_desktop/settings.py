"""Every setting, declared here once: name, type, default, description, scope, bounds.

Values live in the encrypted store (app-wide ones in ``app_settings``, per-clinic ones in the
tenant's scope); an absent value means the default. ``Settings`` validates on write, audits each
change (the setting's name, never its value) and, when opened, runs the versioned upgrade hooks
above the version recorded in the store, so a rename or a changed unit migrates old values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from healthprep_desktop.clinic_zone import workstation_zone_name, zone_problem
from healthprep_desktop.store import AuditAction, AuditEvent, Store, TenantScope
from healthprep_desktop.store.repos.settings_values import SettingValues

log = logging.getLogger(__name__)

T = TypeVar("T", int, bool, str, float)


class Scope(StrEnum):
    APP = "app"  # this workstation
    TENANT = "tenant"  # one clinic


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    name: str
    type: type[T]
    default: T
    description: str
    scope: Scope
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[T, ...] = ()
    # Further rule beyond type and bounds: None when the value is fine, else one sentence.
    check: Callable[[T], str | None] | None = None

    def validate(self, value: object) -> T:
        """Return ``value`` as this setting's type, or raise ValueError saying what is allowed."""
        # bool is an int subclass; an int setting must not silently take True.
        if isinstance(value, bool) != (self.type is bool) or not isinstance(value, self.type):
            if self.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            else:
                raise ValueError(f"{self.name} must be a {self.type.__name__}")
        typed: T = value  # checked just above
        if self.minimum is not None and typed < self.minimum:  # type: ignore[operator]
            raise ValueError(f"{self.name} must be at least {self.minimum:g}")
        if self.maximum is not None and typed > self.maximum:  # type: ignore[operator]
            raise ValueError(f"{self.name} must be at most {self.maximum:g}")
        if self.choices and typed not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}")
        problem = self.check(typed) if self.check is not None else None
        if problem is not None:
            raise ValueError(f"{self.name}: {problem}")
        return typed


_REGISTRY: dict[str, Setting[Any]] = {}


def _declare(setting: Setting[T]) -> Setting[T]:
    if setting.name in _REGISTRY:
        raise RuntimeError(f"setting {setting.name} declared twice")
    setting.validate(setting.default)
    _REGISTRY[setting.name] = setting
    return setting


_MONTHS = " in months (0 = since the last encounter)."


def _months(name: str, default: int, what: str) -> Setting[int]:
    return _declare(
        Setting(name, int, default, what + _MONTHS, Scope.TENANT, minimum=0, maximum=240)
    )


DUE_SOON_DAYS = _declare(
    Setting(
        name="due_soon_days",
        type=int,
        default=30,
        description="Days before a screening's next due date that it shows as Due Soon.",
        scope=Scope.TENANT,
        minimum=0,
        maximum=365,
    )
)
# Cutoffs of the prep sheet's data sections, per clinic.
LABS_MONTHS = _months("labs_months", 12, "Recent labs on the sheet")
IMAGING_MONTHS = _months("imaging_months", 24, "Imaging on the sheet")
CONSULTS_MONTHS = _months("consults_months", 12, "Specialist consults on the sheet")
HOSPITAL_MONTHS = _months("hospital_months", 12, "Hospital stays on the sheet")
DOCUMENTS_MONTHS = _months("documents_months", 6, "Recent documents on the sheet")
# Which day a visit or a result falls on, and which Appointments make up a clinic day.
TIME_ZONE = _declare(
    Setting(
        name="time_zone",
        type=str,
        default=workstation_zone_name(),
        description="The clinic's time zone (an IANA name such as America/Chicago): which day "
        "a visit or a result falls on. Default: this computer's zone.",
        scope=Scope.TENANT,
        check=zone_problem,
    )
)
CONCURRENCY = _declare(
    Setting(
        name="concurrency",
        type=int,
        default=8,
        description="Patients fetched and screened at once (lower it for EHRs that throttle).",
        scope=Scope.TENANT,
        minimum=1,
        maximum=64,
    )
)
OCR_ENABLED = _declare(
    Setting(
        name="ocr_enabled",
        type=bool,
        default=True,
        description="Read scanned documents with OCR.",
        scope=Scope.TENANT,
    )
)
OCR_PAGE_CAP = _declare(
    Setting(
        name="ocr_page_cap",
        type=int,
        default=20,
        description="At most this many pages of one document are OCR'd.",
        scope=Scope.TENANT,
        minimum=1,
        maximum=500,
    )
)
IDLE_LOCK_MINUTES = _declare(
    Setting(
        name="idle_lock_minutes",
        type=int,
        default=15,
        description="Lock the window after this many idle minutes (0 = never).",
        scope=Scope.APP,
        minimum=0,
        maximum=240,
    )
)
LOG_LEVEL = _declare(
    Setting(
        name="log_level",
        type=str,
        default="INFO",
        description="Detail of the log file.",
        scope=Scope.APP,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
)

SETTINGS: tuple[Setting[Any], ...] = tuple(_REGISTRY.values())


def setting(name: str) -> Setting[Any]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no setting named {name!r}") from None


# Versioned upgrades ------------------------------------------------------------------------

# Changes one scope's stored values in place: (values, scope). Must be idempotent (an upgrade
# interrupted before its version is recorded runs again).
UpgradeHook = Callable[[dict[str, Any], Scope], None]


@dataclass(frozen=True, slots=True)
class SettingsUpgrade:
    version: int
    description: str
    apply: UpgradeHook


SETTINGS_VERSION = 1
# Version 1 is the first; add SettingsUpgrade(2, "...", hook) here and bump SETTINGS_VERSION
# when a setting is renamed, split, or changes unit.
UPGRADES: tuple[SettingsUpgrade, ...] = ()

_VERSION_KEY = "_settings_version"  # reserved name in app_settings


class Settings:
    """Typed access to the declared settings. Opening it runs pending upgrades."""

    def __init__(
        self,
        store: Store,
        *,
        upgrades: Sequence[SettingsUpgrade] = UPGRADES,
        version: int = SETTINGS_VERSION,
    ) -> None:
        self._store = store
        self.applied_upgrades = self._upgrade(upgrades, version)

    def get(self, item: Setting[T], tenant: TenantScope | None = None) -> T:
        raw = self._values(item, tenant).get_raw(item.name)
        if raw is None:
            return item.default
        try:
            return item.validate(raw)
        except ValueError:
            # A value no longer valid (bounds changed) falls back; never log the value itself.
            log.warning("stored value of setting %s is invalid; using the default", item.name)
            return item.default

    def set(
        self,
        item: Setting[T],
        value: T,
        tenant: TenantScope | None = None,
        *,
        ehr_user: str | None = None,
    ) -> None:
        typed = item.validate(value)
        with self._store.transaction():
            self._values(item, tenant).set_raw(item.name, typed)
            self._audit(item, tenant, ehr_user)

    def reset(
        self, item: Setting[Any], tenant: TenantScope | None = None, *, ehr_user: str | None = None
    ) -> None:
        with self._store.transaction():
            if self._values(item, tenant).delete(item.name):
                self._audit(item, tenant, ehr_user)

    def values(self, scope: Scope, tenant: TenantScope | None = None) -> dict[str, Any]:
        """Every setting of ``scope`` with its effective value."""
        return {s.name: self.get(s, tenant) for s in SETTINGS if s.scope is scope}

    def _values(self, item: Setting[Any], tenant: TenantScope | None) -> SettingValues:
        if item.scope is Scope.TENANT:
            if tenant is None:
                raise ValueError(f"{item.name} is a clinic setting: pass the clinic's scope")
            return tenant.settings
        if tenant is not None:
            raise ValueError(f"{item.name} is a workstation setting, not a clinic one")
        return self._store.app_settings

    def _audit(self, item: Setting[Any], tenant: TenantScope | None, ehr_user: str | None) -> None:
        self._store.audit.append(
            AuditEvent(
                AuditAction.SETTINGS_CHANGE,
                tenant_id=tenant.id if tenant else None,
                detail=item.name,
                ehr_user=ehr_user,
            )
        )

    def _upgrade(self, upgrades: Sequence[SettingsUpgrade], version: int) -> list[int]:
        stored = self._store.app_settings.get_raw(_VERSION_KEY)
        current = int(stored) if isinstance(stored, int) else 0
        applied: list[int] = []
        for upgrade in sorted(upgrades, key=lambda u: u.version):
            if not current < upgrade.version <= version:
                continue
            with self._store.transaction():
                _apply(upgrade.apply, self._store.app_settings, Scope.APP)
                for tenant in self._store.tenants():
                    _apply(upgrade.apply, self._store.tenant(tenant.id).settings, Scope.TENANT)
                self._store.app_settings.set_raw(_VERSION_KEY, upgrade.version)
            applied.append(upgrade.version)
            log.info("settings upgraded to version %d: %s", upgrade.version, upgrade.description)
        if current < version:
            self._store.app_settings.set_raw(_VERSION_KEY, version)
        return applied


def _apply(hook: UpgradeHook, target: SettingValues, scope: Scope) -> None:
    before = {k: v for k, v in target.all_raw().items() if not k.startswith("_")}
    after = dict(before)
    hook(after, scope)
    for name in before.keys() - after.keys():
        target.delete(name)
    for name, value in after.items():
        if before.get(name, _MISSING) != value:
            target.set_raw(name, value)


_MISSING = object()
