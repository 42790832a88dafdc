"""Document evidence through keyword matching, and dismissing a wrong match."""

from __future__ import annotations

from datetime import date

from engine_fixtures import CPT, document, patient, procedure, run

from healthprep_desktop.screening.model import EvidenceKind, Status

MAN_60 = "1961-01-15"


def test_a_scanned_colonoscopy_report_completes_the_screening() -> None:
    doc = document(
        "DocumentReference/d1",
        date(2019, 4, 2),
        "Procedure: colonoscopy to the cecum. Two small polyps removed.",
        title="Outside GI report",
    )
    result = run(patient(MAN_60, "male"), documents=[doc])["colorectal_cancer"]
    assert result.status is Status.COMPLETE
    assert result.next_due == date(2029, 4, 2)
    ev = result.evidence[0]
    assert ev.kind is EvidenceKind.DOCUMENT
    assert ev.reference == "DocumentReference/d1"
    assert ev.keyword == "colonoscopy"
    assert ev.snippet and "colonoscopy" in ev.snippet
    assert ev.confidence is not None and 0.8 <= ev.confidence <= 1.0
    assert result.explanation.startswith('Colonoscopy 2019-04-02 (document: "colonoscopy"')


def test_ocr_confusion_still_matches_but_a_negation_does_not() -> None:
    ocr = document("DocumentReference/d2", date(2020, 1, 5), "Screening co1onoscopy performed.")
    assert run(patient(MAN_60, "male"), documents=[ocr])["colorectal_cancer"].status is (
        Status.COMPLETE
    )
    refused = document("DocumentReference/d3", date(2020, 1, 5), "Patient declined colonoscopy.")
    assert run(patient(MAN_60, "male"), documents=[refused])["colorectal_cancer"].status is (
        Status.DUE
    )


def test_undated_or_future_documents_do_not_count() -> None:
    undated = document("DocumentReference/d4", None, "colonoscopy done")
    future = document("DocumentReference/d5", date(2022, 1, 1), "colonoscopy done")
    result = run(patient(MAN_60, "male"), documents=[undated, future])["colorectal_cancer"]
    assert result.status is Status.DUE


def test_dismissed_document_does_not_count_and_is_recorded() -> None:
    doc = document("DocumentReference/d6", date(2019, 4, 2), "colonoscopy, normal")
    dismissed = {("colorectal_cancer", "DocumentReference/d6")}
    result = run(patient(MAN_60, "male"), documents=[doc], dismissed=dismissed)
    col = result["colorectal_cancer"]
    assert col.status is Status.DUE
    assert col.dismissed == ("DocumentReference/d6",)
    assert all(e.reference != "DocumentReference/d6" for e in col.evidence)
    # Dismissing it for another screening leaves this one alone.
    other = run(
        patient(MAN_60, "male"),
        documents=[doc],
        dismissed={("breast_cancer", "DocumentReference/d6")},
    )["colorectal_cancer"]
    assert other.status is Status.COMPLETE
    assert other.dismissed == ()


def test_dismissing_a_document_falls_back_to_coded_evidence() -> None:
    doc = document("DocumentReference/d7", date(2020, 4, 2), "colonoscopy, normal")
    coded = procedure(CPT, "45378", "2010-04-02")
    result = run(
        patient(MAN_60, "male"),
        coded,
        documents=[doc],
        dismissed=[("colorectal_cancer", "DocumentReference/d7")],
    )["colorectal_cancer"]
    assert result.status is Status.OVERDUE
    assert result.last_done == date(2010, 4, 2)
    assert result.to_json()["dismissed"] == ["DocumentReference/d7"]
