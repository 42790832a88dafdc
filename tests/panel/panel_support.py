"""Shared by the panel tests (imported by name: tests/ directories are not packages)."""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.store import Store, TenantScope
from healthprep_desktop.workers.demo import DemoClinic


@dataclass
class PanelSetup:
    store: Store
    scope: TenantScope
    connection_id: int
    demo: DemoClinic
