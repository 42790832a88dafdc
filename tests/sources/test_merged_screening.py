"""The real screening engine on a merged chart: the hospital's colonoscopy counts at the clinic."""

from __future__ import annotations

from datetime import datetime

from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.shared_patients import HOSPITAL_ID, shared_patients
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.model import Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.sources.matching import match_patient
from healthprep_desktop.sources.merge import SourceChart, merge_charts
from healthprep_desktop.sources.model import Outcome, Source
from healthprep_desktop.sources.normalise import demographics
from healthprep_desktop.sources.quality import SourceIndex

CLINIC_SOURCE = Source("primary", "Riverbend Family Medicine", 0, primary=True)
HOSPITAL = Source(HOSPITAL_ID, "St Mary's Hospital", 10)


def _colorectal(record: PatientRecord, clinic: SyntheticClinic) -> tuple[Status, list[str]]:
    results = evaluate(record, clinic.reference_date, default_library(), tz=clinic.time_zone)
    found = next(r for r in results if r.screening_id.startswith("colorectal"))
    return found.status, [e.reference for e in found.evidence]


def test_colonoscopy_done_only_at_the_hospital_makes_colorectal_complete() -> None:
    clinic = SyntheticClinic(seed=1, patients=500)
    shared = shared_patients(clinic)
    hospital = next(o for o in shared.organizations if o.source_id == HOSPITAL_ID)
    index = SourceIndex(hospital.patients)
    pid = sorted(shared.hospital_colonoscopies)[0]
    chart = clinic.patient_resources(pid)
    patient = chart[0]

    alone = PatientRecord(patient=patient, resources=chart[1:])
    assert _colorectal(alone, clinic)[0] in (Status.DUE, Status.OVERDUE)

    # Find the patient in the hospital the way the batch will: search, then match.
    local = demographics(patient)
    found = match_patient(local, index.candidates(local), HOSPITAL_ID)
    linked = [c for c in found if c.outcome == Outcome.AUTO_LINK]
    assert len(linked) == 1
    remote = linked[0].remote_id
    hospital_chart = [
        r for r in hospital.resources if r["subject"]["reference"] == f"Patient/{remote}"
    ]
    merged = merge_charts(
        [
            SourceChart(CLINIC_SOURCE, pid, chart, datetime(2026, 12, 1, 7)),
            SourceChart(HOSPITAL, remote, hospital_chart, datetime(2026, 12, 1, 7)),
        ]
    )
    record = PatientRecord(
        patient=patient,
        resources=[
            r for r in merged.screened if r is not patient and r.get("resourceType") != "Patient"
        ],
    )
    status, references = _colorectal(record, clinic)
    assert status == Status.COMPLETE
    origins = [merged.provenance[ref] for ref in references if ref in merged.provenance]
    assert origins and origins[0].source_name == "St Mary's Hospital"
    assert origins[0].label() == "2024-12-01 · St Mary's Hospital"
