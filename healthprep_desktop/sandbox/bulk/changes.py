"""Changing some patients' data on purpose, so an incremental (``_since``) export has
something to find: each resource of theirs is stored again (a new version, a new
meta.lastUpdated), as if the EHR had updated it."""

from __future__ import annotations

from collections.abc import Iterable

from healthprep_desktop.sandbox.org import Organization

# meta.lastUpdated has millisecond precision: moving the clock on 2 ms first puts every
# change strictly after any transactionTime already handed out.
_CLOCK_STEP = 0.002


def touch_patients(
    org: Organization, patient_ids: Iterable[str], types: Iterable[str] | None = None
) -> int:
    """Re-store the patients' own resources (of ``types``, or all); returns how many."""
    store = org.store
    store.clock.advance(_CLOCK_STEP)
    wanted = tuple(types) if types is not None else None
    changed = 0
    for patient_id in patient_ids:
        for stored in store.compartment(patient_id, wanted):
            if stored.patient != patient_id:  # shared resources (practitioners...) stay
                continue
            store.put(stored.json())
            changed += 1
    return changed
