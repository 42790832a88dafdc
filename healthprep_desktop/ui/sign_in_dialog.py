"""Sign-in from anywhere in the window (Prepare, Reconnect): a small non-modal dialog with the
sign-in link, Copy, Open again, a countdown and Cancel, while the real flow runs.

``sign_in_with_dialog`` is what ``login.sign_in`` calls with a window on screen: the demo
sandbox and backend-services connections sign in without showing anything. It runs the flow
through sign_in_flow.py, never back through login.py (which imports this module).
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.store import Connection
from healthprep_desktop.ui.sign_in_flow import LOGIN_TIME_LIMIT, is_demo, sign_in_directly
from healthprep_desktop.ui.sign_in_panel import BrowserOpener, OpenInBrowser, SignInPanel
from healthprep_desktop.ui.window_fit import fit_to_screen

# How links open when the caller gives no opener (None: QDesktopServices.openUrl). Tests set it
# so no real browser starts.
default_open_in_browser: OpenInBrowser | None = None


class SignInDialog(QDialog):
    def __init__(self, live: FhirConnection, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self.setWindowTitle(f"Sign in · {title}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"Sign in to {title} to continue.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.panel = SignInPanel()
        layout.addWidget(self.panel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        fit_to_screen(self, 640, 220)

    def reject(self) -> None:
        """Cancel (the button, Esc, the close box) ends the wait: login_interactive raises
        LoginCancelled."""
        self.live.cancel_login()
        super().reject()


async def sign_in_with_dialog(
    live: FhirConnection,
    stored: Connection,
    parent: QWidget | None = None,
    *,
    open_in_browser: OpenInBrowser | None = None,
    time_limit: float = LOGIN_TIME_LIMIT,
) -> TokenSet:
    if not live.config.auth_method.is_interactive or is_demo(stored):
        return await sign_in_directly(live, stored, time_limit=time_limit)
    dialog = SignInDialog(live, stored.name, parent)
    opener = BrowserOpener(open_in_browser or default_open_in_browser, dialog)
    dialog.panel.watch(opener, time_limit)
    dialog.show()
    try:
        return await sign_in_directly(live, stored, opener=opener, time_limit=time_limit)
    finally:
        dialog.panel.finish()
        dialog.hide()
        dialog.deleteLater()
