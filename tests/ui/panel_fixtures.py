"""A small stored panel for the Panel view tests: real PanelResults in the real encrypted store.

Thirty patients, two screenings and one measure over two years, by simple rules on the patient's
number, so a test can say what the counts must be without reading the store:
- colorectal: number % 3 -> due, complete, overdue (10 each);
- breast: even numbers complete, odd numbers due soon (15 each);
- CMS130 2026: everyone in the initial population and denominator, numbers % 3 == 1 in the
  numerator (the colorectal complete ones), numbers % 5 == 0 excluded (not in the numerator);
- CMS130 2025: the same population, numbers % 2 == 0 in the numerator.
Patients p00 and p01 also have stored charts (names shown locally).
"""

from __future__ import annotations

from datetime import date

from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.panel_results import PanelResult

PATIENTS = 30
AS_OF = date(2026, 11, 23)
COLORECTAL = (Status.DUE, Status.COMPLETE, Status.OVERDUE)
NAMES = {"p00": ("Rosa", "Alvarez"), "p01": ("Omar", "Haddad")}


def patient_id(n: int) -> str:
    return f"p{n:02d}"


def colorectal_status(n: int) -> Status:
    return COLORECTAL[n % 3]


def breast_status(n: int) -> Status:
    return Status.COMPLETE if n % 2 == 0 else Status.DUE_SOON


def cms130(n: int, year: int) -> dict[str, int]:
    excluded = year == 2026 and n % 5 == 0
    met = (n % 3 == 1) if year == 2026 else (n % 2 == 0)
    return {
        "initial-population": 1,
        "denominator": 1,
        "denominator-exclusion": int(excluded),
        "denominator-exception": 0,
        "numerator": int(met and not excluded),
        "numerator-exclusion": 0,
    }


def expected_rate(year: int) -> float:
    rows = [cms130(n, year) for n in range(PATIENTS)]
    base = sum(r["denominator"] - r["denominator-exclusion"] for r in rows)
    return sum(r["numerator"] for r in rows) / base


def _result(n: int) -> PanelResult:
    colorectal = colorectal_status(n)
    screenings = [
        ScreeningResult(
            "colorectal",
            "Colorectal cancer screening",
            colorectal,
            f"{colorectal.label} for patient {n}",
            last_done=date(2020, 1, 1 + n % 28) if colorectal != Status.DUE else None,
            next_due=date(2030, 1, 1 + n % 28) if colorectal == Status.COMPLETE else None,
        ),
        ScreeningResult(
            "breast",
            "Breast cancer screening",
            breast_status(n),
            "mammogram",
            flags=("dense breast tissue",) if n == 4 else (),
        ),
    ]
    envelope = {
        "format": 1,
        "as_of": AS_OF.isoformat(),
        "summary": {},
        "results": [r.to_json() for r in screenings],
    }
    measures = {str(y): {"CMS130": {"group-1": cms130(n, y)}} for y in (2025, 2026)}
    return PanelResult(1, patient_id(n), envelope, f"hash-{n}", measures=measures)


def fill_panel(scope: TenantScope, patients: int = PATIENTS, *, enabled: bool = True) -> int:
    """The connection holding the panel (its id), the panel stored, names for p00 and p01.
    A disabled connection keeps a main window from reaching for its (unreachable) EHR."""
    connection = scope.connections.add(
        "EHR", "generic", "https://ehr.example.invalid/fhir", config={}, enabled=enabled
    )
    for n in range(patients):
        result = _result(n)
        scope.panel.put(
            PanelResult(
                connection.id,
                result.patient_id,
                result.results,
                result.record_hash,
                measures=result.measures,
            )
        )
    for pid, (given, family) in NAMES.items():
        scope.records.put(
            connection.id,
            pid,
            fetched_at="2026-11-22T12:00:00+00:00",
            etags={},
            record={
                "patient": {
                    "resourceType": "Patient",
                    "id": pid,
                    "name": [{"given": [given], "family": family}],
                },
                "resources": [],
                "documents": [],
            },
            record_hash="h",
        )
    run = scope.panel.start_run(connection.id, group_id=None)
    scope.panel.update_run(run.id, state="complete", patients=patients)
    return connection.id
