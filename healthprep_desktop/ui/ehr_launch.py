"""EHR launch in the window: ``healthprep://launch?iss=...&launch=...`` opens the app on the
launched patient; the prep sheet is prepared when the user asks for it.

- ``forward_launch`` / ``LaunchListener``: one running copy per user. A second start with a
  launch address hands the address to the running copy over a local socket (QLocalServer,
  owner-only) and exits; the running copy raises its window and takes the launch.
- ``EhrLaunchController``: checks the address (fhir/ehr_launch.py: an ``iss`` that is not a
  configured connection is refused, nothing is sent to it), selects that clinic, completes the
  SMART EHR-launch sign-in in the system browser and shows ``LaunchPanel`` for the patient.
- ``LaunchPanel``: who was launched, "Prepare prep sheet", then "Open prep sheet".

The address holds a one-time launch handle: it is never logged or shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFileOpenEvent
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from healthprep_desktop import paths
from healthprep_desktop.fhir.ehr_launch import (
    LaunchContext,
    LaunchError,
    LaunchRequest,
    UnknownIssuer,
    complete_ehr_launch,
    find_launch_connection,
    parse_launch_url,
)
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.store_adapters import StoreAudit
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.batch_runner import BatchRunner
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.launch_targets import audit_refused_launch, launch_candidates

log = logging.getLogger(__name__)

MAX_MESSAGE = 8 * 1024  # a launch address is far shorter; more is not ours
FORWARD_TIMEOUT_MS = 2000
LOCK_WATCH_MS = 250
Opener = Callable[[str], object | Awaitable[object]]


def server_name() -> str:
    """One name per user and data folder, so two users (or two test homes) never meet."""
    digest = hashlib.sha256(str(paths.data_dir()).encode("utf-8")).hexdigest()[:16]
    return f"healthprep-desktop-{digest}"


def forward_launch(url: str, name: str | None = None) -> bool:
    """Give the launch address to the running copy; False when none is running."""
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(FORWARD_TIMEOUT_MS):
        return False
    socket.write(url.encode("utf-8") + b"\n")
    sent = socket.waitForBytesWritten(FORWARD_TIMEOUT_MS)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(FORWARD_TIMEOUT_MS)
    return sent


class LaunchListener(QObject):
    """The running copy's end: emits ``launch_requested(url)`` for each forwarded address."""

    launch_requested = Signal(str)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self.server = QLocalServer(self)
        # Only this user may connect (on Unix the socket file is 0700-equivalent).
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        if self.server.listen(self.name):
            return True
        # A socket left by a crashed copy: nobody answers it, so it may go.
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._done(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if len(data) > MAX_MESSAGE:
            self._buffers.pop(socket, None)
            socket.abort()
            return
        self._buffers[socket] = data
        if b"\n" in data:
            line = data.split(b"\n", 1)[0]
            self._buffers[socket] = b""
            self.launch_requested.emit(line.decode("utf-8", "replace").strip())

    def _done(self, socket: QLocalSocket) -> None:
        leftover = self._buffers.pop(socket, b"").strip()
        if leftover:
            self.launch_requested.emit(leftover.decode("utf-8", "replace"))
        socket.deleteLater()


def open_in_browser(url: str) -> bool:
    """The system browser (it gets a loopback start address, never the launch handle)."""
    return QDesktopServices.openUrl(QUrl(url))


class LaunchPanel(QDialog):
    """The launched patient, and the button that prepares their sheet."""

    prepare_requested = Signal()
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Launched from the EHR")
        self.setModal(False)
        self.patient_label = QLabel("Signing in through the EHR...")
        self.patient_label.setWordWrap(True)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.prepare_button = QPushButton("Prepare prep sheet")
        self.prepare_button.setEnabled(False)
        self.prepare_button.clicked.connect(self.prepare_requested.emit)
        self.open_button = QPushButton("Open prep sheet")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_requested.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prepare_button)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.patient_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)

    def show_patient(self, description: str) -> None:
        self.patient_label.setText(description)
        self.status_label.setText("Press Prepare to fetch the chart and make the prep sheet.")
        self.prepare_button.setEnabled(True)

    def show_busy(self, text: str) -> None:
        self.status_label.setText(text)
        self.prepare_button.setEnabled(False)

    def show_ready(self) -> None:
        self.status_label.setText("The prep sheet is ready and stored.")
        self.prepare_button.setEnabled(True)
        self.open_button.setEnabled(True)

    def show_failure(self, sentence: str) -> None:
        self.status_label.setText(sentence)
        self.prepare_button.setEnabled(self.patient_label.property("launched") is True)


