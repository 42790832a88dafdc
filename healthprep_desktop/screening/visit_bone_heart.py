"""Measure-backed prep-sheet screenings (see visit_measures): PLACEHOLDER, filled next."""

from __future__ import annotations
