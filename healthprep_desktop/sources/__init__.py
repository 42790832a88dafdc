"""Several FHIR sources for one clinic: cross-source patient matching and chart merging.

Core only (no Qt, no store, no network): `matching` decides whether a secondary source's Patient
is the clinic's patient; `merge` tags, de-duplicates and reconciles the charts read from each
source. The batch wires these to the FHIR client and the encrypted store.
"""
