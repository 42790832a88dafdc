"""``batch --demo --multi-source --json FILE`` in a real subprocess: the demo day read from the
clinic, a hospital and an immunization registry; each evidence item names its source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workers_support import CLINIC_DAY

# With the demo's seed (1), 60 patients and this clinic day, the hospital holds this patient's
# only colonoscopy (sandbox/clinic/shared_patients.py: hospital_colonoscopies).
HOSPITAL_ONLY = "pat-00039"


def test_multi_source_demo_json_names_every_evidence_source(
    tmp_path: Path, healthprep_home: Path
) -> None:
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "healthprep_desktop", "batch", "--demo", "--multi-source",
            "--patients-in-demo", "60", "--date", CLINIC_DAY.isoformat(),
            "--patients", f"{HOSPITAL_ONLY},pat-00001,pat-00002", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=240,
        env=dict(os.environ, HEALTHPREP_HOME=str(healthprep_home), QT_QPA_PLATFORM="offscreen"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "newly linked to their records in other sources" in result.stdout
    patients = {p["patient_id"]: p for p in json.loads(out.read_text())["patients"]}
    assert len(patients) == 3
    evidence = [e for p in patients.values() for s in p["screenings"] for e in s["evidence"]]
    assert evidence and all(isinstance(e, dict) and e["source"] for e in evidence)
    colorectal = next(
        s for s in patients[HOSPITAL_ONLY]["screenings"] if s["id"].startswith("colorectal")
    )
    assert colorectal["status"] == "complete"
    assert [e["source"] for e in colorectal["evidence"]] == ["St Mary's Hospital"]
    assert colorectal["explanation"].endswith("\u00b7 St Mary's Hospital")
