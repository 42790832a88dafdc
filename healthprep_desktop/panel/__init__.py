"""Whole-panel screening: every patient of a clinic in one pass, from Bulk Data files or the
per-patient fetch, into the encrypted store (``scope.panel``), incrementally on reruns.

Qt-free. Modules: :mod:`.staging` (NDJSON regrouped by patient in a temporary encrypted
database), :mod:`.screen` (one patient in a pool worker), :mod:`.screening_walk` (merge, skip
unchanged, screen, store), :mod:`.sources` (per-patient charts, the bulk hook's types),
:mod:`.bulk_source` (the hook on fhir/bulk), :mod:`.run` (one run, its path and its record),
:mod:`.start` (inputs and path for a run) and :mod:`.totals` (the panel's counts). The ``panel``
command is workers/panel_cli.py; docs/panel.md describes the behaviour.
"""
