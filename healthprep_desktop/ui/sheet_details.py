"""The screening details beside a sheet: status, last done, next due, evidence, explanations.

Read from the results JSON stored with the sheet (``ScreeningResult.to_json()`` items), so it
works offline. Document evidence items can be dismissed as wrong matches.
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


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    screening_id: str
    reference: str
    kind: str
    description: str


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
    return " · ".join(parts)


class SheetDetails(QWidget):
    dismiss_requested = Signal(object)  # EvidenceRef

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
            already = {str(r) for r in item.get("dismissed") or []}
            for evidence in item.get("evidence") or []:
                if not isinstance(evidence, dict):
                    continue
                reference = str(evidence.get("reference") or "")
                kind = str(evidence.get("kind") or "")
                child = QTreeWidgetItem([_evidence_text(evidence), kind, "", ""])
                snippet = evidence.get("snippet")
                child.setToolTip(0, f"{reference}\n{snippet}" if snippet else reference)
                ref = EvidenceRef(screening_id, reference, kind, _evidence_text(evidence))
                child.setData(0, EVIDENCE_ROLE, ref)
                if reference in already or (screening_id, reference) in dismissed:
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

    @staticmethod
    def _mark_dismissed(child: QTreeWidgetItem) -> None:
        child.setText(1, "dismissed: re-screen needed")
        font = child.font(0)
        font.setStrikeOut(True)
        child.setFont(0, font)

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
        self.dismiss_button.setEnabled(is_document and not dismissed)

    def _dismiss_clicked(self) -> None:
        ref = self.selected_evidence()
        if ref is not None:
            self.dismiss_requested.emit(ref)