def describe_patient(patient: dict[str, Any]) -> str:
    names = patient.get("name") or [{}]
    first = names[0] if isinstance(names[0], dict) else {}
    given = " ".join(str(g) for g in first.get("given") or [])
    label = " ".join(p for p in (given, str(first.get("family") or "")) if p).strip()
    born = patient.get("birthDate")
    return f"{label or 'Unnamed patient'}" + (f", born {born}" if born else "")


class EhrLaunchController(QObject):
    """Takes launch addresses (from argv or a second start) and runs them in the window."""

    launched = Signal(object)  # LaunchContext, once signed in
    failed = Signal(str)  # the one sentence shown
    sheet_ready = Signal(int)  # the stored sheet's id

    def __init__(
        self, session: AppSession, window: QWidget | None = None, *, open_url: Opener | None = None
    ) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.open_url: Opener = open_url or open_in_browser
        self.panel = LaunchPanel(window)
        self.panel.prepare_requested.connect(self.prepare)
        self.panel.open_requested.connect(self.open_sheet)
        self.runner = BatchRunner(self)
        self.runner.finished.connect(self._prepared)
        self.runner.failed.connect(lambda exc: self._fail(_sentence(exc)))
        self.context: LaunchContext | None = None
        self.tenant_id: str | None = None
        self.connection_id: int | None = None
        self.sheet_id: int | None = None
        self.time_limit = 300.0
        self._signing_in: asyncio.Task[None] | None = None
        # The window's idle lock hides patient data: the panel follows it, and a launch that
        # arrives while locked waits for the unlock (the lock has no signal; a timer watches).
        self._pending_url: str | None = None
        self._hidden_by_lock = False
        self._lock_watch = QTimer(self)
        self._lock_watch.setInterval(LOCK_WATCH_MS)
        self._lock_watch.timeout.connect(self._follow_lock)
        self._lock_watch.start()

    # --- the launch ----------------------------------------------------------------------------

    def handle(self, url: str) -> None:
        """Start a launch; problems end in ``failed`` with one sentence (never the address)."""
        self._raise_window()
        if self._locked():
            self._pending_url = url  # shown once the user unlocks the window
            return
        self.panel.show()
        try:
            request = parse_launch_url(url)
        except LaunchError as exc:
            self._fail(str(exc))
            return
        try:
            target = find_launch_connection(request.iss, launch_candidates(self.session.store))
        except LaunchError as exc:
            if isinstance(exc, UnknownIssuer):
                audit_refused_launch(self.session.store, request.iss)
            self._fail(str(exc))
            return
        self.tenant_id, self.connection_id = target.key
        self.session.select_tenant(self.tenant_id)
        refresh = getattr(self.window, "refresh_clinics", None)
        if callable(refresh):  # the window shows the launched patient's clinic
            refresh()
        self.panel.show_busy(f"Signing in to {target.config.name} for the launched patient...")
        if self._signing_in is not None and not self._signing_in.done():
            self._signing_in.cancel()  # a newer launch replaces one still waiting for the browser
        self.context = None
        self.sheet_id = None
        self.panel.open_button.setEnabled(False)
        self._signing_in = tasks.start(
            self._sign_in(request), on_error=lambda e: self._fail(_sentence(e)), owner=self
        )

    async def _sign_in(self, request: LaunchRequest) -> None:
        assert self.connection_id is not None
        connection = await self.session.open(self.connection_id)

        async def opener(address: str) -> None:
            opened = self.open_url(address)
            if inspect.isawaitable(opened):
                await opened

        context = await complete_ehr_launch(
            connection,
            request,
            open_url=opener,
            time_limit=self.time_limit,
            audit=StoreAudit(self.session.store),
        )
        self.context = context
        try:
            patient = await connection.client.read("Patient", context.patient)
            description = describe_patient(patient)
        except FhirError:
            description = "The launched patient (their name could not be read)"
        self.panel.patient_label.setProperty("launched", True)
        self.panel.show_patient(description)
        self.launched.emit(context)

    # --- the sheet, on demand --------------------------------------------------------------------

    def prepare(self) -> None:
        if self.context is None or self.connection_id is None or self.tenant_id is None:
            return
        if self.runner.running:
            return
        connection = self.session.live_connection(self.connection_id)
        if connection is None:
            self._fail("The EHR sign-in was closed; start the app again from the EHR.")
            return
        self.panel.show_busy("Preparing the prep sheet...")
        self.runner.start(
            self.session.store,
            tenant_id=self.tenant_id,
            connection_id=self.connection_id,
            connection=connection,
            clinic_day=date.today(),
            force=True,
            patient_ids=(self.context.patient,),
            clinic_name=self.session.tenant_name,
            cpu=self.session.cpu,
        )

    def _prepared(self, summary: Any) -> None:
        if self.context is None or self.tenant_id is None:
            return
        if getattr(summary, "failed", 0):
            reasons = list(getattr(summary, "failures", {}).values())
            self._fail(f"The prep sheet could not be prepared: {reasons[0] if reasons else '?'}")
            return
        sheets = self.session.store.tenant(self.tenant_id).sheets.all(
            patient_id=self.context.patient
        )
        if not sheets:
            self._fail("The prep sheet was not stored; try Prepare again.")
            return
        self.sheet_id = sheets[-1].id
        self.panel.show_ready()
        self.sheet_ready.emit(self.sheet_id)

    def open_sheet(self) -> None:
        if self.sheet_id is None or self.tenant_id is None:
            return
        from healthprep_desktop.ui.sheet_viewer import SheetViewer

        scope = self.session.store.tenant(self.tenant_id)
        sheet = scope.sheets.get(self.sheet_id)
        if sheet is None:
            return
        viewer = SheetViewer(
            self.session.store,
            scope,
            sheet.pdf,
            title=self.panel.patient_label.text(),
            patient_id=sheet.info.patient_id,
            sheet_id=sheet.info.id,
            results=sheet.info.results,
            ehr_user=self.context.tokens.fhir_user if self.context else None,
            parent=self.window,
        )
        track = getattr(self.window, "track", None)
        if callable(track):  # the window's lock hides it with the other sheets
            track(viewer)
        viewer.show()

    # --- helpers ---------------------------------------------------------------------------------

    def _locked(self) -> bool:
        return bool(getattr(self.window, "locked", False))

    def _follow_lock(self) -> None:
        if self._locked():
            if self.panel.isVisible():
                self.panel.hide()
                self._hidden_by_lock = True
            return
        if self._hidden_by_lock:
            self._hidden_by_lock = False
            self.panel.show()
        if self._pending_url is not None:
            url, self._pending_url = self._pending_url, None
            self.handle(url)

    def _fail(self, sentence: str) -> None:
        log.warning("EHR launch did not complete")  # the reason may name a server: not logged
        self.panel.show_failure(sentence)
        self.failed.emit(sentence)

    def _raise_window(self) -> None:
        if self.window is not None:
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, LaunchError | FhirError):
        return f"The EHR launch did not complete: {exc}"
    log.error("EHR launch failed: %s", type(exc).__name__)
    return "The EHR launch did not complete because of an unexpected error; the log has details."


class UrlEventFilter(QObject):
    """macOS gives a clicked healthprep:// address to the running app as a FileOpen event
    (Info.plist CFBundleURLTypes), not in argv."""

    launch_requested = Signal(str)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            url = event.url()
            if url.scheme().lower() == "healthprep":
                self.launch_requested.emit(url.toString())
                return True
        return False


def install(
    session: AppSession, window: QWidget, launch_url: str | None
) -> tuple[EhrLaunchController, LaunchListener, UrlEventFilter]:
    """The app's hook: listen for forwarded launches and take the one from argv, if any."""
    controller = EhrLaunchController(session, window)
    listener = LaunchListener(parent=window)
    if not listener.listen():
        log.warning("cannot listen for EHR launches from a second start")
    listener.launch_requested.connect(controller.handle)
    url_events = UrlEventFilter(window)
    url_events.launch_requested.connect(controller.handle)
    app = QCoreApplication.instance()
    if app is not None:
        app.installEventFilter(url_events)
    if launch_url:
        controller.handle(launch_url)
    return controller, listener, url_events
