"""The confirmation queue (issue 16): possible matches in other sources a person decides, and the
standing links a person can undo.

A possible match shows what the store may show: the clinic patient's name and birth date (from
the clinic's own stored chart, when there is one), the source, the other source's patient id,
the score, why it needs a person and how each field compared ("birth date: exact, family name:
a typo away"). "Same person" links the pair, "Not the same person" rejects it for good (it is
never proposed again); "Undo link" on a standing link rejects it, so the other source's evidence
is gone at the next batch. Every answer is stored and audited by the link store.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.sources.model import LinkDecision, PersonSummary
from healthprep_desktop.sources.normalise import demographics, summarise
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.patient_links import QueuedMatch
from healthprep_desktop.ui.link_compare import ComparisonTable, level_text
from healthprep_desktop.ui.window_fit import fit_to_screen

_FIELD_NAMES = {
    "family": "family name",
    "given": "given name",
    "middle_initial": "middle initial",
    "birth_date": "birth date",
    "sex": "sex",
    "postal_code": "postal code",
    "phone": "phone",
    "previous_address": "former address",
}


def fields_text(fields: dict[str, str]) -> str:
    """ "birth date: same, family name: a typo away": how each field compared."""
    order = list(_FIELD_NAMES)
    ranked = sorted(fields.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    return ", ".join(
        f"{_FIELD_NAMES.get(k, k)}: {level_text(k, v)}"
        for k, v in ranked
        if v and not (k == "previous_address" and v == "missing")  # no history is no evidence
    )


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class LinkQueueDialog(QDialog):
    def __init__(
        self,
        scope: TenantScope,
        parent: QWidget | None = None,
        *,
        user: str | None = None,
        source_names: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.scope = scope
        self.user = user or getpass.getuser()
        self.source_names = source_names or {}
        self.setWindowTitle(f"Patients in other sources · {scope.tenant.name}")
        self._waiting: list[QueuedMatch] = []
        self._linked: list[LinkDecision] = []

        self.waiting_table = QTableWidget(0, 6)
        self.waiting_table.setObjectName("linkQueue")
        self.waiting_table.setHorizontalHeaderLabels(
            [
                "Clinic patient",
                "Source",
                "Patient there",
                "Score",
                "Why a person decides",
                "How it compared",
            ]
        )
        self.linked_table = QTableWidget(0, 5)
        self.linked_table.setObjectName("standingLinks")
        self.linked_table.setHorizontalHeaderLabels(
            ["Clinic patient", "Source", "Patient there", "Linked by", "When"]
        )
        for table in (self.waiting_table, self.linked_table):
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            table.horizontalHeader().setStretchLastSection(True)

        self.link_button = QPushButton("&Same person: link")
        self.link_button.setObjectName("linkSame")
        self.link_button.clicked.connect(lambda: self.answer(same_person=True))
        self.reject_button = QPushButton("&Not the same person")
        self.reject_button.setObjectName("linkNotSame")
        self.reject_button.clicked.connect(lambda: self.answer(same_person=False))
        self.undo_button = QPushButton("&Undo link")
        self.undo_button.setObjectName("linkUndo")
        self.undo_button.clicked.connect(self.undo_link)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setObjectName("linkMessage")
        self.message.setWordWrap(True)

        self.comparison = ComparisonTable()
        self.waiting_table.itemSelectionChanged.connect(self._show_selected)

        waiting = QWidget()
        waiting_layout = QVBoxLayout(waiting)
        waiting_layout.addWidget(self.waiting_table, 1)
        waiting_layout.addWidget(self.comparison)
        row = QHBoxLayout()
        row.addWidget(self.link_button)
        row.addWidget(self.reject_button)
        row.addStretch(1)
        waiting_layout.addLayout(row)
        linked = QWidget()
        linked_layout = QVBoxLayout(linked)
        linked_layout.addWidget(self.linked_table, 1)
        linked_layout.addWidget(self.undo_button)
        self.tabs = QTabWidget()
        self.tabs.addTab(waiting, "To confirm")
        self.tabs.addTab(linked, "Linked")

        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Records in other sources that may be the same patient. A link brings that "
                "source's results onto the patient's sheet from the next batch on."
            )
        )
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        fit_to_screen(self, 960, 640)
        self.refresh()

    def _clinic_patient(self, patient_id: str) -> dict[str, object] | None:
        """The clinic's Patient resource from its stored chart, if any."""
        for connection in self.scope.connections.all():
            stored = self.scope.records.get(connection.id, patient_id)
            if stored is not None:
                patient = stored.record.get("patient")
                return patient if isinstance(patient, dict) else {}
        return None

    def _clinic_summary(self, patient_id: str) -> PersonSummary | None:
        patient = self._clinic_patient(patient_id)
        return summarise(demographics(patient)) if patient else None

    def _show_selected(self) -> None:
        row = self.waiting_table.currentRow()
        if not 0 <= row < len(self._waiting):
            self.comparison.show_pair(None, None, "", {})
            return
        match = self._waiting[row]
        self.comparison.show_pair(
            self._clinic_summary(match.local_id),
            match.remote,
            self._source(match.source_id),
            match.fields,
        )

    def _patient_label(self, patient_id: str) -> str:
        """The clinic patient's name and birth date from the clinic's stored chart, if any."""
        summary = self._clinic_summary(patient_id)
        if summary is None or not summary.name:
            return patient_id
        return f"{summary.name} ({summary.birth_date})" if summary.birth_date else summary.name

    def _source(self, source_id: str) -> str:
        return self.source_names.get(source_id, source_id)

    def refresh(self) -> None:
        self._waiting = self.scope.links.waiting()
        self._linked = self.scope.links.linked()
        self.waiting_table.setRowCount(len(self._waiting))
        for row, match in enumerate(self._waiting):
            cells = (
                self._patient_label(match.local_id),
                self._source(match.source_id),
                match.remote_id,
                f"{match.score:.1f}",
                match.reason,
                fields_text(match.fields),
            )
            for column, text in enumerate(cells):
                self.waiting_table.setItem(row, column, _item(text))
        self.linked_table.setRowCount(len(self._linked))
        for row, decision in enumerate(self._linked):
            linked_cells = (
                self._patient_label(decision.local_id),
                self._source(decision.source_id),
                decision.remote_id,
                "automatically" if decision.decided_by == "auto" else decision.decided_by,
                decision.decided_at.strftime("%Y-%m-%d %H:%M"),
            )
            for column, text in enumerate(linked_cells):
                self.linked_table.setItem(row, column, _item(text))
        self.tabs.setTabText(0, f"To confirm ({len(self._waiting)})")
        self.tabs.setTabText(1, f"Linked ({len(self._linked)})")
        if self._waiting:
            self.waiting_table.selectRow(0)
        if self._linked:
            self.linked_table.selectRow(0)
        self.link_button.setEnabled(bool(self._waiting))
        self.reject_button.setEnabled(bool(self._waiting))
        self.undo_button.setEnabled(bool(self._linked))
        self._show_selected()

    def answer(self, *, same_person: bool) -> LinkDecision | None:
        row = self.waiting_table.currentRow()
        if not 0 <= row < len(self._waiting):
            return None
        decision = self.scope.links.answer(
            self._waiting[row].id, same_person=same_person, by=self.user
        )
        self.message.setText(
            "Linked: the next batch reads that source for this patient."
            if same_person
            else "Not the same person: this record will not be proposed again."
        )
        self.refresh()
        return decision

    def undo_link(self) -> LinkDecision | None:
        row = self.linked_table.currentRow()
        if not 0 <= row < len(self._linked):
            return None
        undone = self.scope.links.unlink(self._linked[row], by=self.user)
        self.message.setText(
            "Link undone: that source's results leave the patient's sheet at the next batch."
        )
        self.refresh()
        return undone
