"""Lock after idle time: workstations are shared, so PHI views hide behind a lock screen.

``IdleWatcher`` watches the application's input events; after the idle time it emits ``idle``.
``LockScreen`` asks for the passphrase (a passphrase store) or just "Unlock" (a keyring store:
the keyring is re-opened, which on most systems is tied to the OS session), and verifies it by
opening the database again in a thread.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.store import Store
from healthprep_desktop.ui import tasks
from healthprep_desktop.ui.unlock import verify_unlock

_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class IdleWatcher(QObject):
    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self.set_minutes(minutes)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def set_minutes(self, minutes: int) -> None:
        """0 turns the lock off."""
        self.set_interval_ms(minutes * 60_000)

    def set_interval_ms(self, milliseconds: int) -> None:
        self._interval = milliseconds
        if milliseconds > 0:
            self._timer.start(milliseconds)
        else:
            self._timer.stop()

    def pause(self) -> None:
        self._timer.stop()

    def restart(self) -> None:
        if self._interval > 0:
            self._timer.start(self._interval)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self._timer.isActive():
            self._timer.start(self._interval)
        return False

    def stop(self) -> None:
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockScreen(QWidget):
    unlocked = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._task: asyncio.Task[bool] | None = None
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("<h2>HealthPrep Desktop is locked</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.hint = QLabel()
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("unlockPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setMaximumWidth(320)
        self.passphrase.returnPressed.connect(self.try_unlock)
        layout.addWidget(self.passphrase, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button = QPushButton("&Unlock")
        self.button.setObjectName("unlock")
        self.button.clicked.connect(self.try_unlock)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.error = QLabel()
        self.error.setObjectName("unlockError")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setStyleSheet("color: #d1242f;")
        layout.addWidget(self.error)
        layout.addStretch(2)
        self.reset()

    def reset(self) -> None:
        uses_passphrase = self.store.uses_passphrase
        self.hint.setText(
            "Enter the database passphrase to continue."
            if uses_passphrase
            else "Patient data is hidden while you were away. Unlock to continue."
        )
        self.passphrase.setVisible(uses_passphrase)
        self.passphrase.clear()
        self.error.clear()
        self.button.setEnabled(True)
        if uses_passphrase:
            self.passphrase.setFocus()

    def try_unlock(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.button.setEnabled(False)
        self.error.setText("Checking…")
        passphrase = self.passphrase.text() if self.store.uses_passphrase else None
        self._task = tasks.start(
            asyncio.to_thread(verify_unlock, self.store, passphrase),
            on_done=self._checked,
            on_error=lambda _exc: self._checked(False),
            name="unlock",
            owner=self,
        )

    def _checked(self, ok: bool) -> None:
        self.button.setEnabled(True)
        if ok:
            self.passphrase.clear()
            self.error.clear()
            self.unlocked.emit()
            return
        self.passphrase.selectAll()
        self.error.setText(
            "That passphrase does not open the database. Try again."
            if self.store.uses_passphrase
            else "The system keyring did not unlock the database. Check that you are signed in."
        )
