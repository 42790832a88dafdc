"""The screening details beside a sheet: status, last done, next due, evidence, explanations.

Read from the results JSON stored with the sheet (``ScreeningResult.to_json()`` items), so it
works offline. Document evidence items can be dismissed as wrong matches (and the dismissal
undone); any screening can be marked done elsewhere, declined or postponed. The widget only asks:
the viewer records the correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.screening.model import EvidenceKind, Status
from healthprep_desktop.ui import theme

EVIDENCE_ROLE = Qt.ItemDataRole.UserRole + 1
SCREENING_ROLE = Qt.ItemDataRole.UserRole + 2
DISMISSED_TEXT = "dismissed: re-screen needed"


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    screening_id: str
    reference: str
    kind: str
    description: str
    snippet: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningRef:
    screening_id: str
    name: str


def result_items(results: Any) -> list[dict[str, Any]]:
    items = results.get("results") if isinstance(results, dict) else results
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _status_label(value: str) -> str:
    try:
        return Status(value).label
    except ValueError:
        return value


def _evidence_text(e: dict[str, Any]) -> str:
    parts = [str(e.get("description") or e.get("reference") or "evidence")]
    if e.get("date"):
        parts.append(str(e["date"]))
    if e.get("keyword"):
        confidence = e.get("confidence")
        match = f"keyword “{e['keyword']}”"
        if isinstance(confidence, int | float):
            match += f" ({confidence:.0%}{', title' if e.get('in_title') else ''})"
        parts.append(match)
    if e.get("source"):  # several sources (issue 16): where this evidence came from
        also = [str(s) for s in e.get("also_in") or []]
        parts.append(str(e["source"]) + (f" (also in {', '.join(also)})" if also else ""))
    parts.extend(str(c) for c in e.get("conflicts") or [])  # "St Mary's Hospital had 8.1 %"
    return " · ".join(parts)


class SheetDetails(QWidget):
    dismiss_requested = Signal(object)  # EvidenceRef
    undo_requested = Signal(object)  # EvidenceRef (a dismissed one)
    entry_requested = Signal(object)  # ScreeningRef: mark done elsewhere / declined / postponed
    clear_entry_requested = Signal(object)  # ScreeningRef

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setObjectName("screeningDetails")
        self.tree.setHeaderLabels(["Screening", "Status", "Last done", "Next due"])
        self.tree.setAlternatingRowColors(True)
        self.tree.currentItemChanged.connect(self._selection_changed)
        layout.addWidget(self.tree, 1)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setObjectName("explanation")
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.explanation)
        row = QHBoxLayout()
        self.dismiss_button = QPushButton("&Dismiss match…")
        self.dismiss_button.setObjectName("dismissMatch")
        self.dismiss_button.setToolTip(
            "This document does not show the screening: record why, and re-screen"
        )
        self.dismiss_button.setEnabled(False)
        self.dismiss_button.clicked.connect(self._dismiss_clicked)
        self.entry_button = QPushButton("&Mark screening…")
        self.entry_button.setObjectName("markScreening")
        self.entry_button.setToolTip("Done elsewhere, declined, or postpone until a date")
        self.entry_button.setEnabled(False)
        self.entry_button.clicked.connect(self._entry_clicked)
        self.clear_entry_button = QPushButton("Remove mar&k")
        self.clear_entry_button.setObjectName("removeMark")
        self.clear_entry_button.setEnabled(False)
        self.clear_entry_button.clicked.connect(self._clear_entry_clicked)
        self.marked: set[str] = set()  # screening ids with an entry (set by the viewer)
        row.addWidget(self.entry_button)
        row.addWidget(self.clear_entry_button)
        row.addStretch(1)
        row.addWidget(self.dismiss_button)
        layout.addLayout(row)

    def set_results(self, results: Any, dismissed: set[tuple[str, str]] | None = None) -> None:
        self.tree.clear()
        dismissed = dismissed or set()
        for item in result_items(results):
            screening_id = str(item.get("screening_id") or "")
            status = str(item.get("status") or "")
            top = QTreeWidgetItem(
                [
                    str(item.get("name") or screening_id),
                    _status_label(status),
                    str(item.get("last_done") or "—"),
                    str(item.get("next_due") or "—"),
                ]
            )
            if status in {s.value for s in Status}:
                top.setForeground(1, theme.status_color(Status(status)))
            explanation = str(item.get("explanation") or "")
            if item.get("reason"):
                explanation += f" ({item['reason']})"
            if item.get("frequency"):
                explanation += f" Frequency: {item['frequency']}."
            for flag in item.get("flags") or []:
                explanation += f" ⚑ {flag}"
            top.setToolTip(0, explanation)
            top.setData(0, EVIDENCE_ROLE, explanation)
            top.setData(0, SCREENING_ROLE, ScreeningRef(screening_id, top.text(0)))
            already = {str(r) for r in item.get("dismissed") or []}
            shown: set[str] = set()
            for evidence in item.get("evidence") or []:
                if not isinstance(evidence, dict):
                    continue
                reference = str(evidence.get("reference") or "")
                kind = str(evidence.get("kind") or "")
                child = QTreeWidgetItem([_evidence_text(evidence), kind, "", ""])
                snippet = evidence.get("snippet")
                child.setToolTip(0, f"{reference}\n{snippet}" if snippet else reference)
                ref = EvidenceRef(
                    screening_id, reference, kind, _evidence_text(evidence), str(snippet or "")
                )
                child.setData(0, EVIDENCE_ROLE, ref)
                if reference in already or (screening_id, reference) in dismissed:
                    self._mark_dismissed(child)
                top.addChild(child)
                shown.add(reference)
            # A re-screened sheet leaves dismissed matches out of the evidence: list them
            # (struck out) so the dismissal can still be undone from here.
            for reference in sorted(already - shown):
                ref = EvidenceRef(
                    screening_id, reference, EvidenceKind.DOCUMENT.value, f"{reference} (dismissed)"
                )
                child = QTreeWidgetItem([ref.description, ref.kind, "", ""])
                child.setData(0, EVIDENCE_ROLE, ref)
                self._mark_dismissed(child)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), 280))
        self.explanation.clear()

    def evidence_items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            for j in range(top.childCount()):
                child = top.child(j)
                if child is not None and isinstance(child.data(0, EVIDENCE_ROLE), EvidenceRef):
                    out.append(child)
        return out

    def mark_dismissed(self, ref: EvidenceRef) -> None:
        for child in self.evidence_items():
            if child.data(0, EVIDENCE_ROLE) == ref:
                self._mark_dismissed(child)
        self._selection_changed(self.tree.currentItem(), None)

    def mark_restored(self, ref: EvidenceRef) -> None:
        """The dismissal was undone: the match counts again."""
        for child in self.evidence_items():
            if child.data(0, EVIDENCE_ROLE) == ref:
                child.setText(1, ref.kind)
                font = child.font(0)
                font.setStrikeOut(False)
                child.setFont(0, font)
        self._selection_changed(self.tree.currentItem(), None)

    @staticmethod
    def _mark_dismissed(child: QTreeWidgetItem) -> None:
        child.setText(1, DISMISSED_TEXT)
        font = child.font(0)
        font.setStrikeOut(True)
        child.setFont(0, font)

    def screening_items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [i for i in items if i is not None]

    def selected_screening(self) -> ScreeningRef | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        data = item.data(0, SCREENING_ROLE) if item is not None else None
        return data if isinstance(data, ScreeningRef) else None

    def document_items(self) -> list[QTreeWidgetItem]:
        return [
            item
            for item in self.evidence_items()
            if item.data(0, EVIDENCE_ROLE).kind == EvidenceKind.DOCUMENT.value
        ]

    def selected_evidence(self) -> EvidenceRef | None:
        item = self.tree.currentItem()
        data = item.data(0, EVIDENCE_ROLE) if item is not None else None
        return data if isinstance(data, EvidenceRef) else None

    def _selection_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        data = current.data(0, EVIDENCE_ROLE) if current is not None else None
        if isinstance(data, str):
            self.explanation.setText(data)
        elif isinstance(data, EvidenceRef):
            parent = current.parent() if current is not None else None
            self.explanation.setText(
                str(parent.data(0, EVIDENCE_ROLE)) if parent is not None else ""
            )
        is_document = isinstance(data, EvidenceRef) and data.kind == EvidenceKind.DOCUMENT.value
        dismissed = current is not None and current.text(1).startswith("dismissed")
        self.dismiss_button.setText("&Undo dismissal" if dismissed else "&Dismiss match…")
        self.dismiss_button.setEnabled(is_document)
        screening = self.selected_screening()
        self.entry_button.setEnabled(screening is not None)
        self.clear_entry_button.setEnabled(
            screening is not None and screening.screening_id in self.marked
        )

    def selected_is_dismissed(self) -> bool:
        item = self.tree.currentItem()
        return item is not None and item.text(1).startswith("dismissed")

    def _dismiss_clicked(self) -> None:
        ref = self.selected_evidence()
        if ref is None:
            return
        if self.selected_is_dismissed():
            self.undo_requested.emit(ref)
        else:
            self.dismiss_requested.emit(ref)

    def _entry_clicked(self) -> None:
        screening = self.selected_screening()
        if screening is not None:
            self.entry_requested.emit(screening)

    def _clear_entry_clicked(self) -> None:
        screening = self.selected_screening()
        if screening is not None:
            self.clear_entry_requested.emit(screening)
