"""The audit trail for compliance officers: filter, verify the hash chain, export CSV.

Newest entries first; filters apply as you type (a short pause, then one read in a thread);
patient names are looked up in this computer's stored charts for display only (the trail keeps
ids, never names, and the export writes what the trail holds). Verifying runs in a thread;
exporting is itself audited.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.store import AuditAction, AuditEntry, AuditEvent, AuditFilter
from healthprep_desktop.store.audit import ChainVerification
from healthprep_desktop.store.audit_csv import write_audit_csv
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.patient_names import PatientNames
from healthprep_desktop.ui.session import AppSession, describe_error
from healthprep_desktop.ui.window_fit import fit_to_screen

HEADERS = ("#", "Time", "OS user", "EHR user", "Clinic", "Action", "Patient", "Resources",
           "Outcome", "Detail")  # fmt: skip
ALL_ACTIONS = "All actions"
PATIENT_COLUMN = HEADERS.index("Patient")
EMPTY_TEXT = "No audit entries match these filters. Clear a filter or widen the dates."
TYPING_PAUSE_MS = 250  # filters apply this long after the last keystroke
Index = QModelIndex | QPersistentModelIndex


class AuditModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[AuditEntry] = []
        self.clinics: dict[str, str] = {}
        self.names: dict[str, str] = {}  # patient id -> name, from this computer's charts
        self.broken_seq: int | None = None

    def set_entries(
        self,
        entries: list[AuditEntry],
        clinics: dict[str, str],
        names: dict[str, str] | None = None,
    ) -> None:
        self.beginResetModel()
        self.entries = entries
        self.clinics = clinics
        self.names = names or {}
        self.endResetModel()

    def patient_text(self, patient_id: str | None) -> str:
        if not patient_id:
            return ""
        name = self.names.get(patient_id)
        return f"{name} ({patient_id})" if name else patient_id

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(e, index.column())
        if role == Qt.ItemDataRole.BackgroundRole and e.seq == self.broken_seq:
            from PySide6.QtGui import QColor

            return QColor(255, 120, 120, 90)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return f"hash {e.hash}\nprevious {e.prev_hash}"
        return None

    def _cell(self, e: AuditEntry, column: int) -> str:
        values = (
            str(e.seq),
            e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            e.os_user,
            e.ehr_user or "",
            self.clinics.get(e.tenant_id or "", e.tenant_id or ""),
            e.action,
            self.patient_text(e.patient_id),
            " ".join(e.resource_ids),
            e.outcome,
            e.detail,
        )
        return values[column]

    def row_of(self, seq: int) -> int | None:
        for row, e in enumerate(self.entries):
            if e.seq == seq:
                return row
        return None


class AuditViewer(QMainWindow):
    loaded = Signal(int)  # entries shown
    verified = Signal(object)  # ChainVerification

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.session = session
        self.model = AuditModel(self)
        self._load_task: asyncio.Task[Any] | None = None
        self.names = PatientNames()
        # Filters apply as you type, after a short pause (one read, not one per keystroke).
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.reload)

        self.since = QDateEdit()
        self.until = QDateEdit()
        today = date.today()
        for edit, day in ((self.since, today - timedelta(days=30)), (self.until, today)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QDate(day.year, day.month, day.day))
        self.use_dates = QCheckBox("From")
        self.use_dates.setToolTip("Only entries between these dates (inclusive)")
        self.user = QLineEdit()
        self.user.setPlaceholderText("OS or EHR user")
        self.user.setObjectName("auditUser")
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("Patient name or id")
        self.patient.setObjectName("auditPatient")
        self.action = QComboBox()
        self.action.setObjectName("auditAction")
        self.action.addItem(ALL_ACTIONS, "")
        for item in AuditAction:
            self.action.addItem(item.value.replace("_", " "), item.value)
        self.all_clinics = QCheckBox("All clinics")
        self.all_clinics.setToolTip("Include every clinic's entries and workstation entries")
        apply = QPushButton("&Refresh")
        apply.setObjectName("auditApply")
        apply.setToolTip("Read the trail again (filters already apply as you type)")
        apply.clicked.connect(self.reload)
        for line in (self.user, self.patient):
            line.returnPressed.connect(self.reload)
            line.textChanged.connect(lambda _t: self._typing.start())
        self.action.currentIndexChanged.connect(lambda _i: self._typing.start())
        for box in (self.use_dates, self.all_clinics):
            box.toggled.connect(lambda _c: self._typing.start())
        for edit in (self.since, self.until):
            edit.dateChanged.connect(lambda _d: self._typing.start())
        filters = QHBoxLayout()
        filters.addWidget(self.use_dates)
        filters.addWidget(self.since)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.until)
        filters.addWidget(self.user, 1)
        filters.addWidget(self.action)
        filters.addWidget(self.patient, 1)
        filters.addWidget(self.all_clinics)
        filters.addWidget(apply)

        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        # Sizing columns to contents reads every row's text; a trail has tens of thousands.
        self.table.horizontalHeader().setResizeContentsPrecision(200)

        self.verify_button = QPushButton("&Verify chain")
        self.verify_button.setObjectName("verifyChain")
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("&Export CSV…")
        self.export_button.setObjectName("exportCsv")
        self.export_button.clicked.connect(self._export_clicked)
        self.result = QLabel()
        self.result.setObjectName("verifyResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom = QHBoxLayout()
        bottom.addWidget(self.verify_button)
        bottom.addWidget(self.export_button)
        bottom.addWidget(self.result, 1)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("auditEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        layout.addWidget(self.empty_label)
        layout.addLayout(bottom)
        self.setCentralWidget(central)
        close = QAction("Close", self)
        close.setShortcut(QKeySequence(QKeySequence.StandardKey.Close))
        close.triggered.connect(self.close)
        self.addAction(close)
        fit_to_screen(self, 1100, 640)
        self.reload()

    # Filter and load --------------------------------------------------------------------

    def current_filter(self) -> AuditFilter:
        since = until = None
        if self.use_dates.isChecked():
            first, last = self.since.date(), self.until.date()
            since = _start_of(date(first.year(), first.month(), first.day()))
            until = _start_of(date(last.year(), last.month(), last.day()) + timedelta(days=1))
        action = str(self.action.currentData() or "")
        # The patient box matches names too, so it is applied after the names are looked up
        # (_entries), not by the store.
        return AuditFilter(
            since=since,
            until=until,
            user=self.user.text().strip() or None,
            actions=frozenset({action}) if action else frozenset(),
        )

    def _entries(
        self, where: AuditFilter, all_clinics: bool, patient: str
    ) -> tuple[list[AuditEntry], dict[str, str]]:
        """Newest first, with the names of their patients, filtered by patient name or id."""
        if all_clinics:
            entries = self.session.store.audit.entries(where)
        else:
            entries = self.session.scope.audit_entries(where)
        entries.reverse()
        scopes = {t.id: self.session.store.tenant(t.id) for t in self.session.tenants()}
        names = self.names.lookup(scopes, [(e.tenant_id, e.patient_id) for e in entries])
        wanted = patient.strip().casefold()
        if wanted:
            entries = [
                e
                for e in entries
                if e.patient_id
                and (
                    wanted in e.patient_id.casefold()
                    or wanted in names.get(e.patient_id, "").casefold()
                )
            ]
        return entries, names

    def reload(self) -> None:
        self._typing.stop()
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        where, everything = self.current_filter(), self.all_clinics.isChecked()
        patient = self.patient.text()
        clinics = {t.id: t.name for t in self.session.tenants()}
        self._load_task = tasks.start(
            asyncio.to_thread(self._entries, where, everything, patient),
            on_done=lambda found: self._show(found[0], clinics, found[1]),
            on_error=lambda exc: self.statusBar().showMessage(describe_error(exc)),
            name="audit-load",
            owner=self,
        )

    def _show(
        self, entries: list[AuditEntry], clinics: dict[str, str], names: dict[str, str]
    ) -> None:
        self.model.set_entries(entries, clinics, names)
        self.table.resizeColumnsToContents()
        self.empty_label.setVisible(not entries)
        self.statusBar().showMessage(f"{len(entries)} entries")
        self.loaded.emit(len(entries))

    # Verify -----------------------------------------------------------------------------

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.result.setText("Verifying the whole trail…")
        tasks.start(
            asyncio.to_thread(self.session.store.audit.verify),
            on_done=self._verified,
            on_error=self._verify_failed,
            name="audit-verify",
            owner=self,
        )

    def _verified(self, result: ChainVerification) -> None:
        self.verify_button.setEnabled(True)
        if result.ok:
            self.result.setStyleSheet("color: #1a7f37;")
            self.result.setText(f"OK: {result.entries} entries intact. Head {result.head_hash}")
            self.model.broken_seq = None
        else:
            self.result.setStyleSheet("color: #d1242f;")
            self.result.setText(result.summary())
            self.model.broken_seq = result.broken_seq
            row = self.model.row_of(result.broken_seq) if result.broken_seq else None
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
        self.table.viewport().update()
        self.verified.emit(result)

    def _verify_failed(self, exc: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.result.setText(f"Could not verify: {describe_error(exc)}")

    # Export -----------------------------------------------------------------------------

    def _export_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export audit entries", "audit.csv", "CSV (*.csv)"
        )
        if not name:
            return
        try:
            self.export_csv(Path(name))
        except OSError as exc:
            QMessageBox.warning(self, "Export", f"Cannot write the file: {exc.strerror}")

    def export_csv(self, path: Path) -> int:
        """Write the entries shown, in the trail's order (oldest first, as the hash chain runs);
        the export is itself recorded."""
        entries = sorted(self.model.entries, key=lambda e: e.seq)
        write_audit_csv(path, entries)
        tenant = None if self.all_clinics.isChecked() else self.session.tenant_id
        # Only a patient id goes in the audit: the box may hold a name (never recorded).
        typed = self.patient.text().strip()
        patient_id = typed if typed and any(e.patient_id == typed for e in entries) else None
        self.session.store.audit.append(
            AuditEvent(
                AuditAction.EXPORT,
                tenant_id=tenant,
                patient_id=patient_id,
                detail=f"audit export: {len(entries)} entries",
                ehr_user=self.session.ehr_user(),
            )
        )
        self.statusBar().showMessage(f"Wrote {len(entries)} entries.")
        return len(entries)


def _start_of(day: date) -> datetime:
    """Local midnight of ``day`` as an aware UTC instant (the trail stores UTC)."""
    return datetime.combine(day, time.min).astimezone().astimezone(UTC)
