"""What a headless batch run uses when it is not told: which day, and where a demo run lives.

Kept apart from workers/cli.py (argument parsing, exit codes) so workers/headless.py can use them
without importing the command-line module that imports it back.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path


def next_clinic_day(today: date) -> date:
    """The next weekday after today (clinic is prepared the afternoon before)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def demo_home() -> Path:
    """Where a demo run keeps its throwaway store (never the user's real store)."""
    return Path(tempfile.mkdtemp(prefix="healthprep-demo-"))
