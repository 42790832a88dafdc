"""Panel exports at scale: wall time and peak memory of exporting a stored panel.

    .venv/bin/python bench/export.py [--patients 20000] [--formats csv json parquet]

Builds a throwaway encrypted store (passphrase key, temporary HEALTHPREP_HOME) holding a panel
of synthetic results (13 screenings per patient, like the default library) and charts (about 40
resources each), then runs each export in a fresh child process and prints its wall time, rows
per second and peak RSS (the child's own, so the build does not count). Issue 17 asks a
20,000-patient panel to stream: the export's peak RSS should not grow with the panel.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PASSPHRASE = "bench-export-passphrase"
STATUSES = ("complete", "due", "overdue", "due_soon", "not_applicable", "not_at_goal")


def _envelope(n: int) -> dict[str, object]:
    results = []
    for s in range(13):
        done = date(2018, 1, 1) + timedelta(days=(n * 7 + s * 31) % 2900)
        results.append(
            {
                "screening_id": f"screening-{s:02d}",
                "name": f"Screening {s}",
                "status": STATUSES[(n + s) % len(STATUSES)],
                "reason": "Age outside 50-75" if (n + s) % 5 == 0 else None,
                "last_done": done.isoformat(),
                "next_due": (done + timedelta(days=365 * 3)).isoformat(),
                "flags": ["HbA1c 9.6 % on 2026-03-01 is above 9 %"] if s == 3 else [],
                "evidence": [{"reference": f"Procedure/p{n}-{s}"}],
            }
        )
    return {"as_of": "2026-12-04", "summary": {}, "results": results}


def _chart(n: int) -> dict[str, object]:
    patient = {
        "resourceType": "Patient",
        "id": f"pat-{n:06d}",
        "name": [{"family": f"Family{n}", "given": [f"Given{n}"]}],
        "birthDate": f"{1930 + n % 70}-0{1 + n % 9}-1{n % 9}",
        "gender": "female" if n % 2 else "male",
        "address": [{"postalCode": f"{10000 + n % 89999:05d}"}],
        "telecom": [{"system": "phone", "value": f"555-01{n % 100:02d}"}],
    }
    resources = [
        {
            "resourceType": ("Observation", "Procedure", "Condition", "Immunization")[r % 4],
            "id": f"r{n}-{r}",
            "effectiveDateTime": (
                date(2015, 1, 1) + timedelta(days=(n + r * 37) % 4000)
            ).isoformat(),
        }
        for r in range(40)
    ]
    return {"patient": patient, "resources": resources, "documents": []}


def build(home: Path, patients: int) -> None:
    from healthprep_desktop.store import Store
    from healthprep_desktop.store.repos.panel_results import PanelResult

    os.environ["HEALTHPREP_HOME"] = str(home)
    with Store.open(passphrase=PASSPHRASE) as store:
        scope = store.tenant(store.create_tenant("Bench clinic").id)
        conn = scope.connections.add("Bench EHR", "generic", "https://ehr.example/fhir")
        for start in range(0, patients, 1000):
            with store.transaction():
                for n in range(start, min(patients, start + 1000)):
                    pid = f"pat-{n:06d}"
                    scope.records.put(
                        conn.id,
                        pid,
                        fetched_at="2026-12-03T08:00:00+00:00",
                        etags={},
                        record=_chart(n),
                        record_hash=pid,
                    )
                    population = {"initial-population": 1, "denominator": 1, "numerator": n % 2}
                    scope.panel.put(
                        PanelResult(
                            conn.id,
                            pid,
                            _envelope(n),
                            pid,
                            measures={"2026": {"CMS130": {"Group_1": population}}},
                        )
                    )


def export(home: Path, fmt: str, deidentify: bool) -> None:
    from healthprep_desktop.exports.run import ExportRequest, run_export
    from healthprep_desktop.exports.writers import Format
    from healthprep_desktop.store import Store

    os.environ["HEALTHPREP_HOME"] = str(home)
    with Store.open(passphrase=PASSPHRASE) as store:
        scope = store.tenant(store.tenants()[0].id)
        conn = scope.connections.all()[0]
        request = ExportRequest(
            Format(fmt),
            home / f"out-{fmt}-{int(deidentify)}",
            connection_id=conn.id,
            deidentify=deidentify,
            summary=True,
            completeness=True,
        )
        started = time.perf_counter()
        result = run_export(scope, request)
        took = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in result.files) / 1e6
    kind = "de-identified" if deidentify else "identified"
    print(
        f"{fmt:<8} {kind:<13} {result.patients:>6} patients {result.rows:>7} rows "
        f"{took:7.1f} s  {result.rows / took:8.0f} rows/s  files {size:6.1f} MB  "
        f"peak RSS {peak_mb:6.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--formats", nargs="+", default=["csv", "json", "parquet"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # home format deid
    args = parser.parse_args()
    if args.child:
        export(Path(args.child[0]), args.child[1], args.child[2] == "1")
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        build(home, args.patients)
        print(f"built a {args.patients}-patient panel in {time.perf_counter() - started:.1f} s")
        for fmt in args.formats:
            for deid in ("0", "1") if fmt == "parquet" else ("0",):
                subprocess.run(
                    [sys.executable, __file__, "--child", str(home), fmt, deid], check=True
                )


if __name__ == "__main__":
    main()
