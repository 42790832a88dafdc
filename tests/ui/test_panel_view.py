"""The Panel view: summary numbers against the stored panel, filters, the lazy table, the
charts' bars, opening from the main window, keys and fit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import window_fit
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.panel_charts import PREVIOUS_YEAR, THIS_YEAR
from healthprep_desktop.ui.panel_model import PATIENT, STATUS
from healthprep_desktop.ui.panel_view import PanelView
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.shortcut_audit import ambiguities
from tests.ui.conftest import run, save_sheet
from tests.ui.panel_fixtures import (
    PATIENTS,
    breast_status,
    cms130,
    colorectal_status,
    expected_rate,
    fill_panel,
)


@pytest.fixture
def view(qtbot: QtBot, session: AppSession) -> Iterator[PanelView]:
    fill_panel(session.scope)
    w = PanelView(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.overview is not None and w.rows.rowCount() > 0)
    yield w


def _all_rows(qtbot: QtBot, view: PanelView) -> None:
    """Fetch page after page, as scrolling does, until the walk ends."""

    def done() -> bool:
        view.rows.fetchMore()
        return view.rows.complete and not view.rows.loading

    qtbot.waitUntil(done)


def test_summary_numbers_match_the_stored_panel(view: PanelView) -> None:
    overview = view.overview
    assert overview is not None and overview.patients == PATIENTS
    assert overview.status_counts["colorectal"] == dict(
        Counter(colorectal_status(n).value for n in range(PATIENTS))
    )
    assert overview.status_counts["breast"] == {"complete": 15, "due_soon": 15}
    assert f"{PATIENTS} patients screened; last panel run complete" in view.summary.text()
    # The table beside the status chart: one row per screening, the same numbers.
    counts = view.status_counts
    assert counts.rowCount() == 2
    assert counts.data(counts.index(0, 0)) == "Breast cancer screening"  # by name, as the chart
    assert counts.count("colorectal", Status.OVERDUE) == 10
    assert counts.count("breast", Status.DUE_SOON) == 15
    # The measure table: 2026's rate, 2025's rate and the change, as the data says.
    assert overview.year == "2026" and overview.years == ["2026", "2025"]
    (row,) = view.measure_model.measure_rows()
    assert row.line.cms == "CMS130"
    assert row.line.populations["denominator-exclusion"] == sum(
        cms130(n, 2026)["denominator-exclusion"] for n in range(PATIENTS)
    )
    assert row.line.performance_rate == pytest.approx(expected_rate(2026))
    assert row.previous_rate == pytest.approx(expected_rate(2025))
    model = view.measure_model
    cells = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    points = abs(expected_rate(2026) - expected_rate(2025)) * 100
    assert cells[-1] == f"down {points:.1f} points"
    assert cells[-3] == f"{expected_rate(2026) * 100:.1f} %"


def test_filters_narrow_the_table(qtbot: QtBot, view: PanelView) -> None:
    _all_rows(qtbot, view)
    assert view.rows.rowCount() == 2 * PATIENTS  # one row per patient per screening
    with qtbot.waitSignal(view.rows_loaded):
        view.choose(status=Status.OVERDUE, screening_id="colorectal")
    _all_rows(qtbot, view)
    rows = view.rows.rows()
    wanted = [n for n in range(PATIENTS) if colorectal_status(n) == Status.OVERDUE]
    assert [r.patient_id for r in rows] == [f"p{n:02d}" for n in wanted]
    assert {(r.screening_id, r.status) for r in rows} == {("colorectal", Status.OVERDUE)}
    assert view.rows.data(view.rows.index(0, STATUS)) == "Overdue"
    # A measure: CMS130 2026, not met only (in the denominator, no exclusion, no numerator).
    view.choose()
    view.measure.setCurrentIndex(view.measure.findData("CMS130"))
    with qtbot.waitSignal(view.rows_loaded):
        view.not_met.setChecked(True)
    _all_rows(qtbot, view)
    not_met = {
        f"p{n:02d}"
        for n in range(PATIENTS)
        if cms130(n, 2026)["numerator"] == 0 and cms130(n, 2026)["denominator-exclusion"] == 0
    }
    assert {r.patient_id for r in view.rows.rows()} == not_met
    # Breast status does not depend on the measure: both screenings of those patients show.
    assert Counter(r.screening_id for r in view.rows.rows()) == {
        "colorectal": len(not_met),
        "breast": len(not_met),
    }
    assert all(breast_status(int(r.patient_id[1:])) == r.status for r in view.rows.rows()
               if r.screening_id == "breast")  # fmt: skip
    # "Needs action": overdue and due colorectal rows; every breast row is complete or due soon.
    view.not_met.setChecked(False)
    view.measure.setCurrentIndex(0)
    view.choose()
    with qtbot.waitSignal(view.rows_loaded):
        view.status.setCurrentIndex(view.status.findData("needs_action"))
    _all_rows(qtbot, view)
    assert Counter(r.status for r in view.rows.rows()) == {Status.DUE: 10, Status.OVERDUE: 10}
    # Nothing matches: the count says so.
    view.not_met.setChecked(False)
    with qtbot.waitSignal(view.rows_loaded):
        view.choose(status=Status.DUE_SOON, screening_id="colorectal")
    qtbot.waitUntil(lambda: view.rows.complete)
    assert view.count_label.text() == "No patient matches these filters."


def test_the_table_is_lazy_and_names_are_local(qtbot: QtBot, view: PanelView) -> None:
    view.rows.page_size = 7
    with qtbot.waitSignal(view.rows_loaded):
        view.apply_filter(again=True)
    first = view.rows.rowCount()
    assert 7 <= first < 2 * PATIENTS and view.rows.canFetchMore()
    assert "scroll down for more" in view.count_label.text()
    # Scrolling to the end asks the model for more, as a user's scrolling does.
    view.table.resize(view.table.width(), 200)
    qtbot.waitUntil(lambda: (view.table.scrollToBottom(), view.rows.rowCount() > first)[1])
    _all_rows(qtbot, view)
    assert view.rows.rowCount() == 2 * PATIENTS
    assert view.rows.data(view.rows.index(0, PATIENT)) == "Rosa Alvarez (p00)"
    assert view.rows.data(view.rows.index(2, PATIENT)) == "Omar Haddad (p01)"
    assert view.rows.data(view.rows.index(4, PATIENT)) == "p02"


def test_charts_draw_one_bar_per_number(qtbot: QtBot, view: PanelView) -> None:
    view.tabs.setCurrentIndex(1)
    chart = view.status_chart
    qtbot.waitUntil(lambda: bool(chart.bars()) and chart.isVisible())
    bars = chart.bars()
    # Colorectal: due, complete, overdue; breast: due soon, complete.
    assert Counter(b.row for b in bars) == {"colorectal": 3, "breast": 2}
    colorectal = [b for b in bars if b.row == "colorectal"]
    assert sum(b.value for b in colorectal) == PATIENTS
    # A 100 % bar: segments side by side, widths in proportion to their counts.
    widths = sum(b.rect.width() for b in colorectal)
    for bar in colorectal:
        assert bar.rect.width() == pytest.approx(widths * bar.value / PATIENTS)
    spots = chart.findChildren(type(chart.children()[0]), "chartBar")
    descriptions = {s.accessibleDescription() for s in spots}
    assert "Colorectal cancer screening: Overdue, 10 of 30 patients (33 %)" in descriptions
    assert len(spots) == len(bars) and all(s.toolTip() for s in spots)
    # A click on a segment lists those patients.
    overdue = next(s for s in spots if s.bar.series == "overdue")
    with qtbot.waitSignal(view.rows_loaded):
        qtbot.mouseClick(overdue, Qt.MouseButton.LeftButton)
    assert view.tabs.currentIndex() == 0
    assert view.current_filter().status == "overdue"
    assert view.current_filter().screening_id == "colorectal"

    view.tabs.setCurrentIndex(2)
    rates = view.rate_chart
    qtbot.waitUntil(lambda: bool(rates.bars()) and rates.isVisible())
    pair = rates.bars()
    assert [(b.row, b.series) for b in pair] == [("CMS130", THIS_YEAR), ("CMS130", PREVIOUS_YEAR)]
    assert pair[0].value == round(expected_rate(2026) * 100, 1)
    assert pair[1].value == round(expected_rate(2025) * 100, 1)
    # Bar lengths on one 0-100 % scale: last year's is longer here, as its rate is higher.
    assert pair[1].rect.width() / pair[0].rect.width() == pytest.approx(
        expected_rate(2025) / expected_rate(2026), rel=0.02
    )


def test_without_results_the_view_says_what_to_do(qtbot: QtBot, session: AppSession) -> None:
    session.scope.connections.add("EHR", "generic", "https://ehr.example.org/fhir", config={})
    w = PanelView(session)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.overview is not None)
    assert "No panel results stored" in w.summary.text()
    assert w.rows.rowCount() == 0 and not w.status_chart.bars()
    assert not w.export_bar.buttons["csv"].isEnabled()  # nothing to export yet


def test_opens_from_the_main_window_and_fits(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    fill_panel(session.scope, enabled=False)
    window = MainWindow(session, settings=window_settings)
    qtbot.addWidget(window)
    try:
        assert window.main_actions.panel.shortcut().toString() == "Ctrl+Shift+G"
        window.main_actions.panel.trigger()
        panel = next(c for c in window.child_windows() if isinstance(c, PanelView))
        qtbot.waitUntil(lambda: panel.overview is not None)
        window.main_actions.panel.trigger()  # raised, not opened twice
        assert sum(isinstance(c, PanelView) for c in window.child_windows()) == 1
        assert ambiguities(window, "main window") == []
        assert ambiguities(panel, "panel") == []
        for area in window_fit.SMALL_SCREENS:
            assert window_fit.overflow(panel, area) == [], area
        assert window_fit.overflow(panel, QRect(0, 0, 1366, 768)) == []
        # Locking hides it with every other window of patient data.
        window.lock()
        assert not panel.isVisible()
    finally:
        window.close()
        run(qtbot, window.shutdown())


def test_another_year_is_worded_from_the_same_walk(qtbot: QtBot, view: PanelView) -> None:
    walks = view._walk_generation
    view.year.setCurrentIndex(view.year.findData("2025"))
    overview = view.overview
    assert overview is not None and overview.year == "2025"
    assert view._walk_generation == walks  # no second walk of the panel
    (row,) = view.measure_model.measure_rows()
    assert row.line.performance_rate == pytest.approx(expected_rate(2025))
    assert row.previous_rate is None  # nothing stored for 2024
    model = view.measure_model
    assert model.data(model.index(0, model.columnCount() - 1)) == "—"
    view.tabs.setCurrentIndex(2)  # the chart of a hidden tab is drawn when it is shown
    assert [b.series for b in view.rate_chart.bars()] == [THIS_YEAR]
    assert view.rate_chart.year == "2025" and view.rate_chart.previous_year == "2024"


def test_a_row_opens_the_patients_newest_sheet(
    qtbot: QtBot, session: AppSession, view: PanelView
) -> None:
    from healthprep_desktop.ui.sheet_viewer import SheetViewer

    save_sheet(session.scope, "p00")
    view.table.activated.emit(view.rows.index(0, PATIENT))  # p00: has a sheet
    qtbot.waitUntil(lambda: bool(view.findChildren(SheetViewer)))
    (viewer,) = view.findChildren(SheetViewer)
    assert viewer.windowTitle().startswith("Rosa Alvarez (p00)")
    viewer.close()
    view.table.activated.emit(view.rows.index(4, PATIENT))  # p02: panel statuses only
    qtbot.waitUntil(lambda: "No sheet for this patient yet" in view.statusBar().currentMessage())


def test_measure_lines_name_groups_only_when_there_are_several() -> None:
    from healthprep_desktop.exports.summary import MeasureTotals
    from healthprep_desktop.ui.panel_data import PanelTotals, overview_of

    counts = {"initial-population": 2, "denominator": 2, "numerator": 1}
    totals = MeasureTotals()
    totals.add(
        {"2026": {"CMS122": {"Group_1": counts, "Group_2": counts}, "CMS130": {"Group_1": counts}}}
    )
    overview = overview_of(PanelTotals(1, 2, {}, {}, totals, None))
    assert [r.key for r in overview.measures] == ["CMS122 Group_1", "CMS122 Group_2", "CMS130"]
    assert all(not r.title.endswith("FHIR") and r.title for r in overview.measures)
    assert overview.measures[0].line.performance_rate == 0.5


def test_segments_are_as_wide_as_their_share(qtbot: QtBot) -> None:
    from healthprep_desktop.ui.panel_charts import StatusBar, StatusChart

    chart = StatusChart()
    qtbot.addWidget(chart)
    chart.resize(600, 200)
    counts = ((Status.OVERDUE, 5), (Status.DUE, 0), (Status.COMPLETE, 15))
    chart.set_data([StatusBar("colorectal", "Colorectal", counts)])
    overdue, complete = chart.bars()  # a status with no patient draws nothing
    assert complete.rect.width() == pytest.approx(3 * overdue.rect.width())
    assert overdue.rect.right() == pytest.approx(complete.rect.left())  # side by side
    assert complete.description == "Colorectal: Complete, 15 of 20 patients (75 %)"


def test_many_screenings_scroll_instead_of_squeezing(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QScrollArea

    from healthprep_desktop.ui.panel_charts import StatusBar, StatusChart

    chart = StatusChart()
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(chart)
    qtbot.addWidget(area)
    area.resize(500, 150)
    area.show()
    bars = [StatusBar(f"s{n}", f"Screening {n}", ((Status.DUE, 1),)) for n in range(20)]
    chart.set_data(bars)
    qtbot.waitUntil(lambda: chart.height() >= chart.heightForWidth(chart.width()))
    assert max(b.rect.bottom() for b in chart.bars()) <= chart.height()
    assert area.verticalScrollBar().maximum() > 0
