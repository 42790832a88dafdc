"""The Panel view's two plots, painted with QPainter (QtCharts is not shipped: the app installs
PySide6-Essentials only, a size decision in pyproject.toml).

- ``StatusChart``: one stacked horizontal bar per screening, its patients split by status, in
  the colours the sheet and the schedule use (``theme.status_color``). A colour never carries
  the meaning alone: a segment wide enough says "Due 12" in text, a legend names every colour,
  and each segment has a tooltip.
- ``RateChart``: per measure, this year's performance rate over last year's (paired bars, last
  year hatched so the pair reads in greyscale too), each bar labelled with its rate.

Each bar is also a transparent child widget over its painted rectangle, with a tooltip and an
accessible name and description: screen readers see one object per bar (a custom-painted widget
is otherwise a single opaque image to them). ``bars()`` returns what was drawn, for the tests
and the table view beside each chart holds the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from healthprep_desktop.screening.model import Status
from healthprep_desktop.ui import theme

MARGIN = 8
LABEL_WIDTH_MAX = 220  # screening and measure names longer than this are elided
BAR_GAP = 6


@dataclass(frozen=True, slots=True)
class StatusBar:
    """One screening's patients by status (statuses with no patient left out)."""

    screening_id: str
    label: str
    counts: tuple[tuple[Status, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _s, n in self.counts)


@dataclass(frozen=True, slots=True)
class RatePair:
    """One measure group's performance rate (0..1, None: no denominator) in two years."""

    key: str  # "CMS125" or "CMS125 group-2"
    label: str
    rate: float | None
    previous: float | None


@dataclass(frozen=True, slots=True)
class DrawnBar:
    """A painted bar: where it is, what it stands for, and the sentence said about it."""

    rect: QRectF
    row: str  # screening id or measure key
    series: str  # the status value, or "this year" / "previous year"
    value: float  # patients, or a rate in percent
    colour: QColor
    name: str  # short: "Colorectal cancer screening: Overdue"
    description: str  # the sentence: counts and share, or the rate


def text_colour_on(fill: QColor) -> QColor:
    """Black or white, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = fill.redF(), fill.greenF(), fill.blueF()
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor(Qt.GlobalColor.black) if luminance > 0.5 else QColor(Qt.GlobalColor.white)


def percent(rate: float | None) -> str:
    return "no data" if rate is None else f"{rate * 100:.1f} %"


class _BarSpot(QWidget):
    """A transparent stand-in over one painted bar, for tooltips and assistive technology."""

    def __init__(self, parent: _BarChart, bar: DrawnBar) -> None:
        super().__init__(parent)
        self.chart = parent
        self.bar = bar
        self.setObjectName("chartBar")
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        if parent.clickable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.show_bar(bar)
        self.show()

    def show_bar(self, bar: DrawnBar) -> None:
        self.bar = bar
        self.setToolTip(bar.description)
        self.setAccessibleName(bar.name)
        self.setAccessibleDescription(bar.description)
        self.setGeometry(bar.rect.toAlignedRect())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.chart.clickable:
            self.chart.bar_activated.emit(self.bar)
            event.accept()
            return
        super().mousePressEvent(event)


class _BarChart(QWidget):
    """Rows of bars under a wrapped legend; subclasses lay out one row's bars."""

    bar_activated = Signal(object)  # the DrawnBar clicked (charts that are ``clickable``)
    clickable = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(280)
        self._bars: list[DrawnBar] = []
        self._spots: list[_BarSpot] = []
        self.empty_text = "Nothing to show yet."

    # Subclass hooks -------------------------------------------------------------------------

    def legend(self) -> list[tuple[str, QColor, Qt.BrushStyle]]:
        raise NotImplementedError

    def rows(self) -> list[tuple[str, str]]:
        """(row key, label) in drawing order."""
        raise NotImplementedError

    def row_height(self) -> int:
        raise NotImplementedError

    def layout_row(self, index: int, key: str, area: QRectF) -> list[DrawnBar]:
        raise NotImplementedError

    def axis_ticks(self) -> tuple[float, ...]:
        """Where to draw scale lines (fractions of the bar area's width) under the rows."""
        return ()

    # Geometry ---------------------------------------------------------------------------------

    def bars(self) -> list[DrawnBar]:
        return list(self._bars)

    def _label_width(self) -> int:
        fm = QFontMetrics(self.font())
        widest = max((fm.horizontalAdvance(label) for _k, label in self.rows()), default=0)
        return min(widest + 4, LABEL_WIDTH_MAX) + MARGIN  # + 4: rounding in the text width

    def _legend_lines(self, width: int) -> list[list[tuple[str, QColor, Qt.BrushStyle, int]]]:
        fm = QFontMetrics(self.font())
        swatch = fm.height()
        lines: list[list[tuple[str, QColor, Qt.BrushStyle, int]]] = [[]]
        used = MARGIN
        for text, colour, style in self.legend():
            need = swatch + 4 + fm.horizontalAdvance(text) + 14
            if lines[-1] and used + need > width - MARGIN:
                lines.append([])
                used = MARGIN
            lines[-1].append((text, colour, style, used))
            used += need
        return lines

    def _legend_height(self, width: int) -> int:
        if not self.legend():
            return 0
        return len(self._legend_lines(width)) * (QFontMetrics(self.font()).height() + 4) + 6

    def _axis_height(self) -> int:
        return QFontMetrics(self.font()).height() + 4 if self.axis_ticks() and self.rows() else 0

    def heightForWidth(self, width: int) -> int:
        rows = len(self.rows()) * self.row_height()
        return self._legend_height(width) + rows + self._axis_height() + 2 * MARGIN

    def hasHeightForWidth(self) -> bool:
        return True

    def sizeHint(self) -> QSize:
        return QSize(520, max(120, self.heightForWidth(520)))

    def minimumSizeHint(self) -> QSize:
        # Never shorter than its rows: inside a resizable scroll area, the area scrolls
        # instead of squeezing rows out of sight.
        return QSize(280, max(80, self.heightForWidth(max(self.width(), 280))))

    def relayout(self) -> None:
        """Compute every bar's rectangle for the current size, and the spots over them."""
        top = MARGIN + self._legend_height(self.width())
        left = MARGIN + self._label_width()
        right = self.width() - MARGIN
        bars: list[DrawnBar] = []
        for i, (key, _label) in enumerate(self.rows()):
            y = top + i * self.row_height()
            area = QRectF(left, y, max(10.0, right - left), self.row_height() - BAR_GAP)
            bars.extend(self.layout_row(i, key, area))
        self._bars = bars
        # Spots are reused (a resize relayouts often); surplus ones are deleted now, so the
        # accessibility tree never lists a bar that is gone.
        while len(self._spots) > len(bars):
            spot = self._spots.pop()
            spot.setParent(None)
            spot.deleteLater()
        for i, bar in enumerate(bars):
            if i < len(self._spots):
                self._spots[i].show_bar(bar)
            else:
                self._spots.append(_BarSpot(self, bar))
        self.updateGeometry()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout()

    # Painting ---------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        if not self.rows():
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        self._paint_legend(painter, fm, text)
        top = MARGIN + self._legend_height(self.width())
        for i, (_key, label) in enumerate(self.rows()):
            y = top + i * self.row_height()
            box = QRectF(MARGIN, y, self._label_width() - MARGIN, self.row_height() - BAR_GAP)
            painter.setPen(text)
            elided = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(box.width()))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignVCenter), elided)
        self._paint_axis(painter, fm, top)
        for bar in self._bars:
            self.paint_bar(painter, fm, bar)
        painter.end()

    def _paint_axis(self, painter: QPainter, fm: QFontMetrics, top: int) -> None:
        ticks = self.axis_ticks()
        if not ticks:
            return
        left = MARGIN + self._label_width()
        width = max(10, self.width() - MARGIN - left)
        bottom = top + len(self.rows()) * self.row_height()
        grid = self.palette().color(QPalette.ColorRole.Mid)
        for tick in ticks:
            x = left + width * tick
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(x, top), QPointF(x, bottom))
            text = f"{tick * 100:.0f} %"
            shift = fm.horizontalAdvance(text) * (tick if tick < 1 else 1)
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            painter.drawText(QPointF(x - shift, bottom + fm.ascent() + 2), text)

    def _paint_legend(self, painter: QPainter, fm: QFontMetrics, text: QColor) -> None:
        swatch = fm.height()
        for n, line in enumerate(self._legend_lines(self.width())):
            y = MARGIN + n * (swatch + 4)
            for label, colour, style, x in line:
                self.fill(painter, QRectF(x, y, swatch, swatch), colour, style)
                painter.setPen(QPen(text, 1))
                painter.drawRect(QRectF(x, y, swatch, swatch))
                painter.drawText(QPointF(x + swatch + 4, y + fm.ascent()), label)

    def paint_bar(self, painter: QPainter, fm: QFontMetrics, bar: DrawnBar) -> None:
        raise NotImplementedError

    # A hatch over the colour (status chart), or hatch lines of the colour alone (last year).
    solid_under_hatch = False

    def fill(self, painter: QPainter, rect: QRectF, colour: QColor, style: Qt.BrushStyle) -> None:
        if style == Qt.BrushStyle.SolidPattern or not self.solid_under_hatch:
            painter.fillRect(rect, QBrush(colour, style))
            return
        painter.fillRect(rect, colour)
        painter.fillRect(rect, QBrush(self.palette().color(QPalette.ColorRole.Window), style))


