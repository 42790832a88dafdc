"""Screening the whole panel from the Panel view (``ScreenPanelButton``): the panel package's
run (``panel.start``), in this process, with the window's CPU pool and live connection.

The same run as ``healthprep-desktop panel``: Bulk Data where the server offers it, else one
chart at a time; reruns fetch only what changed; results go to ``scope.panel``. The run's
progress lines come back as ``said`` (queued to the GUI thread: the run may speak from a worker
thread), the outcome as ``finished`` with a one-sentence message. While it runs the button
reads "Stop screening"; stopping keeps every patient already screened (the next run continues).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.login import is_demo
from healthprep_desktop.ui.session import AppSession, describe_error

DEMO_GROUP = "panel"  # the sandbox's whole-panel Group (as ``panel --demo`` uses)


@dataclass(frozen=True, slots=True)
class PanelOutcome:
    """What a run did, in numbers and in one sentence for the window."""

    state: str  # complete / stopped / failed, or "error" when it could not start
    screened: int
    unchanged: int
    failed: int
    patients: int
    sentence: str


def outcome_of(summary: dict[str, Any]) -> PanelOutcome:
    """The window's sentence for a run summary (``PanelSummary.to_json()``); no patient data."""
    screened, unchanged = int(summary["screened"]), int(summary["unchanged"])
    failed, patients = int(summary["failed"]), int(summary["patients"])
    path = "Bulk Data" if summary.get("path") == "bulk" else "one chart at a time"
    state = str(summary["state"])
    counts = f"{screened:,} screened, {unchanged:,} unchanged, {failed:,} failed"
    if state == "complete":
        sentence = f"Panel screened ({path}): {counts} of {patients:,} patients."
    elif state == "stopped":
        sentence = (
            f"Screening stopped ({counts}); press Screen whole panel again to continue, "
            "patients already screened are kept."
        )
    else:
        sentence = f"The panel run did not finish ({counts}); the log says why."
    return PanelOutcome(state, screened, unchanged, failed, patients, sentence)


class PanelScreening(QObject):
    said = Signal(str)  # a progress line of the run
    finished = Signal(object)  # PanelOutcome

    def __init__(self, session: AppSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._run: Any = None
        self._task: asyncio.Task[Any] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, connection_id: int) -> None:
        if self.running:
            return
        self._task = tasks.start(
            self._screen(connection_id),
            on_done=self._done,
            on_error=self._failed,
            name="panel-run",
            owner=self,
        )

    def stop(self) -> None:
        """Ask the run to stop after the patients in flight (kept; the next run goes on)."""
        if self._run is not None:
            self._run.request_stop()

    def _say(self, line: str) -> None:
        # The run may speak from a worker thread: a signal is queued to the GUI thread.
        if shiboken6.isValid(self):
            with contextlib.suppress(RuntimeError):
                self.said.emit(line)

    async def _screen(self, connection_id: int) -> dict[str, Any]:
        from healthprep_desktop.fhir.errors import FhirError
        from healthprep_desktop.panel.bulk_source import bulk_problem, store_bulk_export
        from healthprep_desktop.panel.run import PanelOptions
        from healthprep_desktop.panel.start import choose_path, make_run
        from healthprep_desktop.workers.db import StoreExecutor

        session = self.session
        store, scope = session.store, session.scope
        stored = scope.connections.get(connection_id)
        if stored is None:
            raise ValueError("That connection was removed; choose another one.")
        group = DEMO_GROUP if is_demo(stored) else None
        connection = await session.open(connection_id)
        capabilities = None
        try:
            capabilities = await connection.capabilities()
        except FhirError as exc:
            self._say(f"The server's CapabilityStatement could not be read ({exc}).")
        choice = choose_path(
            capabilities,
            "auto",
            probe=lambda caps: bulk_problem(caps, group),
            make_bulk=lambda: store_bulk_export(connection, scope, connection_id, say=self._say),
        )
        self._say(f"Screening the whole panel: {choice.why}.")
        db = StoreExecutor()
        try:
            self._run = make_run(
                store,
                scope.id,
                connection_id,
                connection,
                as_of=date.today(),
                options=PanelOptions(
                    group_id=group, concurrency=connection.config.rate_limit.max_concurrency
                ),
                choice=choice,
                capabilities=capabilities,
                cpu=session.cpu,
                db=db,
                say=self._say,
            )
            summary = await self._run.run()
            return dict(summary.to_json())
        finally:
            self._run = None
            await asyncio.to_thread(db.shutdown)

    def _done(self, summary: dict[str, Any]) -> None:
        self.finished.emit(outcome_of(summary))

    def _failed(self, exc: BaseException) -> None:
        sentence = f"Could not screen the panel: {describe_error(exc)}"
        self.finished.emit(PanelOutcome("error", 0, 0, 0, 0, sentence))


SCREEN_TEXT = "Screen &whole panel"
STOP_TEXT = "Stop screen&ing"


class ScreenPanelButton(QPushButton):
    """ "Screen whole panel", which becomes "Stop screening" while the run goes on."""

    started = Signal()
    message = Signal(str)  # progress lines, then the outcome's sentence
    screened = Signal(object)  # PanelOutcome

    def __init__(
        self,
        session: AppSession,
        connection_id: Callable[[], int | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(SCREEN_TEXT, parent)
        self.setObjectName("screenPanel")
        self.setToolTip(
            "Fetch and screen every patient of this connection's panel (Bulk Data where the "
            "EHR offers it); a rerun fetches only what changed"
        )
        self._connection_id = connection_id
        self.run = PanelScreening(session, self)
        self.run.said.connect(self.message)
        self.run.finished.connect(self._finished)
        self.clicked.connect(self._clicked)

    def _clicked(self) -> None:
        if self.run.running:
            self.run.stop()
            self.setEnabled(False)  # until the patients in flight are done
            self.message.emit("Stopping after the patients in flight…")
            return
        connection_id = self._connection_id()
        if connection_id is None:
            self.message.emit("Set up an EHR connection first (Clinic ▸ Connections).")
            return
        self.setText(STOP_TEXT)
        self.started.emit()
        self.message.emit("Screening the whole panel…")
        self.run.start(connection_id)

    def _finished(self, outcome: PanelOutcome) -> None:
        self.setText(SCREEN_TEXT)
        self.setEnabled(True)
        self.message.emit(outcome.sentence)
        self.screened.emit(outcome)


__all__ = [
    "DEMO_GROUP",
    "SCREEN_TEXT",
    "STOP_TEXT",
    "PanelOutcome",
    "PanelScreening",
    "ScreenPanelButton",
    "outcome_of",
]
