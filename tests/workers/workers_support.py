"""Shared by the batch tests (imported by name: tests/ directories are not packages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from healthprep_desktop.store import Store, TenantScope
from healthprep_desktop.workers.demo import DemoClinic

CLINIC_DAY = date(2026, 12, 1)  # a Tuesday


@dataclass
class Setup:
    store: Store
    scope: TenantScope
    connection_id: int
    demo: DemoClinic
