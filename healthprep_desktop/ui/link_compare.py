"""Side by side: the clinic's record and the other source's record of a possible match.

A coordinator confirming a match needs the values, not only "birth date: same"; the clinic's side
comes from the clinic's stored chart, the other side from what the batch saw in that source
(kept in the encrypted queue). Each row also says how the matcher compared it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from healthprep_desktop.sources.model import PersonSummary

LEVEL_WORDS = {
    "exact": "same",
    "alias": "nickname or former name",
    "fuzzy": "a typo away",
    "transposed": "day and month swapped",
    "partial": "two of three parts",
    "disagree": "different",
    "missing": "missing on one side",
}
# "alias" says different things per field.
_ALIAS = {
    "family": "former or hyphenated name",
    "given": "nickname",
    "previous_address": "a former address is the other's current one",
}
# (row label, PersonSummary attribute, matcher fields the row's verdict is made of)
ROWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Name", "name", ("family", "given", "middle_initial")),
    ("Birth date", "birth_date", ("birth_date",)),
    ("Sex", "sex", ("sex",)),
    ("Address", "address", ("postal_code", "previous_address")),
    ("Phone", "phone", ("phone",)),
    ("Identifiers", "identifiers", ()),
)
_FIELD_WORDS = {
    "family": "family",
    "given": "given",
    "middle_initial": "middle",
    "postal_code": "postal code",
    "previous_address": "former address",
}


def level_text(name: str, level: str) -> str:
    """How one field compared, in words ("alias" says different things per field)."""
    if level == "alias" and name in _ALIAS:
        return _ALIAS[name]
    return LEVEL_WORDS.get(level, level)


def verdict(fields: dict[str, str], names: tuple[str, ...]) -> str:
    """ "family: same, given: a typo away" for a row built of several fields."""
    parts = []
    for name in names:
        level = fields.get(name)
        if not level or (name == "previous_address" and level == "missing"):
            continue
        text = level_text(name, level)
        parts.append(f"{_FIELD_WORDS[name]}: {text}" if len(names) > 1 else text)
    return ", ".join(parts)


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    item.setToolTip(text)
    return item


class ComparisonTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(ROWS), 3, parent)
        self.setObjectName("linkComparison")
        self.setAccessibleName("The two records side by side")
        self.setVerticalHeaderLabels([label for label, _, _ in ROWS])
        self.setHorizontalHeaderLabels(["At the clinic", "At the other source", "Compared"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.show_pair(None, None, "", {})
        # Exactly its rows: the list of matches above takes the rest of the height.
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(
            rows + self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        )

    def show_pair(
        self,
        clinic: PersonSummary | None,
        other: PersonSummary | None,
        source_name: str,
        fields: dict[str, str],
    ) -> None:
        self.setHorizontalHeaderLabels(
            ["At the clinic", f"At {source_name or 'the other source'}", "Compared"]
        )
        for row, (_label, attribute, names) in enumerate(ROWS):
            left = getattr(clinic, attribute) if clinic else ""
            right = getattr(other, attribute) if other else ""
            self.setItem(row, 0, _item(left or "—"))
            self.setItem(row, 1, _item(right or "—"))
            self.setItem(row, 2, _item(verdict(fields, names) if other else ""))

    def cell_text(self, label: str, column: int) -> str:
        row = [r[0] for r in ROWS].index(label)
        item = self.item(row, column)
        return item.text() if item else ""
