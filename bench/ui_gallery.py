"""One screen size and theme of the UI bench: every window shown, saved as a PNG, and checked for
what does not fit the screen, widgets cut off or outside their window, and ambiguous shortcuts.

Run by bench/ui.py in a child process per (size, theme): the screen size and the 2x scaling are
fixed when Qt starts (an offscreen screen from a config file, QT_SCALE_FACTOR=2), so each needs
its own process. Writes <out>/<size>-<theme>/NN-window.png and <out>/checks-<size>-<theme>.json.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QApplication, QWidget

# The demo clinic for the gallery: enough patients to fill the schedule and the print dialog,
# small enough to prepare in seconds (the 500-patient day is bench/ui.py's stall part).
GALLERY_PATIENTS = 60


@dataclass(slots=True)
class WindowCheck:
    """What one window shows wrong at one size: every list empty when it fits."""

    window: str
    screenshot: str
    size: str
    outside_screen: list[str] = field(default_factory=list)
    cut_off: list[str] = field(default_factory=list)
    ambiguous_shortcuts: list[str] = field(default_factory=list)


def _scrolled(widget: QWidget, top: QWidget) -> bool:
    """Inside a scroll area's viewport: it scrolls into view by design, not cut off."""
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _label(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton) else ""
    name = widget.objectName() or text.replace("&", "") or ""
    return f"{type(widget).__name__}({name})" if name else type(widget).__name__


def cut_off(window: QWidget) -> list[str]:
    """Visible widgets that reach outside their window's client area, or buttons squeezed below
    the size their text needs (the text is clipped)."""
    problems: list[str] = []
    bounds = window.rect()
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or not widget.isVisibleTo(window):
            continue
        if _scrolled(widget, window):
            continue
        at = widget.mapTo(window, QPoint(0, 0))
        rect = QRect(at, widget.size())
        if rect.width() > 0 and rect.height() > 0 and not bounds.contains(rect):
            problems.append(
                f"{_label(widget)} at {rect.x()},{rect.y()} {rect.width()}x"
                f"{rect.height()} outside {bounds.width()}x{bounds.height()}"
            )
        if isinstance(widget, QAbstractButton) and widget.text():
            need = widget.minimumSizeHint()
            if widget.width() < need.width() or widget.height() < need.height():
                problems.append(
                    f"{_label(widget)} {widget.width()}x{widget.height()} < "
                    f"{need.width()}x{need.height()} (text clipped)"
                )
    return problems


def _check(window: QWidget, name: str, path: Path, size: str) -> WindowCheck:
    from healthprep_desktop.ui.shortcut_audit import ambiguities
    from healthprep_desktop.ui.window_fit import overflow

    # Layouts and polish only: processEvents() inside this coroutine ran asyncio callbacks
    # re-entrantly (qasync: "Cannot enter into task"); a page render's lost wake-up then made
    # the window's shutdown wait for it forever.
    for kind in (QEvent.Type.PolishRequest, QEvent.Type.LayoutRequest):
        QApplication.sendPostedEvents(None, kind)
    window.grab().save(str(path), "PNG")
    return WindowCheck(
        window=name,
        screenshot=str(path),
        size=size,
        outside_screen=overflow(window),
        cut_off=cut_off(window),
        ambiguous_shortcuts=ambiguities(window, name),
    )


