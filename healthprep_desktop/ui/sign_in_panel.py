"""Browser sign-in that is never a dead end: the authorize link with Copy and Open again, a
countdown, and a plain hint when no browser opened.

On Citrix, RDS or a locked-down image the system browser often does not open; the user then
copies the link into a browser they do have (on the same machine: the redirect comes back to
this computer's loopback listener). ``BrowserOpener`` is the ``open_url`` the FHIR layer calls:
it asks Qt to open the link, remembers whether that worked and tells the panel. The link holds
only the PKCE challenge and a one-time state, no secret, so showing it is safe; it is never
logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.fhir.config import ConnectionConfig, RedirectConfig
from healthprep_desktop.ui.sign_in_flow import LOGIN_TIME_LIMIT

# Opens a URL in the system browser; True when the platform says it did.
OpenInBrowser = Callable[[QUrl], bool]

HINT_OPENED = (
    "A browser window should have opened at the EHR's sign-in page. If you do not see it, "
    "copy the link and paste it into a browser on this computer."
)
HINT_NOT_OPENED = (
    "No browser could be opened on this computer. Copy the link and paste it into a browser "
    "on this computer (the EHR sends you back to HealthPrep Desktop when you are done)."
)


def redirect_uri_to_register(redirect: RedirectConfig) -> str:
    """The redirect URI an EHR administrator registers for this connection.

    With a fixed port the URI is exact; with "any free port" the app follows RFC 8252 (the
    authorization server must accept any loopback port), so the URI is shown without a port.
    """
    if redirect.port:
        return redirect.uri(redirect.port)
    return f"http://{redirect.host}{redirect.path}"


def redirect_note(config: ConnectionConfig) -> str:
    """One sentence for the admin: what to register, and when the port matters."""
    uri = redirect_uri_to_register(config.redirect)
    if config.redirect.port:
        return f"Register this redirect URI with the EHR:\n{uri}"
    return (
        f"Register this redirect URI with the EHR:\n{uri}\n(any port; if the EHR needs an "
        "exact URI, set a fixed redirect port)"
    )


class BrowserOpener(QObject):
    """The ``open_url`` callable for ``FhirConnection.login_interactive``."""

    link_ready = Signal(str, bool)  # the authorize URL, whether a browser opened

    def __init__(
        self, open_in_browser: OpenInBrowser | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._open = open_in_browser or QDesktopServices.openUrl
        self.url = ""
        self.opened = False

    def __call__(self, url: str) -> bool:
        self.url = url
        self.opened = self.open_again()
        self.link_ready.emit(url, self.opened)
        return self.opened

    def open_again(self) -> bool:
        if not self.url:
            return False
        try:
            opened = bool(self._open(QUrl(self.url)))
        except Exception:  # a broken platform handler means "not opened"
            opened = False
        self.opened = opened
        return opened


class SignInPanel(QWidget):
    """What the user sees while the app waits for the browser sign-in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.opener: BrowserOpener | None = None
        self._deadline = 0.0
        self.hint = QLabel()
        self.hint.setObjectName("signInHint")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.link = QLineEdit()
        self.link.setObjectName("signInLink")
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Sign-in link")
        self.copy_button = QPushButton("Cop&y link")
        self.copy_button.setObjectName("copySignInLink")
        self.copy_button.clicked.connect(self.copy_link)
        self.open_button = QPushButton("Open in &browser again")
        self.open_button.setObjectName("openSignInLink")
        self.open_button.clicked.connect(self.open_again)
        self.countdown = QLabel()
        self.countdown.setObjectName("signInCountdown")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.link, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addLayout(row)
        layout.addWidget(self.countdown)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self.hide()

    def watch(self, opener: BrowserOpener, time_limit: float = LOGIN_TIME_LIMIT) -> None:
        """Show the panel for one sign-in attempt (the link appears when the app has it)."""
        self.opener = opener
        opener.link_ready.connect(self._link_ready)
        self._deadline = time.monotonic() + time_limit
        self.link.clear()
        self.hint.setText("Preparing the sign-in page…")
        self.copy_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self._tick()
        self._timer.start()
        self.show()

    def finish(self) -> None:
        self._timer.stop()
        self.opener = None
        self.hide()

    def _link_ready(self, url: str, opened: bool) -> None:
        self.link.setText(url)
        self.link.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.hint.setText(HINT_OPENED if opened else HINT_NOT_OPENED)
        if not opened:
            self.link.setFocus()
            # Selected for Ctrl+C, shown from its start (selectAll would scroll to the end).
            self.link.setSelection(len(url), -len(url))

    def copy_link(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None and self.link.text():
            clipboard.setText(self.link.text())
            self.countdown.setText("Link copied. " + self._remaining_text())

    def open_again(self) -> None:
        if self.opener is None:
            return
        opened = self.opener.open_again()
        self.hint.setText(HINT_OPENED if opened else HINT_NOT_OPENED)

    def seconds_left(self) -> int:
        return max(0, int(self._deadline - time.monotonic() + 0.999))

    def _remaining_text(self) -> str:
        minutes, seconds = divmod(self.seconds_left(), 60)
        return f"Waiting for you to sign in: {minutes}:{seconds:02d} left."

    def _tick(self) -> None:
        self.countdown.setText(self._remaining_text())
        if self.seconds_left() <= 0:
            self._timer.stop()