class StatusChart(_BarChart):
    """Status distribution per screening: each bar is 100 % of the screening's patients. A
    click on a segment lists those patients (``bar_activated``)."""

    clickable = True
    solid_under_hatch = True
    # Statuses the theme gives the same grey as another: hatched, so they differ without text.
    HATCHED: ClassVar[dict[Status, Qt.BrushStyle]] = {
        Status.INSUFFICIENT_DATA: Qt.BrushStyle.BDiagPattern
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusChart")
        self.setAccessibleName("Patients by status, per screening")
        self.empty_text = "No panel results yet."
        self._data: list[StatusBar] = []
        self.order: tuple[Status, ...] = ()

    def set_data(self, bars: list[StatusBar], order: tuple[Status, ...] = ()) -> None:
        """``order``: the statuses in the order each bar stacks them (the legend's order)."""
        self._data = [b for b in bars if b.total > 0]
        self.order = order
        self.relayout()

    def legend(self) -> list[tuple[str, QColor, Qt.BrushStyle]]:
        # In the order the bars stack them (the caller's order), each status once.
        seen = {status for bar in self._data for status, n in bar.counts if n}
        order = [s for s in self.order if s in seen] + sorted(seen - set(self.order))
        return [(s.label, theme.status_color(s), self._style(s)) for s in order]

    def _style(self, status: Status) -> Qt.BrushStyle:
        return self.HATCHED.get(status, Qt.BrushStyle.SolidPattern)

    def rows(self) -> list[tuple[str, str]]:
        return [(b.screening_id, b.label) for b in self._data]

    def row_height(self) -> int:
        return QFontMetrics(self.font()).height() + 12

    def layout_row(self, index: int, key: str, area: QRectF) -> list[DrawnBar]:
        data = self._data[index]
        total = data.total
        x = area.left()
        drawn: list[DrawnBar] = []
        for status, count in data.counts:
            if count <= 0:
                continue
            width = area.width() * count / total
            share = 100 * count / total
            drawn.append(
                DrawnBar(
                    rect=QRectF(x, area.top(), width, area.height()),
                    row=key,
                    series=status.value,
                    value=float(count),
                    colour=theme.status_color(status),
                    name=f"{data.label}: {status.label}",
                    description=(
                        f"{data.label}: {status.label}, {count} of {total} patients ({share:.0f} %)"
                    ),
                )
            )
            x += width
        return drawn

    def paint_bar(self, painter: QPainter, fm: QFontMetrics, bar: DrawnBar) -> None:
        self.fill(painter, bar.rect, bar.colour, self._style(Status(bar.series)))
        # A thin separator in the window colour, so neighbouring segments of similar hue
        # (Due and Overdue) stay apart in greyscale.
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Window), 1))
        painter.drawLine(bar.rect.topRight(), bar.rect.bottomRight())
        label = Status(bar.series).label
        count = str(int(bar.value))
        room = bar.rect.width() - 6
        text = f"{label} {count}"
        if fm.horizontalAdvance(text) > room:
            text = count if fm.horizontalAdvance(count) <= room else ""
        if text:
            painter.setPen(text_colour_on(bar.colour))
            painter.drawText(bar.rect, int(Qt.AlignmentFlag.AlignCenter), text)


