"""Lock after idle time: workstations are shared, so PHI views hide behind a lock screen.

``IdleWatcher`` watches the application's input events; after the idle time it emits ``idle``.
``LockScreen`` asks for a credential: the passphrase (a passphrase store, verified by opening
the database again in a thread) or the app PIN (a keyring store: the keyring opens with the OS
session, so it proves nothing on a shared, logged-in workstation). See unlock_pin.py.
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
from healthprep_desktop.ui.unlock_os import (
    OsAuthenticator,
    check_os_credential,
    os_unlock_enabled,
    platform_authenticator,
    set_os_unlock,
)
from healthprep_desktop.ui.unlock_pin import (
    UnlockThrottle,
    audit_lock,
    audit_unlock,
    check_pin,
    has_pin,
)

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
    """Unlocking needs a credential: the store passphrase (a passphrase store) or the app PIN
    (a keyring store; set at first run). Failures past a few typos wait longer each time;
    every lock and unlock attempt is audited (never what was typed)."""

    unlocked = Signal()

    def __init__(
        self,
        store: Store,
        parent: QWidget | None = None,
        *,
        throttle: UnlockThrottle | None = None,
        os_auth: OsAuthenticator | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.throttle = throttle or UnlockThrottle()
        # The OS account check (unlock_os.py), used when the store opted in; found on first
        # use so a store that did not opt in never touches PAM.
        self._os_auth = os_auth
        self._task: asyncio.Task[bool] | None = None
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(1000)
        self._wait_timer.timeout.connect(self._waited)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("<h2>HealthPrep Desktop is locked</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.hint = QLabel()
        self.hint.setObjectName("unlockHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("unlockPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setMinimumWidth(260)
        self.passphrase.setMaximumWidth(360)
        self.passphrase.returnPressed.connect(self.try_unlock)
        layout.addWidget(self.passphrase, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button = QPushButton("&Unlock")
        self.button.setObjectName("unlock")
        self.button.clicked.connect(self.try_unlock)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.error = QLabel()
        self.error.setObjectName("unlockError")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        layout.addWidget(self.error)
        # Where nothing but a click guards the lock (a keyring store without a PIN), the OS
        # account's password can be required from now on: stricter only, so offered here.
        self.require_os = QPushButton("Require my computer password to unlock")
        self.require_os.setObjectName("requireOsPassword")
        self.require_os.clicked.connect(self._require_os_password)
        self.require_os.hide()
        layout.addWidget(self.require_os, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self._method = "keyring"
        self.reset(audit=False)

    @property
    def method(self) -> str:
        """What unlocks: "passphrase", "os" (the OS account's password, opted in), "pin",
        or "keyring" (a store from before PINs)."""
        return self._method

    def os_authenticator(self) -> OsAuthenticator | None:
        if self._os_auth is None:
            self._os_auth = platform_authenticator()
        return self._os_auth

    def reset(self, *, audit: bool = True) -> None:
        """Show the lock for a new lock period (the window calls this when it locks)."""
        os_auth = self.os_authenticator() if os_unlock_enabled(self.store) else None
        if self.store.uses_passphrase:
            self._method = "passphrase"
            hint = "Enter the database passphrase to continue."
        elif os_auth is not None:
            self._method = "os"
            hint = f"Enter {os_auth.label} to continue."
        elif has_pin(self.store):
            self._method = "pin"
            hint = "Enter your HealthPrep Desktop PIN to continue."
        else:
            self._method = "keyring"
            hint = (
                "Patient data is hidden while you were away. No unlock PIN is set on this "
                "workstation, so anyone can unlock it: set one when HealthPrep Desktop starts."
            )
        self.hint.setText(hint)
        self.passphrase.setVisible(self._method != "keyring")
        offer = self._method == "keyring" and self.os_authenticator() is not None
        self.require_os.setVisible(offer)
        self.passphrase.setPlaceholderText(
            {"pin": "PIN", "os": "Password"}.get(self._method, "Passphrase")
        )
        self.passphrase.clear()
        self.error.clear()
        if audit:
            audit_lock(self.store)
        self._waited()
        if self._method != "keyring":
            self.passphrase.setFocus()

    def _require_os_password(self) -> None:
        set_os_unlock(self.store, True)
        self.reset(audit=False)

    def try_unlock(self) -> None:
        if self._task is not None and not self._task.done():
            return
        if self.throttle.wait_left() > 0:
            self._waited()
            return
        secret = self.passphrase.text()
        if self._method != "keyring" and not secret:
            self.error.setText(
                {"pin": "Enter the PIN.", "os": "Enter the password."}.get(
                    self._method, "Enter the passphrase."
                )
            )
            return
        self.button.setEnabled(False)
        self.passphrase.setEnabled(False)
        self.error.setText("Checking…")
        store, method, os_auth = self.store, self._method, self._os_auth

        def check() -> bool:
            if method == "pin":
                ok = check_pin(store, secret)
            elif method == "os" and os_auth is not None:
                ok = check_os_credential(os_auth, secret)
            else:
                ok = verify_unlock(store, secret)
            audit_unlock(store, ok, "os account" if method == "os" else method)
            return ok

        self._task = tasks.start(
            asyncio.to_thread(check),
            on_done=self._checked,
            on_error=lambda _exc: self._checked(False),
            name="unlock",
            owner=self,
        )

    def _checked(self, ok: bool) -> None:
        self.passphrase.setEnabled(True)
        self.button.setEnabled(True)
        if ok:
            self.throttle.succeeded()
            self.passphrase.clear()
            self.error.clear()
            self.unlocked.emit()
            return
        delay = self.throttle.failed()
        self.passphrase.clear()
        self.error.setText(
            {
                "passphrase": "That passphrase does not open the database. Try again.",
                "pin": "That PIN is not right. Try again.",
                "os": "That is not your computer account password. Try again.",
            }.get(
                self._method,
                "The system keyring did not unlock the database. Check that you are signed in.",
            )
        )
        if delay > 0:
            self._waited()
        self.passphrase.setFocus()

    def _waited(self) -> None:
        """Keep the field and button off while the wait after failures runs."""
        left = self.throttle.wait_left()
        waiting = left > 0
        self.button.setEnabled(not waiting)
        self.passphrase.setEnabled(not waiting)
        if waiting:
            self.error.setText(f"Too many wrong attempts: try again in {int(left + 0.999)} s.")
            if not self._wait_timer.isActive():
                self._wait_timer.start()
        else:
            self._wait_timer.stop()
            if self.error.text().startswith("Too many"):
                self.error.setText("You can try again now.")
                self.passphrase.setFocus()
