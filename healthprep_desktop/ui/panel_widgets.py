"""Small builders the Panel view is made of: labelled combos, read-only tables, a chart above
the table of its numbers, and a stored UTC time in local words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableView,
    QWidget,
)


def local_time(stamp: str) -> str:
    """A stored UTC time as this computer's local "YYYY-MM-DD HH:MM"."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def filter_combo(name: str, accessible: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setAccessibleName(accessible)
    combo.setMinimumContentsLength(10)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return combo


def labelled(text: str, field: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(field)
    return label


def table_view(name: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


def chart_page(chart: QWidget, table: QTableView) -> QSplitter:
    """The chart (scrolling when there are many bars) above the table of its numbers."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(chart)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    split = QSplitter(Qt.Orientation.Vertical)
    split.addWidget(scroll)
    split.addWidget(table)
    split.setStretchFactor(0, 3)
    split.setStretchFactor(1, 2)
    split.setChildrenCollapsible(False)
    return split


def set_items(combo: QComboBox, items: list[tuple[str, Any]], keep: Any) -> None:
    """Replace a combo's items without signals, keeping the chosen data when still offered."""
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    index = combo.findData(keep)
    combo.setCurrentIndex(index if index >= 0 else 0)
    combo.blockSignals(False)


__all__ = ["chart_page", "filter_combo", "labelled", "local_time", "set_items", "table_view"]