THIS_YEAR = "this year"
PREVIOUS_YEAR = "previous year"


class RateChart(_BarChart):
    """Performance rate per measure, this year's bar over last year's, on a 0-100 % scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rateChart")
        self.setAccessibleName("Performance rate per measure, this year and the year before")
        self.empty_text = "No measure results for this year."
        self._data: list[RatePair] = []
        self.year = ""
        self.previous_year = ""

    def set_data(self, pairs: list[RatePair], year: str, previous_year: str) -> None:
        self._data = list(pairs)
        self.year, self.previous_year = year, previous_year
        self.relayout()

    def _colours(self) -> tuple[QColor, QColor]:
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        previous = self.palette().color(QPalette.ColorRole.WindowText)
        return highlight, previous

    def legend(self) -> list[tuple[str, QColor, Qt.BrushStyle]]:
        now, before = self._colours()
        return [
            (self.year or THIS_YEAR, now, Qt.BrushStyle.SolidPattern),
            (self.previous_year or PREVIOUS_YEAR, before, Qt.BrushStyle.BDiagPattern),
        ]

    def rows(self) -> list[tuple[str, str]]:
        return [(p.key, p.label) for p in self._data]

    def axis_ticks(self) -> tuple[float, ...]:
        return (0.0, 0.25, 0.5, 0.75, 1.0)

    def row_height(self) -> int:
        return 2 * (QFontMetrics(self.font()).height() + 4) + BAR_GAP + 4

    def layout_row(self, index: int, key: str, area: QRectF) -> list[DrawnBar]:
        pair = self._data[index]
        now, before = self._colours()
        half = (area.height() - 2) / 2
        drawn: list[DrawnBar] = []
        for n, (series, year, rate, colour) in enumerate(
            (
                (THIS_YEAR, self.year, pair.rate, now),
                (PREVIOUS_YEAR, self.previous_year, pair.previous, before),
            )
        ):
            if rate is None:
                continue
            width = max(1.0, area.width() * min(max(rate, 0.0), 1.0))
            drawn.append(
                DrawnBar(
                    rect=QRectF(area.left(), area.top() + n * (half + 2), width, half),
                    row=key,
                    series=series,
                    value=round(rate * 100, 1),
                    colour=colour,
                    name=f"{pair.label}: {year or series}",
                    description=f"{pair.label}, {year or series}: {percent(rate)}",
                )
            )
        return drawn

    def paint_bar(self, painter: QPainter, fm: QFontMetrics, bar: DrawnBar) -> None:
        previous = bar.series == PREVIOUS_YEAR
        style = Qt.BrushStyle.BDiagPattern if previous else Qt.BrushStyle.SolidPattern
        painter.fillRect(bar.rect, QBrush(bar.colour, style))
        painter.setPen(QPen(bar.colour, 1))
        painter.drawRect(bar.rect)
        text = f"{bar.value:.1f} %"
        need = fm.horizontalAdvance(text) + 8
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        if not previous and need < bar.rect.width():
            # Inside this year's solid bar, in black or white, whichever reads on it.
            painter.setPen(text_colour_on(bar.colour))
            box = bar.rect.adjusted(0, 0, -4, 0)
            align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
            painter.drawText(box, int(align), text)
            return
        box = QRectF(bar.rect.right() + 4, bar.rect.top(), need, bar.rect.height())
        if box.right() > self.width() - MARGIN:
            # No room right of a bar near 100 %: inside its end, on the window colour, so the
            # hatching never runs through the digits.
            box.moveRight(bar.rect.right() - 2)
            painter.fillRect(box, self.palette().color(QPalette.ColorRole.Window))
        painter.setPen(text_colour)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)


__all__ = [
    "DrawnBar",
    "RateChart",
    "RatePair",
    "StatusBar",
    "StatusChart",
    "percent",
    "text_colour_on",
]