async def _until(predicate: Callable[[], Any], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def _signal(signal: Any, limit: float) -> Any:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def fire(*args: Any) -> None:
        if not future.done():
            future.set_result(args[0] if args else None)

    signal.connect(fire)
    try:
        return await asyncio.wait_for(future, limit)
    finally:
        signal.disconnect(fire)


async def gallery(out: Path, size: str, day: date) -> list[WindowCheck]:
    """Every window of the app at this process's screen size and theme (``out`` exists)."""
    from healthprep_desktop.fhir.config import ConnectionConfig
    from healthprep_desktop.fhir.credentials import MemorySecrets
    from healthprep_desktop.fhir.session import FhirConnection
    from healthprep_desktop.fhir.tokens import MemoryTokenStore
    from healthprep_desktop.store import Store
    from healthprep_desktop.ui.about import AboutDialog
    from healthprep_desktop.ui.audit_viewer import AuditViewer
    from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
    from healthprep_desktop.ui.day_print import DayPrintDialog, load_sheets
    from healthprep_desktop.ui.first_run import FirstRunDialog
    from healthprep_desktop.ui.library_dialog import LibraryDialog
    from healthprep_desktop.ui.main_actions import show_shortcuts
    from healthprep_desktop.ui.main_window import MainWindow
    from healthprep_desktop.ui.pin_dialog import PinDialog
    from healthprep_desktop.ui.session import AppSession
    from healthprep_desktop.ui.sheet_viewer import SheetViewer
    from healthprep_desktop.ui.sign_in_dialog import SignInDialog
    from healthprep_desktop.ui.sign_in_panel import BrowserOpener
    from healthprep_desktop.ui.unlock import NO_KEYRING, PassphraseDialog, PassphraseRequest
    from healthprep_desktop.ui.window_fit import FRAME_ALLOWANCE, available_area
    from healthprep_desktop.workers.demo import DEMO_TENANT, DemoClinic

    checks: list[WindowCheck] = []
    counter = iter(range(1, 100))

    def shot(window: QWidget, name: str) -> None:
        path = out / f"{next(counter):02d}-{name}.png"
        checks.append(_check(window, name, path, size))

    store = Store.open()
    session = AppSession(store)
    first = FirstRunDialog(session)
    first.name.setText("Demo Family Practice")
    first.show()
    shot(first, "first-run")
    first.close()

    passphrase = PassphraseDialog(PassphraseRequest(create=True, explanation=NO_KEYRING))
    passphrase.show()
    shot(passphrase, "unlock-passphrase")
    passphrase.close()

    session.create_tenant(DEMO_TENANT)
    window = MainWindow(session, today=day - timedelta(days=1))
    # As large as the screen allows (a maximised window), as a clinic workstation runs it.
    window.resize(available_area(window).size() - FRAME_ALLOWANCE)
    window.show()
    window.demo.clinic = await asyncio.to_thread(
        DemoClinic, patients=GALLERY_PATIENTS, clinic_day=day
    )
    window.start_demo()
    ready = await _signal(window.demo_ready, 120)
    if isinstance(ready, BaseException):
        raise ready
    await _until(lambda: window.model.rowCount() > 0, 60)
    finished = asyncio.ensure_future(_signal(window.batch_finished, 600))
    window.prepare_action.trigger()
    await finished
    await _until(lambda: window.model.rowCount() and window.model.rows()[0].sheet_id, 60)
    shot(window, "main-window")

    shortcuts = show_shortcuts(window)
    shot(shortcuts, "shortcut-list")
    shortcuts.close()

    window.table.setCurrentIndex(window.proxy.index(0, 1))
    window.open_selected()
    await _until(lambda: any(isinstance(c, SheetViewer) for c in window.child_windows()), 30)
    viewer = next(c for c in window.child_windows() if isinstance(c, SheetViewer))
    await _until(lambda: not viewer.image.pixmap().isNull(), 30)
    documents = viewer.details.document_items()
    if documents:
        viewer.details.tree.setCurrentItem(documents[0])
    shot(viewer, "sheet-viewer")
    viewer.close()

    scope = session.scope
    sheet_ids = [row.sheet_id for row in window.model.rows() if row.sheet_id]
    day_print = DayPrintDialog(window, scope, load_sheets(scope, sheet_ids), day)
    day_print.show()
    shot(day_print, "day-print")
    day_print.close()

    connections = ConnectionsDialog(session)
    connections.show()
    connections.test()
    await _signal(connections.tested, 60)
    shot(connections, "connections")
    connections.reject()

    live = FhirConnection(
        ConnectionConfig(name="Valley EHR", base_url="https://ehr.example.org/fhir"),
        tenant="bench",
        tokens=MemoryTokenStore(),
        secrets=MemorySecrets(),
    )
    sign_in = SignInDialog(live, "Valley EHR")
    sign_in.panel.watch(BrowserOpener(lambda _url: False, sign_in))  # never opens a browser
    sign_in.show()
    shot(sign_in, "sign-in")
    sign_in.close()
    await live.aclose()

    library = LibraryDialog(session)
    library.show()
    shot(library, "library-screenings")
    library.tabs.setCurrentIndex(1)
    shot(library, "library-sheet-settings")
    library.reject()

    audit = AuditViewer(session)
    audit.show()
    await _signal(audit.loaded, 60)
    audit.verify()
    await _signal(audit.verified, 120)
    shot(audit, "audit-viewer")
    audit.close()

    # The Panel view, after screening the demo's whole panel (Bulk Data from the sandbox).
    from healthprep_desktop.ui.panel_view import PanelView

    window.main_actions.panel.trigger()
    panel = next(c for c in window.child_windows() if isinstance(c, PanelView))
    await _until(lambda: panel.overview is not None, 60)
    screened = asyncio.ensure_future(_signal(panel.screened, 300))
    panel.screen_button.click()
    await screened
    await _until(lambda: panel.overview is not None and panel.overview.patients > 0, 60)
    await _until(lambda: panel.rows.rowCount() > 0, 60)
    for index, name in enumerate(("panel-patients", "panel-screenings", "panel-measures")):
        panel.tabs.setCurrentIndex(index)
        shot(panel, name)
    panel.close()

    # The confirmation queue: a demo patient's record at a hospital after a marriage and a move
    # (scored by the real matcher), beside the clinic's record.
    from healthprep_desktop.sources.matching import score_pair
    from healthprep_desktop.sources.normalise import demographics
    from healthprep_desktop.ui.link_queue_dialog import LinkQueueDialog

    connection = scope.connections.all()[0]
    stored = scope.records.get(connection.id, window.model.rows()[0].patient_id)
    if stored is not None:
        clinic_patient = stored.record["patient"]
        clinic_name = (clinic_patient.get("name") or [{}])[0]
        remote = {
            **clinic_patient,
            "id": "stmarys-204113",
            "identifier": [{"system": "https://stmarys.example/fhir/sid/mrn", "value": "SM204113"}],
            "name": [
                {"use": "official", "family": "Whitfield", "given": clinic_name.get("given")},
                {**clinic_name, "use": "old"},
            ],
            "telecom": [],
            "address": [{"use": "home", "line": ["4 Elm Avenue"], "postalCode": "62799"}],
        }
        scope.links.queue(
            [score_pair(demographics(clinic_patient), demographics(remote), "stmarys")]
        )
        queue = LinkQueueDialog(scope, source_names={"stmarys": "St Mary's Hospital"})
        queue.show()
        shot(queue, "link-queue")
        queue.close()

    about = AboutDialog(window)
    about.show()
    shot(about, "about")
    about.close()

    pin = PinDialog(store)
    pin.show()
    shot(pin, "pin")
    pin.close()

    window.lock()
    shot(window, "main-window-locked")
    window.unlock()

    window.close()
    await window.shutdown()
    await session.aclose()
    store.close()
    return checks


def write_checks(path: Path, checks: list[WindowCheck]) -> None:
    path.write_text(json.dumps([asdict(c) for c in checks], indent=2) + "\n", encoding="utf-8")
