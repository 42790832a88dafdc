"""The panel at a glance, from the stored results: patients per status for every screening, and
per measure and year the population counts and the performance rate.

Read page by page (``scope.panel.iter``): a 20,000-patient panel is never in memory at once.
Counts only: no patient appears here.
"""

from __future__ import annotations

from typing import Any

from healthprep_desktop.store import TenantScope


def performance_rate(populations: dict[str, int]) -> float | None:
    """numerator / (denominator - exclusions - exceptions), as the QM IG scores a proportion
    measure (numerator exclusions taken off the numerator); None when nobody is eligible."""
    eligible = (
        populations.get("denominator", 0)
        - populations.get("denominator-exclusion", 0)
        - populations.get("denominator-exception", 0)
    )
    met = populations.get("numerator", 0) - populations.get("numerator-exclusion", 0)
    return round(met / eligible, 4) if eligible > 0 else None


def panel_totals(scope: TenantScope, connection_id: int) -> dict[str, Any]:
    patients = 0
    statuses: dict[str, dict[str, int]] = {}  # screening id -> status -> patients
    measures: dict[str, dict[str, dict[str, dict[str, int]]]] = {}  # year -> CMS -> group
    for result in scope.panel.iter(connection_id):
        patients += 1
        for item in result.results.get("results") or []:
            per = statuses.setdefault(str(item.get("screening_id")), {})
            status = str(item.get("status"))
            per[status] = per.get(status, 0) + 1
        for year, per_cms in result.measures.items():
            for cms, groups in per_cms.items():
                for group, populations in groups.items():
                    total = measures.setdefault(year, {}).setdefault(cms, {}).setdefault(group, {})
                    for code, n in populations.items():
                        total[code] = total.get(code, 0) + int(n)
    rated = {
        year: {
            cms: {
                group: {**pops, "performance-rate": performance_rate(pops)}
                for group, pops in sorted(groups.items())
            }
            for cms, groups in sorted(per_cms.items())
        }
        for year, per_cms in sorted(measures.items())
    }
    return {
        "patients": patients,
        "statuses": {k: dict(sorted(v.items())) for k, v in sorted(statuses.items())},
        "measures": rated,
    }


__all__ = ["panel_totals", "performance_rate"]
