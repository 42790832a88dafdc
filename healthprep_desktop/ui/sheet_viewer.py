"""Offline sheet review: pages rendered from the stored PDF, zoom, paging, print, export, and
the screening details with "Dismiss match". Nothing here touches the network.

Every view, print and export is audited through the store (references only, never content).
"""

from __future__ import annotations

import asyncio
import getpass
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolBar,
    QWidget,
)

from healthprep_desktop.store import AuditAction, Outcome, Sheet, Store, TenantScope
from healthprep_desktop.ui import pdf_pages, tasks
from healthprep_desktop.ui.session import describe_error
from healthprep_desktop.ui.sheet_details import EvidenceRef, SheetDetails

ZOOM_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
DEFAULT_ZOOM = 1.25


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def write_private(path: Path, data: bytes) -> None:
    """Write a file only this user can read (it holds PHI)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as handle:
        handle.write(data)


class SheetViewer(QMainWindow):
    """One PDF (a patient's sheet, or a whole day) with optional screening details."""

    page_shown = Signal(int)  # page index, after rendering
    dismissed = Signal(object)  # EvidenceRef, after it is recorded

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
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
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
        self.setCentralWidget(splitter)
        self._build_toolbar()
        self.statusBar().showMessage(self._page_text())
        self.resize(1100, 800)
        if results is None:
            splitter.setSizes([1100, 0])
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
            parent=parent,
        )

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
        close = self._action("Close", QKeySequence(std.Close), self.close, "close")
        for action in (self.prev_action, self.next_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.zoom_out_action, self.zoom_in_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.print_action, self.export_action):
            bar.addAction(action)
        self.addAction(close)

    # Pages ------------------------------------------------------------------------------

    def _page_text(self) -> str:
        return f"Page {self.page + 1} of {self.pages} · {int(self.zoom * 100)} %"

    def show_page(self, index: int) -> None:
        self.page = max(0, min(index, self.pages - 1))
        self.prev_action.setEnabled(self.page > 0)
        self.next_action.setEnabled(self.page < self.pages - 1)
        self.statusBar().showMessage(self._page_text())
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

    # Dismiss a match --------------------------------------------------------------------

    def _ask_dismiss(self, ref: EvidenceRef) -> None:
        reason, ok = QInputDialog.getText(
            self,
            "Dismiss match",
            f"Why does {ref.description} not count for this screening?",
        )
        if ok:
            self.dismiss(ref, reason)

    def dismiss(self, ref: EvidenceRef, reason: str) -> bool:
        """Record who, when and why in the store (with an audit entry); the patient needs a
        re-screen for it to change the sheet."""
        reason = reason.strip()
        if not reason:
            self.statusBar().showMessage("Not dismissed: say why the match is wrong.", 10_000)
            return False
        if self.patient_id is None:
            return False
        who = self.ehr_user or _os_user()
        with self.store.transaction():
            self.scope.dismissals.dismiss(
                self.patient_id, ref.screening_id, ref.reference, reason=reason, dismissed_by=who
            )
            self.scope.audit(
                AuditAction.DISMISS_MATCH,
                patient_id=self.patient_id,
                resource_ids=(ref.reference,),
                detail=ref.screening_id,
                ehr_user=self.ehr_user,
            )
        self.details.mark_dismissed(ref)
        self.statusBar().showMessage("Match dismissed. Prepare this patient again to re-screen.")
        self.dismissed.emit(ref)
        return True

    def _audit(self, action: AuditAction, detail: str, *, failed: bool = False) -> None:
        self.scope.audit(
            action,
            patient_id=self.patient_id,
            resource_ids=(f"sheet/{self.sheet_id}",) if self.sheet_id is not None else (),
            outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
            detail=detail,
            ehr_user=self.ehr_user,
        )
