"""The outcome mix: every screening outcome exists, and each chart holds what its scenario claims.

The checks read the generated FHIR JSON with the value sets directly (not the generator's own
helpers), so a scenario whose chart lacks its evidence, or carries evidence it should not, fails.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pymupdf
import pytest

from healthprep_desktop.sandbox.clinic import SyntheticClinic, expected_status
from healthprep_desktop.sandbox.clinic.codes import VS, valueset
from healthprep_desktop.sandbox.clinic.scenarios import RULES

JSON = dict[str, Any]
REFERENCE = date(2026, 12, 1)


@pytest.fixture(scope="module")
def clinic() -> SyntheticClinic:
    return SyntheticClinic(seed=3, patients=60)


@pytest.fixture(scope="module")
def charts(clinic: SyntheticClinic) -> dict[str, list[JSON]]:
    return {pid: clinic.patient_resources(pid) for pid in clinic.patient_ids()}


# --- reading charts -------------------------------------------------------------------------------


def _codes(resource: JSON) -> list[tuple[str, str]]:
    concepts = [
        resource.get("code")
        or resource.get("vaccineCode")
        or resource.get("medicationCodeableConcept")
        or {},
        *(resource.get("type", []) if resource["resourceType"] == "Encounter" else []),
    ]
    return [(c["system"], c["code"]) for concept in concepts for c in concept.get("coding", [])]


def coded(chart: list[JSON], oid: str, *, statuses: tuple[str, ...] | None = None) -> list[JSON]:
    vs = valueset(oid)
    found = [r for r in chart if any(vs.matches(s, c) for s, c in _codes(r))]
    if statuses is not None:
        found = [r for r in found if r.get("status") in statuses]
    return found


DONE = ("final", "amended", "corrected", "completed")


def when(resource: JSON) -> date:
    for key in ("effectiveDateTime", "performedDateTime", "occurrenceDateTime", "onsetDateTime"):
        if key in resource:
            return (
                datetime.fromisoformat(resource[key]).date()
                if "T" in resource[key]
                else (date.fromisoformat(resource[key]))
            )
    period = resource.get("performedPeriod") or resource.get("period") or {}
    stamp = period.get("end") or period.get("start")
    assert stamp, f"{resource['id']} has no date"
    return datetime.fromisoformat(stamp).date()


def latest(chart: list[JSON], oid: str) -> date | None:
    dates = [when(r) for r in coded(chart, oid, statuses=DONE)]
    return max(dates) if dates else None


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def document_texts(chart: list[JSON], *, include_errors: bool = False) -> list[str]:
    binaries = {r["id"]: r for r in chart if r["resourceType"] == "Binary"}
    texts = []
    for doc in chart:
        if doc["resourceType"] != "DocumentReference":
            continue
        if doc["status"] == "entered-in-error" and not include_errors:
            continue
        attachment = doc["content"][0]["attachment"]
        encoded = attachment.get("data") or binaries[attachment["url"].split("/")[1]]["data"]
        data = base64.b64decode(encoded)
        if attachment["contentType"] == "application/pdf":
            pdf = pymupdf.open(stream=data, filetype="pdf")
            text = "".join(page.get_text() for page in pdf)
            if not text.strip():  # a scan: its title stands in for the unread image
                text = doc["description"]
        else:
            text = data.decode("utf-8")
        texts.append(f"{doc['description']}\n{text}")
    return texts


def mentions(chart: list[JSON], word: str, *, include_errors: bool = False) -> bool:
    return any(
        word.lower() in t.lower() for t in document_texts(chart, include_errors=include_errors)
    )


def dated_mention(chart: list[JSON], word: str) -> bool:
    pattern = re.compile(rf"{word}[^\n]*\d{{4}}-\d{{2}}-\d{{2}}", re.IGNORECASE)
    return any(pattern.search(t) for t in document_texts(chart))


# --- the claims a scenario makes ------------------------------------------------------------------

Check = Callable[[list[JSON]], bool]


def complete(oid: str, years: int) -> Check:
    def check(chart: list[JSON]) -> bool:
        last = latest(chart, oid)
        return last is not None and years_later(last, years) > REFERENCE + timedelta(days=30)

    return check


def due_soon(oid: str, years: int) -> Check:
    def check(chart: list[JSON]) -> bool:
        last = latest(chart, oid)
        return last is not None and REFERENCE < years_later(last, years) <= REFERENCE + timedelta(
            30
        )

    return check


def overdue(oid: str, years: int) -> Check:
    def check(chart: list[JSON]) -> bool:
        last = latest(chart, oid)
        return last is not None and years_later(last, years) < REFERENCE

    return check


def nothing(*oids: str) -> Check:
    return lambda chart: all(latest(chart, oid) is None for oid in oids)


def only_in_documents(oid: str, keyword: str) -> Check:
    return lambda chart: latest(chart, oid) is None and mentions(chart, keyword)


def only_void(oid: str) -> Check:
    def check(chart: list[JSON]) -> bool:
        return latest(chart, oid) is None and bool(
            coded(chart, oid, statuses=("entered-in-error", "not-done"))
        )

    return check


def has(oid: str) -> Check:
    return lambda chart: bool(coded(chart, oid))


COLORECTAL = (VS.COLONOSCOPY, VS.FOBT, VS.SDNA_FIT, VS.CT_COLONOGRAPHY, VS.FLEXIBLE_SIGMOIDOSCOPY)

CLAIMS: dict[tuple[str, str], Check] = {
    ("breast", "complete_mammogram"): complete(VS.MAMMOGRAPHY, 2),
    ("breast", "due_soon_mammogram"): due_soon(VS.MAMMOGRAPHY, 2),
    ("breast", "overdue_mammogram"): overdue(VS.MAMMOGRAPHY, 2),
    ("breast", "due_never"): lambda c: nothing(VS.MAMMOGRAPHY)(c) and not mentions(c, "mammogram"),
    ("breast", "complete_document_only"): only_in_documents(VS.MAMMOGRAPHY, "mammogram"),
    ("breast", "due_entered_in_error"): only_void(VS.MAMMOGRAPHY),
    ("breast", "excluded_bilateral_mastectomy"): has(VS.BILATERAL_MASTECTOMY),
    ("breast", "excluded_unilateral_left_and_right"): lambda c: (
        has(VS.UNILATERAL_MASTECTOMY_LEFT)(c) and has(VS.UNILATERAL_MASTECTOMY_RIGHT)(c)
    ),
    ("breast", "excluded_history_bilateral_mastectomy"): has(VS.HISTORY_BILATERAL_MASTECTOMY),
    ("breast", "due_unilateral_left_only"): lambda c: (
        has(VS.UNILATERAL_MASTECTOMY_LEFT)(c) and not has(VS.UNILATERAL_MASTECTOMY_RIGHT)(c)
    ),
    ("cervical", "complete_cytology"): complete(VS.PAP_TEST, 3),
    ("cervical", "due_soon_cytology"): due_soon(VS.PAP_TEST, 3),
    ("cervical", "overdue_cytology"): overdue(VS.PAP_TEST, 3),
    ("cervical", "complete_hpv"): complete(VS.HPV_TEST, 5),
    ("cervical", "due_never"): nothing(VS.PAP_TEST, VS.HPV_TEST),
    ("cervical", "complete_document_only"): only_in_documents(VS.PAP_TEST, "pap smear"),
    ("cervical", "due_cytology_without_result"): lambda c: (
        all(
            not any(k.startswith("value") for k in r)
            for r in coded(c, VS.PAP_TEST)
            if r["resourceType"] == "Observation"
        )
        and bool(coded(c, VS.PAP_TEST))
    ),
    ("cervical", "excluded_hysterectomy"): has(VS.HYSTERECTOMY_NO_CERVIX),
    ("cervical", "excluded_absence_of_cervix"): has(VS.ABSENCE_OF_CERVIX),
    ("colorectal", "complete_colonoscopy"): complete(VS.COLONOSCOPY, 10),
    ("colorectal", "due_soon_colonoscopy"): due_soon(VS.COLONOSCOPY, 10),
    ("colorectal", "overdue_colonoscopy"): overdue(VS.COLONOSCOPY, 10),
    ("colorectal", "complete_fit"): complete(VS.FOBT, 1),
    ("colorectal", "overdue_fit"): overdue(VS.FOBT, 1),
    ("colorectal", "complete_sdna"): complete(VS.SDNA_FIT, 3),
    ("colorectal", "complete_ct_colonography"): complete(VS.CT_COLONOGRAPHY, 5),
    ("colorectal", "complete_sigmoidoscopy"): complete(VS.FLEXIBLE_SIGMOIDOSCOPY, 5),
    ("colorectal", "complete_colonoscopy_period_end_only"): lambda c: (
        complete(VS.COLONOSCOPY, 10)(c)
        and all(set(r["performedPeriod"]) == {"end"} for r in coded(c, VS.COLONOSCOPY))
    ),
    ("colorectal", "due_never"): lambda c: (
        nothing(*COLORECTAL)(c) and not mentions(c, "colonoscopy")
    ),
    ("colorectal", "complete_document_only"): lambda c: (
        nothing(*COLORECTAL)(c) and dated_mention(c, "colonoscopy performed")
    ),
    ("colorectal", "due_not_done"): only_void(VS.COLONOSCOPY),
    ("colorectal", "due_document_entered_in_error"): lambda c: (
        nothing(*COLORECTAL)(c)
        and not mentions(c, "colonoscopy")
        and mentions(c, "colonoscopy", include_errors=True)
    ),
    ("colorectal", "due_referral_only"): lambda c: (
        nothing(*COLORECTAL)(c) and mentions(c, "referred to gastroenterology")
    ),
    ("colorectal", "excluded_total_colectomy"): has(VS.TOTAL_COLECTOMY),
    ("colorectal", "excluded_colorectal_cancer"): has(VS.COLON_CANCER),
    ("hba1c", "complete_hba1c"): lambda c: (
        (latest(c, VS.HBA1C) or date.min) >= REFERENCE - timedelta(180)
    ),
    ("hba1c", "overdue_hba1c"): overdue(VS.HBA1C, 1),
    ("hba1c", "due_result_missing"): lambda c: (
        all("valueQuantity" not in r and "dataAbsentReason" in r for r in coded(c, VS.HBA1C))
        and bool(coded(c, VS.HBA1C))
    ),
    ("hba1c", "not_eligible_prediabetes"): lambda c: (
        not coded(c, VS.DIABETES)
        and all(
            r["valueQuantity"]["value"] < 6.5 for r in coded(c, VS.HBA1C) if "valueQuantity" in r
        )
    ),
    ("kidney", "not_eligible_prediabetes"): nothing(VS.EGFR, VS.UACR),
    ("hba1c", "not_eligible_refuted"): lambda c: (
        all(
            r["verificationStatus"]["coding"][0]["code"] in ("refuted", "entered-in-error")
            for r in coded(c, VS.DIABETES)
        )
        and bool(coded(c, VS.DIABETES))
    ),
    ("eye_exam", "complete_retinal_exam"): complete(VS.RETINAL_EYE_EXAM, 1),
    ("eye_exam", "complete_document_only"): only_in_documents(VS.RETINAL_EYE_EXAM, "retinal exam"),
    ("kidney", "complete_egfr_and_uacr"): lambda c: bool(latest(c, VS.EGFR) and latest(c, VS.UACR)),
    ("kidney", "due_uacr_missing"): lambda c: bool(latest(c, VS.EGFR)) and not latest(c, VS.UACR),
    ("osteoporosis", "complete_dxa"): complete(VS.DXA, 2),
    ("osteoporosis", "due_never"): nothing(VS.DXA),
    ("influenza", "complete_this_season"): lambda c: (
        (latest(c, VS.INFLUENZA_VACCINE) or date.min) >= date(2026, 8, 1)
    ),
    ("influenza", "due_declined"): only_void(VS.INFLUENZA_VACCINE),
    ("pneumococcal", "complete_pcv20"): has(VS.PNEUMOCOCCAL_CONJUGATE_VACCINE),
    ("hiv", "complete_hiv_test"): lambda c: (
        bool(coded(c, VS.HIV_LAB_TESTS))
        and all(_age_on(c, when(r)) >= 15 for r in coded(c, VS.HIV_LAB_TESTS))
    ),  # CMS349 counts tests from the 15th birthday
    ("statin", "complete_statin"): lambda c: any(r["status"] == "active" for r in statins(c)),
    ("statin", "due_no_statin"): lambda c: (
        not statins(c) and (has(VS.ATHEROSCLEROSIS)(c) or has(VS.DIABETES)(c))
    ),
    ("blood_pressure", "not_eligible_hypertension_over_85"): lambda c: (
        has(VS.ESSENTIAL_HYPERTENSION)(c) and (_age(c) or 0) >= 86
    ),
    ("hiv", "excluded_hiv_diagnosis"): has(VS.HIV),
}


def statins(chart: list[JSON]) -> list[JSON]:
    return [
        r
        for oid in (VS.MODERATE_INTENSITY_STATIN, VS.HIGH_INTENSITY_STATIN)
        for r in coded(chart, oid)
        if r["resourceType"] == "MedicationRequest"
    ]


def _age_on(chart: list[JSON], day: date) -> int:
    born = date.fromisoformat(chart[0]["birthDate"])
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_scenario_names_map_to_engine_statuses() -> None:
    assert expected_status("complete_colonoscopy") == "complete"
    assert expected_status("due_soon_mammogram") == "due_soon"
    assert expected_status("due_never") == "due"
    assert expected_status("overdue_fit") == "overdue"
    assert expected_status("excluded_hospice") == "not_applicable"
    assert expected_status("not_eligible_prediabetes") == "not_applicable"
    assert expected_status("insufficient_no_birth_date") == "insufficient_data"
    with pytest.raises(ValueError):
        expected_status("dueling")
    for rule in RULES:
        for scenario in rule.distinct + rule.filler:
            expected_status(scenario)


CORE = ("breast", "cervical", "colorectal", "hba1c", "eye_exam", "kidney", "blood_pressure",
        "depression", "tobacco", "influenza", "tdap", "zoster", "hiv")  # fmt: skip


@pytest.mark.parametrize("key", CORE)
def test_a_small_clinic_holds_every_outcome_of_each_core_screening(
    clinic: SyntheticClinic, key: str
) -> None:
    rule = next(r for r in RULES if r.key == key)
    dealt = {profile.get(key) for profile in clinic.profiles().values()}
    assert set(rule.distinct) <= dealt
    statuses = {expected_status(s) for s in dealt if s}
    assert {"complete", "due"} <= statuses


def test_whole_chart_exclusions_and_missing_data_are_present(clinic: SyntheticClinic) -> None:
    scenarios = {s for profile in clinic.profiles().values() for s in profile.values()}
    assert {
        "excluded_hospice",
        "excluded_palliative_care",
        "excluded_frailty_advanced_illness",
        "insufficient_no_birth_date",
        "not_eligible_prediabetes",
    } <= scenarios


@pytest.mark.parametrize(("key", "scenario"), sorted(CLAIMS))
def test_each_chart_holds_the_evidence_its_scenario_claims(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], key: str, scenario: str
) -> None:
    built = [
        pid for pid, chart in charts.items() if clinic.expected_profile(pid).get(key) == scenario
    ]
    if not built:
        big = SyntheticClinic(seed=3, patients=300)
        built = [pid for pid in big.patient_ids() if big.expected_profile(pid).get(key) == scenario]
        charts = {pid: big.patient_resources(pid) for pid in built[:3]}
    assert built, f"no patient built for {key}={scenario}"
    for pid in built[:3]:
        assert CLAIMS[(key, scenario)](charts[pid]), f"{pid}: {key}={scenario}"


def _age(chart: list[JSON]) -> int | None:
    patient = chart[0]
    if "birthDate" not in patient:
        return None
    born = date.fromisoformat(patient["birthDate"])
    return REFERENCE.year - born.year - ((REFERENCE.month, REFERENCE.day) < (born.month, born.day))


def test_whole_chart_archetypes_carry_their_exclusion_evidence(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]]
) -> None:
    seen = set()
    for pid, chart in charts.items():
        archetype = clinic.traits(pid).get("archetype")
        if archetype == "hospice":
            assert coded(chart, VS.HOSPICE_ENCOUNTER, statuses=("finished",))
        elif archetype == "palliative":
            assert coded(chart, VS.PALLIATIVE_CARE_ENCOUNTER) and coded(
                chart, VS.PALLIATIVE_CARE_DIAGNOSIS
            )
        elif archetype == "frailty_advanced_illness":
            assert (_age(chart) or 0) >= 66
            assert coded(chart, VS.FRAILTY_DIAGNOSIS) and coded(chart, VS.ADVANCED_ILLNESS)
        else:
            continue
        seen.add(archetype)
    assert seen == {"hospice", "palliative", "frailty_advanced_illness"}


def test_screening_evidence_never_appears_where_a_scenario_says_none(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]]
) -> None:
    """Baseline history must not leak screening evidence into 'due_never' charts."""
    never = {
        "breast": (VS.MAMMOGRAPHY,),
        "cervical": (VS.PAP_TEST, VS.HPV_TEST),
        "colorectal": COLORECTAL,
        "hba1c": (VS.HBA1C,),
        "eye_exam": (VS.RETINAL_EYE_EXAM,),
        "kidney": (VS.EGFR, VS.UACR),
        "tobacco": (VS.TOBACCO_USE_SCREENING,),
        "influenza": (VS.INFLUENZA_VACCINE,),
    }
    checked = 0
    for pid, chart in charts.items():
        for key, oids in never.items():
            if clinic.expected_profile(pid).get(key) == "due_never":
                assert nothing(*oids)(chart), f"{pid}: {key}"
                checked += 1
    assert checked >= len(never)


def test_cardiovascular_disease_gets_statin_scenarios_not_lipid_screening() -> None:
    """CMS347: with ASCVD (or diabetes at 40-75) the engine asks for statin therapy, so the
    profile must too."""
    big = SyntheticClinic(seed=3, patients=300)
    with_ascvd = 0
    for pid in big.patient_ids():
        chart = big.patient_resources(pid)
        profile = big.expected_profile(pid)
        if has(VS.ATHEROSCLEROSIS)(chart):
            with_ascvd += 1
            assert "lipids" not in profile, pid
        elif "statin" in profile and not has(VS.DIABETES)(chart):
            raise AssertionError(f"{pid}: statin scenario without cardiovascular disease")
    assert with_ascvd >= 3
    dealt = {p.get("statin") for p in big.profiles().values()}
    assert {"complete_statin", "due_no_statin"} <= dealt
