"""The prep sheet, read back from the PDF with pymupdf: content, cutoffs, pages, day PDF, text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pymupdf
import pytest

from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.record import DocumentText, PatientRecord, TextMethod
from healthprep_desktop.screening.sheet import (
    BADGE_COLOURS,
    CONFIDENTIAL,
    Appointment,
    SectionCutoffs,
    SheetContext,
    render_day,
    render_sheet,
    render_sheet_text,
)
from healthprep_desktop.screening.sheet_data import previsit_items

AS_OF = date(2021, 6, 30)
LAB = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "laboratory"}]}]  # fmt: skip


def lab(id_: str, name: str, day: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id_,
        "status": "final",
        "category": LAB,
        "code": {"text": name},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": unit},
        **extra,
    }


def patient(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [
            {"use": "nickname", "given": ["Minnie"]},
            {"use": "official", "family": "Nguyễn", "given": ["Thị", "Minh"]},
        ],
        "gender": "female",
        "birthDate": "1956-07-01",
        "identifier": [
            {"system": "urn:oid:1.2.3", "value": "SSN-NOT-THIS"},
            {
                "type": {"coding": [{"code": "MR"}]},
                "system": "urn:oid:1.2.3.4",
                "value": "MRN-00042",
            },
        ],
    }
    data.update(changes)
    return data


def chart() -> list[dict[str, Any]]:
    return [
        lab("o1", "Hemoglobin A1c", "2021-05-01", 7.2, "%",
            interpretation=[{"coding": [{"code": "H"}]}]),
        lab("o2", "Hemoglobin A1c", "2020-11-01", 7.9, "%"),
        lab("o3", "LDL cholesterol", "2019-01-15", 130.0, "mg/dL"),  # outside 12 months
        lab("o4", "Creatinine", "2021-02-01", 0.9, "mg/dL"),
        lab("o5", "Potassium", "2021-06-01", 9.9, "mmol/L", status="entered-in-error"),
        {"resourceType": "Observation", "id": "v1", "status": "final",
         "category": [{"coding": [{"code": "vital-signs"}]}], "code": {"text": "Body weight"},
         "effectiveDateTime": "2021-06-01", "valueQuantity": {"value": 70, "unit": "kg"}},
        {"resourceType": "Condition", "id": "c1",
         "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"coding": [{"display": "Type 2 diabetes mellitus"}]},
         "onsetDateTime": "2010-01-01"},
        {"resourceType": "Condition", "id": "c2",
         "clinicalStatus": {"coding": [{"code": "resolved"}]},
         "code": {"text": "Acute bronchitis"}},
        {"resourceType": "MedicationRequest", "id": "m1", "status": "active",
         "medicationCodeableConcept": {"text": "Metformin 500 mg tablet"},
         "dosageInstruction": [{"text": "1 tab twice daily"}], "authoredOn": "2020-01-01"},
        {"resourceType": "MedicationRequest", "id": "m2", "status": "stopped",
         "medicationCodeableConcept": {"text": "Amoxicillin 500 mg"}},
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "IMP"},
         "period": {"start": "2021-02-01", "end": "2021-02-05"},
         "reasonCode": [{"text": "Community-acquired pneumonia"}],
         "serviceProvider": {"display": "General Hospital"}},
        {"resourceType": "Encounter", "id": "e2", "status": "finished", "class": {"code": "AMB"},
         "serviceType": {"text": "Cardiology"}, "period": {"start": "2021-03-01"},
         "participant": [{"individual": {"display": "Dr. Heartwell"}}]},
        {"resourceType": "Encounter", "id": "e3", "status": "finished", "class": {"code": "EMER"},
         "period": {"start": "2017-02-01", "end": "2017-02-01"},
         "reasonCode": [{"text": "Ankle sprain"}]},  # outside 24 months
        {"resourceType": "DiagnosticReport", "id": "d1", "status": "final",
         "category": [{"coding": [{"code": "RAD"}]}], "code": {"text": "Screening mammogram"},
         "effectiveDateTime": "2020-05-01", "conclusion": "BI-RADS 1 negative"},
        {"resourceType": "DocumentReference", "id": "doc1", "status": "current",
         "description": "Outside colonoscopy report", "date": "2021-01-10T10:00:00Z"},
        {"resourceType": "DocumentReference", "id": "doc2", "status": "current",
         "description": "Old dental letter", "date": "2015-01-10T10:00:00Z"},
    ]  # fmt: skip


def results() -> list[ScreeningResult]:
    return [
        ScreeningResult(
            "colorectal",
            "Colorectal cancer screening",
            Status.COMPLETE,
            "Outside report 2019-04-02; next due 2029-04-02",
            last_done=date(2019, 4, 2),
            next_due=date(2029, 4, 2),
            frequency="every 10 years",
            evidence=(
                Evidence(
                    EvidenceKind.DOCUMENT,
                    "DocumentReference/doc1",
                    date(2019, 4, 2),
                    "Outside colonoscopy report",
                    keyword="colonoscopy",
                    confidence=0.81,
                ),
            ),
        ),
        ScreeningResult(
            "breast",
            "Breast cancer screening",
            Status.OVERDUE,
            "Mammogram 2018-05-01; next due 2020-05-01",
            last_done=date(2018, 5, 1),
            next_due=date(2020, 5, 1),
            frequency="every 2 years",
        ),
        ScreeningResult("flu", "Influenza vaccine", Status.DUE, "No flu vaccine this season"),
        ScreeningResult(
            "bp",
            "Blood pressure control",
            Status.NOT_AT_GOAL,
            "Blood pressure 113/91 on 2021-05-01: diastolic 91 ≥ 90 (CMS165 goal: below 140/90)",
            last_done=date(2021, 5, 1),
            next_due=date(2022, 5, 1),
            frequency="every 1 year",
        ),
        ScreeningResult(
            "a1c",
            "HbA1c for diabetes",
            Status.DUE_SOON,
            "HbA1c 2021-01-02",
            last_done=date(2021, 1, 2),
            next_due=date(2021, 7, 2),
            frequency="every 6 months",
        ),
        ScreeningResult(
            "aaa",
            "Abdominal aortic aneurysm",
            Status.NOT_APPLICABLE,
            "Not eligible",
            reason="not eligible: sex",
        ),
        ScreeningResult(
            "dxa",
            "Osteoporosis screening",
            Status.INSUFFICIENT_DATA,
            "Needs a recorded sex",
            reason="sex at birth",
        ),
        ScreeningResult(
            "depression",
            "Depression screening",
            Status.FOLLOW_UP_NEEDED,
            "Depression screen positive on 2021-06-01: no follow-up plan on record (CMS2)",
            last_done=date(2021, 6, 1),
        ),
        ScreeningResult(
            "cervical",
            "Cervical cancer screening",
            Status.DECLINED,
            "Declined on 2021-03-04: prefers to wait",
            entry="declined: entered by jdoe on 2021-03-04",
        ),
        ScreeningResult(
            "hiv",
            "HIV screening",
            Status.MEDICAL_REASON,
            "Not done for a medical reason on 2021-02-01 (Medical contraindication)",
        ),
        ScreeningResult(
            "zoster",
            "Zoster vaccine",
            Status.POSTPONED,
            "Postponed until 2021-09-01",
            entry="postponed: entered by jdoe on 2021-05-05",
        ),
    ]


def context(**changes: Any) -> SheetContext:
    record = PatientRecord(
        changes.pop("patient", patient()),
        changes.pop("resources", chart()),
        [
            DocumentText(
                "DocumentReference/doc1",
                "Outside colonoscopy report",
                date(2021, 1, 10),
                "application/pdf",
                "0" * 64,
                "COLONOSCOPY REPORT",
                TextMethod.OCR,
                pages=12,
                ocr_pages=10,
                warning="OCR limit: 10 of 12 scanned pages read",
            )
        ],
        fetched_at=datetime(2021, 6, 29, 17, 5, tzinfo=UTC),
        source="Epic Sandbox",
        warnings=changes.pop("record_warnings", ["2 Observation resources skipped (invalid)"]),
    )
    fields: dict[str, Any] = {
        "record": record,
        "results": results(),
        "as_of": AS_OF,
        "appointment": Appointment(
            datetime(2021, 7, 1, 9, 30), "Dr. Alice Smith", "Main St Clinic", "Annual exam"
        ),
        "clinic_name": "Main Street Family Medicine",
        "generated_at": datetime(2021, 6, 30, 8, 0),
        "tz": "America/Chicago",
    }
    fields.update(changes)
    return SheetContext(**fields)


def pages_text(pdf: bytes) -> list[str]:
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return [" ".join(page.get_text().split()) for page in doc]


@pytest.fixture(scope="module")
def golden() -> tuple[bytes, list[str]]:
    pdf = render_sheet(context())
    return pdf, pages_text(pdf)


def test_header_and_footer(golden: tuple[bytes, list[str]]) -> None:
    _, pages = golden
    first = pages[0]
    assert "Nguyễn, Thị Minh" in first  # official name, family first, unicode intact
    assert "Minnie" not in first
    assert "MRN-00042" in first and "SSN-NOT-THIS" not in first
    assert "1956-07-01 (64 y)" in first  # 65 only on 2021-07-01, the day after as-of
    assert "Female" in first
    assert "DEMO" not in first  # a real clinic's sheet carries no demo watermark
    assert "Thu 1 Jul 2021, 09:30" in first and "Dr. Alice Smith" in first
    assert "Main Street Family Medicine" in first
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert CONFIDENTIAL in text
        # 17:05 UTC in the clinic's zone (Chicago, daylight time); never "UTC" or an offset
        assert "Data fetched Tue 29 Jun 2021, 12:05 from Epic Sandbox" in text
        assert "Printed Wed 30 Jun 2021, 08:00" in text
        assert "UTC" not in text
    for text in pages[1:]:
        assert "Nguyễn, Thị Minh · MRN MRN-00042" in text  # running header on later pages


def test_quality_checklist(golden: tuple[bytes, list[str]]) -> None:
    _, pages = golden
    text = " ".join(pages)
    for status in Status:
        assert status.label in text, status
    # Actionable first: overdue, due, not at goal, due soon, insufficient data, complete; then
    # not applicable
    order = [
        "Breast cancer screening Overdue 2018-05-01 2020-05-01 Mammogram",
        "Influenza vaccine Due",
        "Depression screening Follow-up needed 2021-06-01",
        "Blood pressure control Not at goal 2021-05-01 2022-05-01",
        "HbA1c for diabetes Due Soon 2021-01-02 2021-07-02",
        "Osteoporosis screening Insufficient data",
        "Cervical cancer screening Declined",
        "HIV screening Medical reason",
        "Zoster vaccine Postponed",
        "Colorectal cancer screening Complete 2019-04-02 2029-04-02",
        "Not applicable (1): Abdominal aortic aneurysm (not eligible: sex)",
    ]
    positions = [text.index(item) for item in order]
    assert positions == sorted(positions)
    assert "[document: “colonoscopy”, 81%]; every 10 years" in text  # frequency: evidence
    # A user's entry is named as such, with who made it and when.
    assert "[declined: entered by jdoe on 2021-03-04]" in text


def test_status_badges_are_coloured(golden: tuple[bytes, list[str]]) -> None:
    pdf, _ = golden
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        fills = {
            tuple(round(c, 2) for c in d["fill"]) for d in doc[0].get_drawings() if d.get("fill")
        }
    red, green = (0.72, 0.11, 0.11), (0.18, 0.49, 0.2)  # Overdue #B71C1C, Complete #2E7D32
    assert red in fills and green in fills
    not_at_goal = tuple(round(c, 2) for c in BADGE_COLOURS[Status.NOT_AT_GOAL][0].rgb())
    assert not_at_goal in fills and not_at_goal != green


def test_not_at_goal_is_never_green_and_sorts_with_the_action_items() -> None:
    complete = BADGE_COLOURS[Status.COMPLETE][0]
    badge = BADGE_COLOURS[Status.NOT_AT_GOAL][0]
    r, g, b = badge.rgb()
    assert badge != complete and not (g > r and g > b)  # not a green of any shade
    assert set(BADGE_COLOURS) == set(Status)
    items = previsit_items(results())
    assert "Blood pressure control not at goal: review at this visit" in items
    assert items.index("Blood pressure control not at goal: review at this visit") < items.index(
        "HbA1c for diabetes due by 2021-07-02: consider addressing at this visit"
    )


def test_sections_in_order_with_their_cutoffs(golden: tuple[bytes, list[str]]) -> None:
    _, pages = golden
    text = " ".join(pages)
    headings = [
        "Today",
        "Quality checklist",
        "Active problems",
        "Medications",
        "Recent labs (last 12 months)",
        "Imaging (last 24 months)",
        "Specialist consults (last 12 months)",
        "Hospital stays (last 24 months)",
        "Recent documents (last 12 months)",
        "Prepared by",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "Type 2 diabetes mellitus 2010-01-01" in text and "Acute bronchitis" not in text
    assert "Metformin 500 mg tablet 1 tab twice daily" in text and "Amoxicillin" not in text
    # Latest A1c per test, flagged, with the count of results in the window.
    assert "Hemoglobin A1c 7.2 % (H) 2021-05-01 (x2)" in text
    assert "Creatinine 0.9 mg/dL 2021-02-01" in text
    assert "LDL cholesterol" not in text  # older than the 12-month cutoff
    assert "Potassium" not in text  # entered in error
    assert "Body weight" not in text  # a vital sign, not a lab
    assert "Screening mammogram 2020-05-01 BI-RADS 1 negative" in text
    assert "2021-03-01 Cardiology Dr. Heartwell" in text
    assert "Inpatient 2021-02-01 2021-02-05 Community-acquired pneumonia General Hospital" in text
    assert "Ankle sprain" not in text  # older than the 24-month cutoff
    assert "Outside colonoscopy report 2021-01-10" in text
    assert "OCR limit: 10 of 12 scanned pages read" in text
    assert "Old dental letter" not in text


def test_today_box_and_warnings(golden: tuple[bytes, list[str]]) -> None:
    _, pages = golden
    text = pages[0]
    today = text[text.index("Today") : text.index("Quality checklist")]
    # Grouped by who does it, clinical priority first, each with its one justifying fact.
    in_order = [
        "Provider",
        "Blood pressure control: not at goal — Blood pressure 113/91 on 2021-05-01: "
        "diastolic 91 ≥ 90",
        "Depression screening: positive screen, plan follow-up",
        "Order or obtain report: breast cancer screening — Mammogram 2018-05-01",
        "Re-offer cervical cancer screening (declined)",
        "Confirm sex at birth (osteoporosis screening)",
        "HbA1c for diabetes (due 2021-07-02): consider today",
        "Vaccines to offer",
        "Influenza vaccine (due) — No flu vaccine this season",
    ]
    positions = [today.index(item) for item in in_order]
    assert positions == sorted(positions)
    assert "CMS165" not in today  # measure and code references stay in the evidence line
    assert "Colorectal" not in today  # complete: no action
    assert "Data warnings" in text
    assert "2 Observation resources skipped (invalid)" in text
    assert "1 document(s) not fully read" in text


def test_cutoff_zero_means_since_the_last_encounter() -> None:
    cutoffs = SectionCutoffs(labs=0, imaging=None, consults=None, hospital_stays=0, documents=None)
    text = " ".join(pages_text(render_sheet(context(cutoffs=cutoffs))))
    assert "Recent labs (since last visit 2021-03-01)" in text
    assert "Hemoglobin A1c 7.2 % (H) 2021-05-01" in text
    assert "(x2)" not in text  # the November A1c is before the last visit
    assert "Creatinine" not in text  # 2021-02-01, before the last visit
    assert "No hospital stays on record (since last visit 2021-03-01)." in text  # one line
    assert "Community-acquired pneumonia" not in text  # discharged before the last visit
    for hidden in ("Imaging", "Specialist consults", "Recent documents", "Screening mammogram"):
        assert hidden not in text


def test_missing_data_is_warned_about() -> None:
    bare = {"resourceType": "Patient", "id": "p2", "name": [{"text": "Pat Example"}]}
    ctx = context(patient=bare, resources=[], record_warnings=[], results=[])
    text = " ".join(pages_text(render_sheet(ctx)))
    assert "Pat Example" in text
    assert "Birth date missing" in text
    assert "Sex missing" in text
    assert "No MRN on record" in text
    assert "No screenings evaluated." in text
    # Empty sections collapse into one line instead of a heading each.
    assert (
        "No active problems, medications, labs, imaging, consults or hospital stays on record "
        "in their windows." in text
    )
    assert "Recent labs (last 12 months)" not in text


def test_long_content_flows_over_pages_with_numbering() -> None:
    many = [lab(f"x{i}", f"Lab panel item {i:03d}", "2021-06-01", i, "U/L") for i in range(150)]
    pdf = render_sheet(context(resources=many, max_rows=1000))
    pages = pages_text(pdf)
    assert len(pages) >= 3
    text = " ".join(pages)
    for i in range(150):
        assert f"Lab panel item {i:03d}" in text
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    capped = " ".join(pages_text(render_sheet(context(resources=many, max_rows=25))))
    assert "and 125 more not shown" in capped


def test_rendering_is_deterministic() -> None:
    assert render_sheet(context()) == render_sheet(context())


def test_day_pdf_combines_sheets(golden: tuple[bytes, list[str]]) -> None:
    pdf, pages = golden
    other = context(patient=patient(name=[{"family": "Okafor", "given": ["Ada"]}], id="p2"))
    day = render_day([render_sheet(other), pdf, pdf], huddle=False)
    combined = pages_text(day)
    other_pages = len(pages_text(render_sheet(other)))
    assert len(combined) == 2 * len(pages) + other_pages
    # Same provider and time: sorted by name, so Okafor comes after both Nguyễn sheets.
    assert "Okafor, Ada" in combined[2 * len(pages)]
    from_contexts = render_day([context(), other])
    listed = pages_text(from_contexts)
    assert len(listed) == 1 + len(pages) + other_pages  # the huddle list first
    assert "Huddle list: Dr. Alice Smith (2 patients)" in listed[0]
    empty = pages_text(render_day([]))
    assert len(empty) == 1 and "No prep sheets for this day." in empty[0]


def test_plain_text_rendering() -> None:
    text = render_sheet_text(context())
    assert text.startswith("PRE-VISIT PREP SHEET - Main Street Family Medicine\n")
    assert CONFIDENTIAL in text
    assert "Patient: Nguyễn, Thị Minh" in text
    assert "MRN: MRN-00042" in text
    for status in Status:
        assert status.label in text
    assert "  [Overdue] Breast cancer screening\n" in text
    assert "  - Hemoglobin A1c | 7.2 % (H) | 2021-05-01 (x2)\n" in text
    assert "LDL cholesterol" not in text
    assert "    [ ] Influenza vaccine (due): No flu vaccine this season\n" in text
    assert "Data fetched Tue 29 Jun 2021, 12:05 from Epic Sandbox" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "Prepared by" not in text  # a written note has its author; no signature lines


def test_one_line_for_an_exclusion_that_removes_several_screenings() -> None:
    from healthprep_desktop.screening.sheet_data import build_content

    reason = "excluded: palliative care (Condition, 2021-02-01)"
    na = [
        ScreeningResult(sid, name, Status.NOT_APPLICABLE, "n/a", reason=reason)
        for sid, name in (("b", "Breast cancer screening"), ("c", "Colorectal cancer screening"))
    ]
    other = ScreeningResult(
        "aaa", "AAA screening", Status.NOT_APPLICABLE, "n/a", reason="male only"
    )
    content = build_content(context(results=[*na, other]))
    assert content.not_applicable == (
        (
            "Palliative care on record (Condition, 2021-02-01)",
            "routine screenings not applicable: Breast cancer screening, "
            "Colorectal cancer screening",
        ),
        ("AAA screening", "male only"),
    )
