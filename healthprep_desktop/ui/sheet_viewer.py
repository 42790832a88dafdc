"""Offline sheet review: pages rendered from the stored PDF, zoom (opening at fit-width),
paging, print, export, and the screening details with the corrections: dismiss a document match
(seeing the matched sentence and the document first) or undo it, and mark a screening done
elsewhere / declined / postponed. Nothing here touches the network: every correction is recorded
and ``corrected`` asks the window to re-screen that one patient and refresh this viewer.

Every view, print and export is audited through the store (references only, never content).
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolBar,
    QWidget,
)

from healthprep_desktop.store import AuditAction, Outcome, Sheet, Store, TenantScope
from healthprep_desktop.ui import corrections, pdf_pages, tasks
from healthprep_desktop.ui.correction_dialogs import DismissDialog, EntryDialog
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.sheet_details import EvidenceRef, ScreeningRef, SheetDetails
from healthprep_desktop.ui.window_fit import fit_to_screen
from healthprep_desktop.workers.rescreen_stored import Rescreened, rescreen_from_store

ZOOM_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
DEFAULT_ZOOM = 1.25


def write_private(path: Path, data: bytes) -> None:
    """Write a file only this user can read (it holds PHI)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as handle:
        handle.write(data)


class SheetViewer(QMainWindow):
    """One PDF (a patient's sheet, or a whole day) with optional screening details."""

    page_shown = Signal(int)  # page index, after rendering
    rescreened = Signal(str, int)  # patient id, new sheet id (after a correction)
    # After any correction is recorded (the EvidenceRef dismissed, or the ScreeningRef marked /
    # undone): the window re-screens this patient. Kept for the window's existing connection.
    dismissed = Signal(object)
    corrected = Signal(str)  # patient id, after any correction

    def __init__(
        self,
        store: Store,
        scope: TenantScope,
        pdf: bytes,
        *,
        title: str,
        patient_id: str | None = None,
        sheet_id: int | None = None,
        results: Any = None,
        ehr_user: str | None = None,
        clinic_day: date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic_day = clinic_day
        # After a correction the viewer re-screens its patient from the chart on this computer
        # (workers.rescreen_stored) and shows the new sheet; False leaves it to the window.
        self.rescreen_after_corrections = clinic_day is not None
        self._rescreen_task: asyncio.Task[Any] | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.store = store
        self.scope = scope
        self.pdf = pdf
        self.patient_id = patient_id
        self.sheet_id = sheet_id
        self.ehr_user = ehr_user
        self.page = 0
        self.pages = pdf_pages.page_count(pdf)
        self.zoom = DEFAULT_ZOOM
        self.fit_width = True  # until the user zooms: the page fills the width
        self._render_task: asyncio.Task[Any] | None = None
        self.setWindowTitle(title)
        self.image = QLabel()
        self.image.setObjectName("pageImage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setAccessibleName("Prep sheet page")
        self.page_area = QScrollArea()
        self.page_area.setWidget(self.image)
        self.page_area.setWidgetResizable(True)
        self.page_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details = SheetDetails()
        self.details.dismiss_requested.connect(self._ask_dismiss)
        self.details.undo_requested.connect(self.undo_dismissal)
        self.details.entry_requested.connect(self._ask_entry)
        self.details.clear_entry_requested.connect(self.clear_entry)
        splitter = QSplitter()
        splitter.addWidget(self.page_area)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([660, 440])  # the page first; the details' contents would claim it all
        self.details.setVisible(results is not None)
        if results is not None:
            dismissed = (
                {
                    (d.screening_id, d.evidence_reference)
                    for d in scope.dismissals.all(patient_id=patient_id)
                }
                if patient_id
                else set()
            )
            self.details.set_results(results, dismissed)
            self._refresh_marks()
        self.has_details = results is not None
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self._build_toolbar()
        self.page_label = QLabel()
        self.page_label.setObjectName("pageCounter")
        self.statusBar().addPermanentWidget(self.page_label)
        self.page_label.setText(self._page_text())
        # Fits a 1366x768 screen (and 2x scaling): the page counter and the details' buttons
        # stay on screen.
        fit_to_screen(self, 1100, 800)
        if results is None:
            splitter.setSizes([self.width(), 0])
        else:
            splitter.setSizes([self.width() * 3 // 5, self.width() * 2 // 5])
        self._page_width = pdf_pages.page_width(pdf)
        self.page_area.viewport().installEventFilter(self)
        self._audit(AuditAction.VIEW_SHEET, "viewed")
        self.show_page(0)

    @classmethod
    def for_sheet(
        cls,
        store: Store,
        scope: TenantScope,
        sheet: Sheet,
        *,
        title: str,
        ehr_user: str | None = None,
        parent: QWidget | None = None,
    ) -> SheetViewer:
        return cls(
            store,
            scope,
            sheet.pdf,
            title=title,
            patient_id=sheet.info.patient_id,
            sheet_id=sheet.info.id,
            results=sheet.info.results,
            ehr_user=ehr_user,
            clinic_day=sheet.info.clinic_day,
            parent=parent,
        )

    def load_sheet(self, sheet: Sheet) -> None:
        """Show another sheet of the same patient (a re-screen's result) in place."""
        self.pdf = sheet.pdf
        self.sheet_id = sheet.info.id
        self.pages = pdf_pages.page_count(sheet.pdf)
        self._page_width = pdf_pages.page_width(sheet.pdf)
        if self.has_details:
            dismissed = {
                (d.screening_id, d.evidence_reference)
                for d in self.scope.dismissals.all(patient_id=self.patient_id)
            }
            self.details.set_results(sheet.info.results, dismissed)
            self._refresh_marks()
        self._audit(AuditAction.VIEW_SHEET, "viewed (re-screened)")
        self.show_page(min(self.page, self.pages - 1))

    # Toolbar ----------------------------------------------------------------------------

    def _action(self, text: str, shortcut: Any, slot: Any, name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        action.triggered.connect(slot)
        return action

    def _build_toolbar(self) -> None:
        bar = QToolBar("Sheet")
        bar.setMovable(False)
        self.addToolBar(bar)
        std = QKeySequence.StandardKey
        self.prev_action = self._action(
            "◀ Previous page",
            [QKeySequence(std.MoveToPreviousPage), QKeySequence("Ctrl+Left")],
            self.previous_page,
            "previousPage",
        )
        self.next_action = self._action(
            "Next page ▶",
            [QKeySequence(std.MoveToNextPage), QKeySequence("Ctrl+Right")],
            self.next_page,
            "nextPage",
        )
        self.zoom_out_action = self._action(
            "Zoom out", QKeySequence(std.ZoomOut), self.zoom_out, "zoomOut"
        )
        self.zoom_in_action = self._action(
            "Zoom in", [QKeySequence(std.ZoomIn), QKeySequence("Ctrl+=")], self.zoom_in, "zoomIn"
        )
        self.print_action = self._action(
            "&Print…", QKeySequence(std.Print), self.print_with_dialog, "print"
        )
        self.export_action = self._action(
            "&Export PDF…", QKeySequence("Ctrl+E"), self.export_with_dialog, "export"
        )
        self.fit_action = self._action(
            "Fit width", QKeySequence("Ctrl+0"), self.zoom_to_width, "fitWidth"
        )
        close = self._action("Close", QKeySequence(std.Close), self.close, "close")
        for action in (self.prev_action, self.next_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.zoom_out_action, self.zoom_in_action, self.fit_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.print_action, self.export_action):
            bar.addAction(action)
        self.addAction(close)

    # Pages ------------------------------------------------------------------------------

    def _page_text(self) -> str:
        return f"Page {self.page + 1} of {self.pages} · {int(self.zoom * 100)} %"

    def width_zoom(self) -> float:
        """The zoom at which the page fills the page area's width (scroll bar allowed)."""
        viewport = self.page_area.viewport().width() - 24
        scroll = self.page_area.verticalScrollBar().sizeHint().width()
        available = max(200, viewport - scroll)
        return max(ZOOM_STEPS[0], min(ZOOM_STEPS[-1], available / max(1.0, self._page_width)))

    def zoom_to_width(self) -> None:
        self.fit_width = True
        self.zoom = self.width_zoom()
        self.show_page(self.page)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The page area's width changes with the window, the splitter and the first layout:
        # at fit-width the page follows it.
        if (
            event.type() == QEvent.Type.Resize
            and watched is self.page_area.viewport()
            and self.fit_width
            and hasattr(self, "_page_width")
        ):
            zoom = self.width_zoom()
            if abs(zoom - self.zoom) > 0.02:
                self.zoom = zoom
                self.show_page(self.page)
        return False

    def show_page(self, index: int) -> None:
        self.page = max(0, min(index, self.pages - 1))
        if self.fit_width:
            self.zoom = self.width_zoom()
        self.prev_action.setEnabled(self.page > 0)
        self.next_action.setEnabled(self.page < self.pages - 1)
        self.page_label.setText(self._page_text())
        if self._render_task is not None and not self._render_task.done():
            self._render_task.cancel()
        ratio = self.devicePixelRatioF() or 1.0
        page, zoom = self.page, self.zoom
        self._render_task = tasks.start(
            asyncio.to_thread(pdf_pages.render_page, self.pdf, page, zoom * ratio),
            on_done=lambda image: self._shown(page, image, ratio),
            on_error=lambda exc: self.statusBar().showMessage(describe_error(exc)),
            name="render-page",
            owner=self,
        )

    def _shown(self, page: int, image: pdf_pages.PageImage, ratio: float) -> None:
        pixmap = QPixmap.fromImage(pdf_pages.to_qimage(image))
        pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)
        self.page_shown.emit(page)

    def next_page(self) -> None:
        if self.page < self.pages - 1:
            self.show_page(self.page + 1)

    def previous_page(self) -> None:
        if self.page > 0:
            self.show_page(self.page - 1)

    def set_zoom(self, zoom: float) -> None:
        self.fit_width = False
        self.zoom = max(ZOOM_STEPS[0], min(zoom, ZOOM_STEPS[-1]))
        self.show_page(self.page)

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self.zoom), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.zoom), ZOOM_STEPS[0]))

    # Print and export -------------------------------------------------------------------

    def print_with_dialog(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        tasks.start(
            self.print_to(printer),
            on_error=self._print_failed,
            name="print",
            owner=self,
        )

    def _print_failed(self, exc: BaseException) -> None:
        QMessageBox.warning(self, "Print", describe_error(exc))

    async def print_to(self, printer: QPrinter) -> int:
        self.print_action.setEnabled(False)
        try:
            printed = await pdf_pages.print_pdf(
                self.pdf,
                printer,
                progress=lambda n, total: self.statusBar().showMessage(
                    f"Printing page {n} of {total}…"
                ),
            )
        except BaseException:
            self._audit(AuditAction.PRINT, "print failed", failed=True)
            raise
        finally:
            self.print_action.setEnabled(True)
        self._audit(AuditAction.PRINT, f"{printed} pages")
        self.statusBar().showMessage(f"Sent {printed} pages to the printer.")
        return printed

    def export_with_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export a PDF copy", "prep-sheet.pdf", "PDF files (*.pdf)"
        )
        if name:
            try:
                self.export_to(Path(name))
            except OSError as exc:
                QMessageBox.warning(self, "Export", f"Cannot write the file: {exc.strerror}")

    def export_to(self, path: Path) -> None:
        write_private(path, self.pdf)
        self._audit(AuditAction.EXPORT, "PDF copy exported")
        self.statusBar().showMessage("Exported a PDF copy. It holds PHI: store it accordingly.")

    # Corrections ------------------------------------------------------------------------

    def _ask_dismiss(self, ref: EvidenceRef) -> None:
        document = (
            corrections.find_document(self.scope, self.patient_id, ref.reference)
            if self.patient_id
            else None
        )
        screening = self.details.selected_screening()
        dialog = DismissDialog(
            screening.name if screening else ref.screening_id,
            ref.description,
            ref.snippet,
            document,
            self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.dismiss(ref, dialog.reason_given())

    def dismiss(self, ref: EvidenceRef, reason: str) -> bool:
        """Record who, when and why (with an audit entry); the window re-screens the patient."""
        if not reason.strip():
            self.statusBar().showMessage("Not dismissed: say why the match is wrong.", 10_000)
            return False
        if self.patient_id is None:
            return False
        corrections.dismiss_match(
            self.store,
            self.scope,
            self.patient_id,
            ref.screening_id,
            ref.reference,
            reason=reason,
            who=self.ehr_user,
            ehr_user=self.ehr_user,
        )
        self.details.mark_dismissed(ref)
        self._corrected(ref, "Match dismissed (Undo dismissal takes it back). Re-screening…")
        return True

    def undo_dismissal(self, ref: EvidenceRef) -> bool:
        if self.patient_id is None:
            return False
        undone = corrections.undo_dismissal(
            self.store,
            self.scope,
            self.patient_id,
            ref.screening_id,
            ref.reference,
            ehr_user=self.ehr_user,
        )
        if undone:
            self.details.mark_restored(ref)
            self._corrected(ref, "Dismissal undone: the match counts again. Re-screening…")
        return undone

    def _ask_entry(self, screening: ScreeningRef) -> None:
        if self.patient_id is None:
            return
        existing = corrections.entry_for(self.scope, self.patient_id, screening.screening_id)
        dialog = EntryDialog(screening.name, existing, parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        kind, on_date, until_date, note = dialog.values()
        self.mark_screening(screening, kind, on_date=on_date, until_date=until_date, note=note)

    def mark_screening(
        self,
        screening: ScreeningRef,
        kind: Any,
        *,
        on_date: Any = None,
        until_date: Any = None,
        note: str = "",
    ) -> bool:
        """Done elsewhere / declined / postponed until, for this patient's screening."""
        if self.patient_id is None:
            return False
        try:
            corrections.set_entry(
                self.store,
                self.scope,
                self.patient_id,
                screening.screening_id,
                kind,
                on_date=on_date,
                until_date=until_date,
                note=note,
                ehr_user=self.ehr_user,
            )
        except ValueError as exc:
            self.statusBar().showMessage(f"Not marked: {exc}.", 10_000)
            return False
        label = corrections.ENTRY_LABELS.get(kind, str(kind))
        self._corrected(screening, f"{screening.name}: {label.lower()}. Re-screening…")
        return True

    def clear_entry(self, screening: ScreeningRef) -> bool:
        if self.patient_id is None:
            return False
        removed = corrections.remove_entry(
            self.store, self.scope, self.patient_id, screening.screening_id, ehr_user=self.ehr_user
        )
        if removed:
            self._corrected(screening, f"{screening.name}: mark removed. Re-screening…")
        return removed

    def _refresh_marks(self) -> None:
        if self.patient_id is None:
            return
        self.details.marked = {
            e.screening_id for e in self.scope.entries.all(patient_id=self.patient_id)
        }
        self.details._selection_changed(self.details.tree.currentItem(), None)

    def _corrected(self, what: object, message: str) -> None:
        self._refresh_marks()
        self.statusBar().showMessage(message, 15_000)
        self.dismissed.emit(what)
        if self.patient_id is not None:
            self.corrected.emit(self.patient_id)
            if self.rescreen_after_corrections:
                self.rescreen()

    def rescreen(self) -> None:
        """Screen this patient again from the stored chart (offline) and show the new sheet."""
        if self.patient_id is None or self.clinic_day is None:
            return
        if self._rescreen_task is not None and not self._rescreen_task.done():
            self._rescreen_task.cancel()  # the store keeps every correction; the last one wins
        store, tenant_id = self.store, self.scope.id
        patient_id, day, user = self.patient_id, self.clinic_day, self.ehr_user

        def work() -> tuple[Rescreened, Sheet | None]:
            done = rescreen_from_store(store, tenant_id, patient_id, day, ehr_user=user)
            return done, store.tenant(tenant_id).sheets.get(done.sheet_id)

        self._rescreen_task = tasks.start(
            asyncio.to_thread(work),
            on_done=self._rescreened,
            on_error=lambda exc: self.statusBar().showMessage(
                f"Recorded; not re-screened yet: {describe_error(exc)}", 15_000
            ),
            name="rescreen-patient",
            owner=self,
        )

    def _rescreened(self, done: tuple[Rescreened, Sheet | None]) -> None:
        result, sheet = done
        if sheet is None or self.patient_id is None:
            return
        self.load_sheet(sheet)
        self.statusBar().showMessage("Re-screened: the sheet shows your correction.", 15_000)
        self.rescreened.emit(self.patient_id, result.sheet_id)

    def _audit(self, action: AuditAction, detail: str, *, failed: bool = False) -> None:
        self.scope.audit(
            action,
            patient_id=self.patient_id,
            resource_ids=(f"sheet/{self.sheet_id}",) if self.sheet_id is not None else (),
            outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
            detail=detail,
            ehr_user=self.ehr_user,
        )
