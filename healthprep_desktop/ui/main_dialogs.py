"""The main window's other windows: dialogs it opens (connections, library, audit trail,
about), tracking of open child windows (kept alive, hidden by the lock, closed on a clinic
switch), and the per-connection "Post sheets to the chart" switch."""

from __future__ import annotations

from typing import Protocol

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from healthprep_desktop.settings import IDLE_LOCK_MINUTES
from healthprep_desktop.ui.connection_state import ConnectionController, post_setting_name
from healthprep_desktop.ui.idle_lock import IdleWatcher
from healthprep_desktop.ui.main_actions import MainActions
from healthprep_desktop.ui.window_host import WindowHost


class DialogsHost(WindowHost, Protocol):
    """What the window's dialogs use of it (``MainWindow`` has it): a clinic to open
    connections for, the connection and day to refresh after editing them, the idle lock
    the library's settings change, and the "Post sheets to the chart" action."""

    @property
    def connection(self) -> ConnectionController: ...

    @property
    def idle(self) -> IdleWatcher: ...

    @property
    def main_actions(self) -> MainActions: ...

    def new_clinic(self) -> None: ...

    def reload_day(self) -> None: ...


class ChildWindows(QObject):
    def __init__(self, window: DialogsHost) -> None:
        super().__init__(window.window())
        self.window = window
        self._open: list[QWidget] = []

    def track(self, window: QWidget) -> None:
        """Keep a window alive while it is open (parentless ones would be collected with their
        Python wrapper) and know it for the lock; closing deletes it."""
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._open = [c for c in self._open if shiboken6.isValid(c)]
        self._open.append(window)
        window.destroyed.connect(self._forget_destroyed)

    def _forget_destroyed(self) -> None:
        self._open = [c for c in self._open if shiboken6.isValid(c)]

    def child_windows(self) -> list[QWidget]:
        return [c for c in self._open if shiboken6.isValid(c)]

    def open_connections(self) -> None:
        from healthprep_desktop.ui.connections_dialog import ConnectionsDialog

        w = self.window
        if w.session.tenant_id is None:
            w.new_clinic()
            if w.session.tenant_id is None:
                return
        dialog = ConnectionsDialog(w.session, w.window())
        dialog.finished.connect(lambda _r: self._connections_closed())
        self.track(dialog)
        dialog.open()

    def _connections_closed(self) -> None:
        self.window.connection.forget()
        self.window.reload_day()

    def open_library(self) -> None:
        from healthprep_desktop.ui.library_dialog import LibraryDialog

        w = self.window
        if w.session.tenant_id is None:
            return
        dialog = LibraryDialog(w.session, w.window())
        dialog.saved.connect(lambda: w.idle.set_minutes(w.session.settings.get(IDLE_LOCK_MINUTES)))
        self.track(dialog)
        dialog.open()

    def open_audit(self) -> None:
        from healthprep_desktop.ui.audit_viewer import AuditViewer

        viewer = AuditViewer(self.window.session, self.window.window())
        self.track(viewer)
        viewer.show()

    def show_about(self) -> None:
        from healthprep_desktop.ui.about import AboutDialog

        AboutDialog(self.window.window()).open()

    def toggle_post_to_chart(self) -> None:
        w = self.window
        stored = w.connection.stored()
        if stored is None:
            w.main_actions.post_to_chart.setChecked(False)
            return
        on = w.main_actions.post_to_chart.isChecked()
        if on:
            answer = QMessageBox.question(
                w.window(),
                "Post sheets to the chart",
                f"Each sheet prepared with {stored.name} will also be filed in the patient's "
                "chart in the EHR, as a document of the visit. Sheets are always kept here too; "
                "if the EHR refuses one, it says why beside the patient. Turn posting on?",
            )
            on = answer == QMessageBox.StandardButton.Yes
        w.session.scope.settings.set_raw(post_setting_name(stored.id), on)
        w.main_actions.post_to_chart.setChecked(on)

    def sync_post_switch(self) -> None:
        w = self.window
        stored = w.connection.stored()
        action = w.main_actions.post_to_chart
        action.setEnabled(stored is not None and not w.locked)
        on = bool(stored and w.session.scope.settings.get_raw(post_setting_name(stored.id)))
        action.setChecked(on)
