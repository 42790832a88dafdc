"""The day print dialog: print the clinic day's sheets for the morning huddle.

What to print: every patient, one provider's, or a selection; the huddle list per provider
first; optionally each patient padded to an even page count for duplex printers. The PDF is put
together (screening.sheet_day) with a progress dialog that can be cancelled, then handed to the
system as the PDF itself (workers.print_job: CUPS ``lp`` on Linux and macOS, the registered PDF
application on Windows), never rasterised page by page.

Entry point for the main window's Print action::

    print_day(parent, scope, sheet_ids, clinic_day, ehr_user=None) -> DayPrintDialog
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.screening.sheet_day import (
    DayPrint,
    DaySheet,
    PrintCancelled,
    day_title,
    providers_of,
    read_sheets,
    render_day_print,
)
from healthprep_desktop.store import AuditAction, Outcome
from healthprep_desktop.workers.print_job import PrintProblem, send_pdf
from healthprep_desktop.workers.private_files import write_private_bytes

log = logging.getLogger(__name__)


class DayPrintDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None,
        scope: Any,
        sheets: Sequence[tuple[int, bytes]],
        clinic_day: date,
        *,
        ehr_user: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Print the day · {clinic_day:%a} {clinic_day.day} {clinic_day:%b %Y}")
        self.scope = scope
        self.ehr_user = ehr_user
        self.clinic_day = clinic_day
        self.sheet_ids = [sid for sid, _ in sheets]
        self.day_sheets: list[DaySheet] = read_sheets([pdf for _, pdf in sheets])
        self.last: DayPrint | None = None
        self.progress: QProgressDialog | None = None
        self.title = day_title(getattr(getattr(scope, "tenant", None), "name", ""), clinic_day)

        layout = QVBoxLayout(self)
        self.everyone = QRadioButton(f"All patients ({len(self.day_sheets)})")
        self.one_provider = QRadioButton("One provider:")
        self.provider = QComboBox()
        for name in providers_of(self.day_sheets):
            count = sum(1 for s in self.day_sheets if s.provider == name)
            self.provider.addItem(f"{name} ({count})", name)
        self.chosen = QRadioButton("Selected patients:")
        self.patients = QListWidget()
        for sheet in sorted(self.day_sheets, key=lambda s: s.sort_key):
            card = sheet.card
            label = (
                f"{card.time or '--:--'}  {card.name}  ·  {sheet.provider}"
                if card
                else f"Sheet {sheet.index + 1}"
            )
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, sheet.index)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.patients.addItem(item)
        self.scope_group = QButtonGroup(self)
        for button in (self.everyone, self.one_provider, self.chosen):
            self.scope_group.addButton(button)
        self.everyone.setChecked(True)
        row = QHBoxLayout()
        row.addWidget(self.one_provider)
        row.addWidget(self.provider, 1)
        layout.addWidget(self.everyone)
        layout.addLayout(row)
        layout.addWidget(self.chosen)
        layout.addWidget(self.patients, 1)
        self.huddle = QCheckBox("Huddle list per provider first")
        self.huddle.setChecked(True)
        self.duplex = QCheckBox("Two-sided: start every patient on a new sheet of paper")
        layout.addWidget(self.huddle)
        layout.addWidget(self.duplex)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.print_button = QPushButton("Print…")
        self.save_button = QPushButton("Save PDF…")
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.print_button.clicked.connect(self.print_with_dialog)
        self.save_button.clicked.connect(self.save_with_dialog)
        layout.addWidget(buttons)
        self.provider.currentIndexChanged.connect(lambda _: self.one_provider.setChecked(True))
        self.patients.itemChanged.connect(lambda _: self.chosen.setChecked(True))

    # -- what to print ----------------------------------------------------------------------

    def selected_indexes(self) -> list[int]:
        found: list[int] = []
        for row in range(self.patients.count()):
            item = self.patients.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                found.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return found

    def build(self) -> DayPrint | None:
        """The PDF for the current choices; None when the user cancelled."""
        provider = str(self.provider.currentData()) if self.one_provider.isChecked() else None
        selected = self.selected_indexes() if self.chosen.isChecked() else None
        if selected is not None and not selected:
            self.status.setText("Tick at least one patient to print a selection.")
            return None
        progress = self.progress = QProgressDialog(
            "Putting the day together…", "Cancel", 0, 100, self
        )
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)

        def step(done: int, total: int) -> bool:
            progress.setMaximum(max(total, 1))
            progress.setValue(done)
            QApplication.processEvents()  # short steps: the window stays responsive
            return not progress.wasCanceled()

        try:
            printed = render_day_print(
                [s.pdf for s in self.day_sheets],
                provider=provider,
                selected=selected,
                duplex=self.duplex.isChecked(),
                huddle=self.huddle.isChecked(),
                title=self.title,
                progress=step,
            )
        except PrintCancelled:
            self.status.setText("Printing cancelled.")
            return None
        finally:
            progress.close()
        self.last = printed
        return printed

    # -- hand over --------------------------------------------------------------------------

    def print_with_dialog(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        printer.setDuplex(
            QPrinter.DuplexMode.DuplexLongSide
            if self.duplex.isChecked()
            else QPrinter.DuplexMode.DuplexNone
        )
        chooser = QPrintDialog(printer, self)
        if chooser.exec() != QDialog.DialogCode.Accepted:
            return
        duplex = printer.duplex() != QPrinter.DuplexMode.DuplexNone
        if duplex and not self.duplex.isChecked():
            self.duplex.setChecked(True)  # two-sided paper: keep every patient on its own sheet
        printed = self.print_to(printer.printerName() or None, copies=printer.copyCount())
        if not printed and self.status.text() and "cancelled" not in self.status.text():
            QMessageBox.warning(self, "Print", self.status.text())

    def print_to(self, printer: str | None, *, copies: int = 1) -> bool:
        printed = self.build()
        if printed is None:
            return False
        try:
            handed = send_pdf(
                printed.pdf, printer=printer, duplex=self.duplex.isChecked(), copies=copies
            )
        except PrintProblem as exc:
            self._audit(AuditAction.PRINT, "day print refused by the print system", failed=True)
            self.status.setText(str(exc))
            return False
        self._audit(
            AuditAction.PRINT,
            f"day {self.clinic_day.isoformat()}: {printed.patients} sheets, {printed.pages} "
            f"pages, {handed.bytes // 1024} KiB handed to the print system",
        )
        self.status.setText(
            f"{printed.patients} patients ({printed.pages} pages, "
            f"{handed.bytes / 1e6:.1f} MB) sent to the printer."
        )
        return True

    def save_with_dialog(self) -> None:
        name = f"day-{self.clinic_day.isoformat()}.pdf"
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the day's PDF", name, "PDF (*.pdf)")
        if chosen:
            self.save_to(Path(chosen))

    def save_to(self, path: Path) -> bool:
        printed = self.build()
        if printed is None:
            return False
        try:
            write_private_bytes(path, printed.pdf)
        except OSError as exc:
            self.status.setText(f"Could not save the PDF there ({exc.strerror or 'error'}).")
            return False
        self._audit(AuditAction.EXPORT, f"day {self.clinic_day.isoformat()}: saved as PDF")
        self.status.setText(f"Saved {printed.patients} patients ({printed.pages} pages).")
        return True

    def _audit(self, action: AuditAction, detail: str, *, failed: bool = False) -> None:
        try:
            self.scope.audit(
                action,
                resource_ids=tuple(f"sheet/{sid}" for sid in self.sheet_ids),
                outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
                detail=detail,
                ehr_user=self.ehr_user,
            )
        except Exception as exc:  # a locked store must not lose the user's print
            log.warning("day print not audited: %s", type(exc).__name__)


def load_sheets(scope: Any, sheet_ids: Sequence[int]) -> list[tuple[int, bytes]]:
    found: list[tuple[int, bytes]] = []
    for sid in sheet_ids:
        sheet = scope.sheets.get(sid)
        if sheet is not None:
            found.append((sid, sheet.pdf))
    return found


def print_day(
    parent: QWidget | None,
    scope: Any,
    sheet_ids: Sequence[int],
    clinic_day: date,
    ehr_user: str | None = None,
) -> DayPrintDialog:
    """Open the day print dialog for these stored sheets (the window's Print action)."""
    dialog = DayPrintDialog(
        parent, scope, load_sheets(scope, sheet_ids), clinic_day, ehr_user=ehr_user
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


open_day_print = print_day

__all__ = ["DayPrintDialog", "load_sheets", "open_day_print", "print_day"]
