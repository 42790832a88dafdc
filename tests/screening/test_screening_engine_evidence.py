"""What counts as done: look-back boundaries, dates (period end, time zones), statuses, results."""

from __future__ import annotations

from datetime import date

import pytest
from engine_fixtures import (
    CPT,
    LOINC,
    SNOMED,
    immunization,
    observation,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.model import EvidenceKind, Status

MAN_60 = "1961-01-15"


@pytest.mark.parametrize(
    ("done", "status", "next_due"),
    [
        ("2011-06-29", Status.OVERDUE, date(2021, 6, 29)),  # 10 years and one day
        ("2011-06-30", Status.DUE, date(2021, 6, 30)),  # exactly 10 years: outside, due today
        ("2011-07-01", Status.DUE_SOON, date(2021, 7, 1)),  # 10 years less a day: current
        ("2011-07-30", Status.DUE_SOON, date(2021, 7, 30)),  # due in 30 days: inside the window
        ("2011-07-31", Status.COMPLETE, date(2021, 7, 31)),  # due in 31 days
    ],
)
def test_colonoscopy_ten_year_lookback_boundary(done: str, status: Status, next_due: date) -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", done))["colorectal_cancer"]
    assert result.status is status
    assert result.next_due == next_due
    assert result.last_done == date.fromisoformat(done)
    assert f"Colonoscopy {done} (CPT 45378)" in result.explanation
    assert result.evidence[0].kind is EvidenceKind.CODE
    assert result.evidence[0].code == "45378"
    assert result.evidence[0].value_set == "2.16.840.1.113883.3.464.1003.108.12.1020"


def test_explanation_reads_like_the_example() -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", "2019-04-02"))
    assert result["colorectal_cancer"].explanation == (
        "Colonoscopy 2019-04-02 (CPT 45378); next due 2029-04-02"
    )
    assert result["colorectal_cancer"].status is Status.COMPLETE


def test_due_soon_window_is_overridable() -> None:
    pat = patient(MAN_60, "male")
    col = procedure(CPT, "45378", "2011-08-15")  # next due 2021-08-15, 46 days out
    assert run(pat, col)["colorectal_cancer"].status is Status.COMPLETE
    assert run(pat, col, due_soon_days=60)["colorectal_cancer"].status is Status.DUE_SOON
    near = procedure(CPT, "45378", "2011-07-10")  # 10 days out
    assert run(pat, near, due_soon_days=0)["colorectal_cancer"].status is Status.COMPLETE


def test_the_modality_with_the_latest_next_due_date_wins() -> None:
    # FIT last year (due 2021-09) versus colonoscopy 2015 (due 2025): the colonoscopy decides.
    fit = observation(LOINC, "29771-3", "2020-09-01", value_code=(SNOMED, "260385009"))
    col = procedure(CPT, "45378", "2015-05-05")
    result = run(patient(MAN_60, "male"), fit, col)["colorectal_cancer"]
    assert result.status is Status.COMPLETE
    assert result.next_due == date(2025, 5, 5)
    assert result.last_done == date(2015, 5, 5)
    assert result.evidence[0].code == "45378"
    assert {e.code for e in result.evidence} == {"45378", "29771-3"}


def test_fit_counts_for_one_year_only_with_a_result() -> None:
    pat = patient(MAN_60, "male")
    no_value = observation(LOINC, "29771-3", "2021-03-01")
    assert run(pat, no_value)["colorectal_cancer"].status is Status.DUE
    absent = observation(LOINC, "29771-3", "2021-03-01", extra={"dataAbsentReason": {"text": "x"}})
    assert run(pat, absent)["colorectal_cancer"].status is Status.DUE
    with_value = observation(LOINC, "29771-3", "2021-03-01", value_code=(SNOMED, "260385009"))
    result = run(pat, with_value)["colorectal_cancer"]
    assert result.status is Status.COMPLETE
    assert result.next_due == date(2022, 3, 1)


def test_procedures_need_no_result() -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", "2020-01-01"))
    assert result["colorectal_cancer"].status is Status.COMPLETE


@pytest.mark.parametrize("status", ["entered-in-error", "not-done", "in-progress", "stopped"])
def test_procedures_that_did_not_complete_do_not_count(status: str) -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", "2020-01-01", status=status))
    assert result["colorectal_cancer"].status is Status.DUE


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        ("final", True),
        ("amended", True),
        ("corrected", True),
        ("preliminary", False),
        ("registered", False),
        ("cancelled", False),
        ("entered-in-error", False),
    ],
)
def test_observation_statuses(status: str, counts: bool) -> None:
    mammo = observation(LOINC, "24606-6", "2020-10-01", status=status)
    result = run(patient("1965-01-01", "female"), mammo)["breast_cancer"]
    assert (result.status is Status.COMPLETE) is counts


