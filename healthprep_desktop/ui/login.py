"""Signing in to a connection from the window: the browser login, cancellable.

The flow itself (demo detection, openers, the FHIR calls) is in sign_in_flow.py. This module
decides how it is shown: with a window on screen and no opener given, ``sign_in`` shows the
sign-in dialog (sign_in_dialog.py): the link with Copy and Open again and a countdown, so a
workstation whose browser does not open (Citrix, RDS, a locked-down image) is never left waiting
blind. The flow's names are re-exported here for the modules that import them from login.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.store import Connection
from healthprep_desktop.ui.sign_in_dialog import sign_in_with_dialog
from healthprep_desktop.ui.sign_in_flow import (
    DEMO_CONNECTION,
    LOGIN_TIME_LIMIT,
    LOOPBACK_PREFIXES,
    SANDBOX_VENDORS,
    UrlOpener,
    follow_in_process,
    is_demo,
    opener_for,
    sign_in_directly,
)

__all__ = [
    "DEMO_CONNECTION",
    "LOGIN_TIME_LIMIT",
    "LOOPBACK_PREFIXES",
    "SANDBOX_VENDORS",
    "UrlOpener",
    "follow_in_process",
    "is_demo",
    "opener_for",
    "sign_in",
]


def _window_on_screen() -> bool:
    app = QApplication.instance()
    return isinstance(app, QApplication) and any(w.isVisible() for w in app.topLevelWidgets())


def _active_window() -> Any:
    return QApplication.activeWindow()


async def sign_in(
    live: FhirConnection,
    stored: Connection,
    *,
    opener: UrlOpener | None = None,
    time_limit: float = LOGIN_TIME_LIMIT,
) -> TokenSet:
    """Sign in by the connection's method (browser or backend services)."""
    if (
        live.config.auth_method.is_interactive
        and opener is None
        and not is_demo(stored)
        and _window_on_screen()
    ):
        return await sign_in_with_dialog(live, stored, _active_window(), time_limit=time_limit)
    return await sign_in_directly(live, stored, opener=opener, time_limit=time_limit)
