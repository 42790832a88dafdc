"""CMS130 (colorectal cancer screening) at the edges the case files leave open.

Each test answers as CMS130FHIRColorectalCancerScreening 0.4.000 does, read definition by
definition; each kills mutants that survived a mutmut round (docs/measures/README.md).
"""

from __future__ import annotations

import pytest

from tests.screening.measures.builders import Case, cc
from tests.screening.measures.edges import evaluated, membership, ref
from tests.screening.measures.make.cms130 import (
    COLECTOMY,
    COLONOSCOPY,
    CT_COLO,
    FOBT,
    NEGATIVE,
    NEOPLASM,
    SDNA,
    base,
)

CMS = "CMS130"


def _age(years: int) -> dict[str, object]:
    return {"value": years, "unit": "a", "code": "a"}


# ---- Denominator Exclusions: ages as event times (born 1970-05-05) ----------------------------


@pytest.mark.parametrize(("age", "excluded"), [(56, True), (57, False)])
def test_colon_cancer_onset_as_an_age(age: int, excluded: bool) -> None:
    # onsetAge 56 starts 2026-05-05 (on or before the end of the period); 57 starts in 2027.
    case = base("p")
    case.condition(NEOPLASM, None, onsetAge=_age(age))
    assert membership(CMS, case).denominator_exclusion is excluded


@pytest.mark.parametrize(("age", "excluded"), [(55, True), (56, False)])
def test_colectomy_performed_as_an_age(age: int, excluded: bool) -> None:
    # performedAge 55 is [2025-05-05, 2026-05-04]: it ends on or before the end of the period;
    # performedAge 56 ends in 2027 ("ends on or before day of end of MP").
    case = base("p")
    case.add("Procedure", status="completed", code=cc(*COLECTOMY), performedAge=_age(age))
    assert membership(CMS, case).denominator_exclusion is excluded


def test_a_colectomy_without_a_performed_time_does_not_exclude() -> None:
    # performed.toInterval() is null, so "ends on or before" is null: not excluded.
    case = base("p")
    case.add("Procedure", status="completed", code=cc(*COLECTOMY))
    assert membership(CMS, case).denominator_exclusion is False


# ---- Numerator ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "met"), [(45, False), (46, True), (55, True), (56, False)])
def test_colonoscopy_performed_as_an_age(age: int, met: bool) -> None:
    # Ends during day of [2017-01-01, 2026-12-31]; performedAge N ends on 1971+N-05-04, so
    # 45 ends in 2016 (before the nine years), 46 in 2017, 55 in 2026 and 56 in 2027.
    case = base("p")
    case.add("Procedure", status="completed", code=cc(*COLONOSCOPY), performedAge=_age(age))
    assert membership(CMS, case).numerator is met


@pytest.mark.parametrize("code", [FOBT, SDNA], ids=["fobt", "sdna-fit"])
def test_a_lab_result_without_a_category_counts_in_the_2025_edition(code: tuple[str, str]) -> None:
    # QI-Core 6 isLaboratoryTestPerformed checks the status only, not the laboratory category.
    case = base("p")
    case.observation(code, "2026-06-01T09:00:00Z", **NEGATIVE)
    assert membership(CMS, case).numerator is True


def test_ct_colonography_needs_the_imaging_category_in_the_2025_edition() -> None:
    case = base("p")
    case.observation(CT_COLO, "2026-06-01T09:00:00Z")
    assert membership(CMS, case).numerator is False
    imaging = base("q")
    imaging.observation(CT_COLO, "2026-06-01T09:00:00Z", category="imaging")
    assert membership(CMS, imaging).numerator is True


# ---- Evidence -------------------------------------------------------------------------------


def test_the_report_lists_the_deciding_resources() -> None:
    case: Case = base("p")
    fobt = case.observation(FOBT, "2026-06-01T09:00:00Z", category="laboratory", **NEGATIVE)
    refs = evaluated(CMS, case)
    assert refs == [ref(case.resources[0]), ref(fobt)]


# ---- The end of the period at sub-millisecond precision -----------------------------------------
# CQL DateTimes hold milliseconds: the engine truncates 23:59:59.9995 to 23:59:59.999, the last
# millisecond of the period. Each "day of" comparison must therefore keep it inside; compared at
# full precision the microseconds would push it past the end.

LAST = "2026-12-31T23:59:59.9995Z"


def test_cancer_and_colectomy_on_the_last_instant_exclude() -> None:
    case = base("p")
    case.condition(NEOPLASM, LAST)
    assert membership(CMS, case).denominator_exclusion is True
    case = base("q")
    case.procedure(COLECTOMY, LAST)
    assert membership(CMS, case).denominator_exclusion is True


@pytest.mark.parametrize("kind", ["fobt", "sdna-fit", "colonoscopy", "ct-colonography"])
def test_screening_on_the_last_instant_is_met(kind: str) -> None:
    case = base("p")
    if kind == "fobt":
        case.observation(FOBT, LAST, **NEGATIVE)
    elif kind == "sdna-fit":
        case.observation(SDNA, LAST, **NEGATIVE)
    elif kind == "colonoscopy":
        case.procedure(COLONOSCOPY, LAST)
    else:
        case.observation(CT_COLO, LAST, category="imaging")
    assert membership(CMS, case).numerator is True