def test_immunization_not_done_does_not_count() -> None:
    pat = patient("1960-01-01")
    assert run(pat, immunization("115", "2015-01-01"))["td_tdap_vaccine"].status is Status.COMPLETE
    skipped = immunization("115", "2015-01-01", status="not-done")
    assert run(pat, skipped)["td_tdap_vaccine"].status is Status.DUE


def test_period_end_is_the_date_that_counts() -> None:
    pat = patient(MAN_60, "male")
    spans_midnight = procedure(CPT, "45378", {"start": "2011-06-30", "end": "2011-07-01"})
    result = run(pat, spans_midnight)["colorectal_cancer"]
    assert result.last_done == date(2011, 7, 1)
    assert result.status is Status.DUE_SOON  # current: the period ended 10 years less a day ago
    start_only = procedure(CPT, "45378", {"start": "2011-06-30"})
    assert run(pat, start_only)["colorectal_cancer"].status is Status.DUE  # due today


def test_effective_period_on_an_observation() -> None:
    mammo = observation(LOINC, "24606-6", {"start": "2019-06-28", "end": "2019-07-01"})
    result = run(patient("1965-01-01", "female"), mammo)["breast_cancer"]
    assert result.last_done == date(2019, 7, 1)
    assert result.status is Status.DUE_SOON


def test_timezone_near_midnight() -> None:
    pat = patient(MAN_60, "male")
    value = (SNOMED, "260385009")
    # 23:30 in Chicago on 2020-06-30 is already 2020-07-01 in UTC.
    late = observation(LOINC, "29771-3", "2020-06-30T23:30:00-05:00", value_code=value)
    as_written = run(pat, late, due_soon_days=0)["colorectal_cancer"]
    assert as_written.last_done == date(2020, 6, 30)
    assert as_written.status is Status.DUE  # next due today: outside the window ending today
    in_utc = run(pat, late, due_soon_days=0, tz="UTC")["colorectal_cancer"]
    assert in_utc.last_done == date(2020, 7, 1)
    assert in_utc.status is Status.COMPLETE
    # 01:00 in Berlin on 2020-06-30 was still 2020-06-29 in New York: overdue there.
    early = observation(LOINC, "29771-3", "2020-06-30T01:00:00+02:00", value_code=value)
    assert run(pat, early)["colorectal_cancer"].status is Status.DUE  # due today
    ny = run(pat, early, tz="America/New_York")["colorectal_cancer"]
    assert ny.last_done == date(2020, 6, 29)
    assert ny.status is Status.OVERDUE


def test_future_dated_evidence_is_ignored() -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", "2021-07-01"))
    assert result["colorectal_cancer"].status is Status.DUE


def test_undated_evidence_cannot_complete_a_screening() -> None:
    result = run(patient(MAN_60, "male"), procedure(CPT, "45378", None))
    assert result["colorectal_cancer"].status is Status.DUE


def test_icd_and_system_aliases_match() -> None:
    # CPT written as its OID, as some EHRs do.
    col = procedure("urn:oid:2.16.840.1.113883.6.12", "45378", "2019-04-02")
    assert run(patient(MAN_60, "male"), col)["colorectal_cancer"].status is Status.COMPLETE


def test_report_without_a_result_does_not_satisfy_a_result_rule() -> None:
    # A cytology DiagnosticReport whose only Observation carries no value: no result (CMS124).
    woman = patient("1980-01-01", "female")
    blank = observation(LOINC, "10524-7", "2020-07-01")
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "10524-7"}]},
        "effectiveDateTime": "2020-07-01",
        "result": [{"reference": f"Observation/{blank['id']}"}],
    }
    assert run(woman, blank, report)["cervical_cancer"].status is Status.DUE
    valued = dict(blank, valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009"}]})
    assert run(woman, valued, report)["cervical_cancer"].status is Status.COMPLETE
    concluded = dict(report, conclusion="Negative for intraepithelial lesion")
    result = run(woman, blank, concluded)["cervical_cancer"]
    assert result.status is Status.COMPLETE
    assert result.evidence[0].reference == "DiagnosticReport/dr1"


def test_frequency_is_the_deciding_modalitys_not_the_whole_menu() -> None:
    pat = patient(MAN_60, "male")
    done = run(pat, procedure(CPT, "45378", "2019-04-02"))["colorectal_cancer"]
    assert done.frequency == "every 10 years"
    never = run(pat)["colorectal_cancer"]
    assert never.frequency is not None and "10 years" in never.frequency
    assert "1 year" in never.frequency  # with nothing done, the options are listed
