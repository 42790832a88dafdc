"""The Panel view's walks of the stored panel (``panel_data.read_totals`` and ``RowSource``)
read it in small pages and let the GUI thread have the GIL between patients (``Pacer``): the
counts and rows must be the same whatever the page boundaries (empty panel, exactly one page,
one page and one patient), and the walk must rest when its slice of work is up."""

from __future__ import annotations

from collections import Counter

import pytest

from healthprep_desktop.screening.model import Status
from healthprep_desktop.store import Store, TenantScope
from healthprep_desktop.ui import panel_data
from healthprep_desktop.ui.panel_data import PanelFilter, RowSource, overview_of, read_totals
from healthprep_desktop.ui.thread_pacing import Pacer
from tests.ui.panel_fixtures import breast_status, cms130, colorectal_status, fill_panel

PAGE = 5  # stored results per read in these tests, so a few patients cross a page boundary


@pytest.fixture
def scope(store: Store, monkeypatch: pytest.MonkeyPatch) -> TenantScope:
    monkeypatch.setattr(panel_data, "WALK_PAGE", PAGE)
    return store.tenant(store.create_tenant("Clinic").id)


@pytest.mark.parametrize("patients", [0, PAGE, PAGE + 1])
def test_totals_count_every_patient_once_across_pages(scope: TenantScope, patients: int) -> None:
    connection_id = fill_panel(scope, patients)
    paced = 0

    def pace() -> None:
        nonlocal paced
        paced += 1

    totals = read_totals(scope, connection_id, pace=pace)

    assert totals.patients == patients
    assert paced == patients  # once between every two patients (and before the first)
    expected_colorectal = Counter(colorectal_status(n).value for n in range(patients))
    expected_breast = Counter(breast_status(n).value for n in range(patients))
    if patients:
        assert totals.status_counts["colorectal"] == dict(expected_colorectal)
        assert totals.status_counts["breast"] == dict(expected_breast)
    else:
        assert totals.status_counts == {} and totals.measures.years() == []
    overview = overview_of(totals, "2026")
    for row in overview.measures:
        for code, count in row.line.populations.items():
            assert count == sum(cms130(n, 2026)[code] for n in range(patients)), code


@pytest.mark.parametrize("patients", [0, PAGE, PAGE + 1])
def test_rows_come_once_each_in_patient_order_across_pages(
    scope: TenantScope, patients: int
) -> None:
    connection_id = fill_panel(scope, patients)
    paced = 0

    def pace() -> None:
        nonlocal paced
        paced += 1

    source = RowSource(scope, connection_id, PanelFilter(screening_id="colorectal"), pace=pace)
    rows = []
    while not source.exhausted:
        rows.extend(source.next_page(limit=2))  # pages of rows smaller than the reads
    assert [r.patient_id for r in rows] == [f"p{n:02d}" for n in range(patients)]
    assert [r.status for r in rows] == [colorectal_status(n) for n in range(patients)]
    assert source.patients_read == patients
    assert paced == patients + 1  # before every read of a patient, the last finding none


def test_rows_filtered_by_status_across_pages(scope: TenantScope) -> None:
    connection_id = fill_panel(scope, 3 * PAGE + 1)
    source = RowSource(scope, connection_id, PanelFilter(status=Status.OVERDUE.value))
    rows = source.next_page(limit=1000)
    assert source.exhausted
    expected = [n for n in range(3 * PAGE + 1) if colorectal_status(n) == Status.OVERDUE]
    assert [r.patient_id for r in rows] == [f"p{n:02d}" for n in expected]


def test_pacer_rests_only_when_its_slice_is_up() -> None:
    busy = Pacer(work_s=60.0, rest_s=0.0)
    for _ in range(1000):
        busy()
    assert busy.rests == 0  # a minute's slice: never up in this loop
    eager = Pacer(work_s=0.0, rest_s=0.0)
    for _ in range(3):
        eager()
    assert eager.rests == 3  # no slice at all: rests every call
