"""Signing in to a connection from the window: the browser login, cancellable.

Real EHRs sign in through the system browser (RFC 8252 loopback redirect). The embedded demo
sandbox approves every sign-in at once, so for it the app plays the browser itself: it follows
the authorize redirect to its own loopback listener. Everything else about the flow (discovery,
PKCE, state, code exchange, token storage) is the real one.

With a window on screen and no opener given, ``sign_in`` shows the sign-in dialog
(sign_in_dialog.py): the link with Copy and Open again and a countdown, so a workstation whose
browser does not open (Citrix, RDS, a locked-down image) is never left waiting blind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from healthprep_desktop.fhir.errors import AuthError
from healthprep_desktop.fhir.loopback import open_system_browser
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.store import Connection

SANDBOX_VENDORS = frozenset({"sandbox", "demo"})
DEMO_CONNECTION = "Demo clinic (sandbox)"  # workers.demo.DEMO_CONNECTION (not imported: heavy)
LOOPBACK_PREFIXES = ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")
UrlOpener = Callable[[str], object]

LOGIN_TIME_LIMIT = 300.0  # seconds the user has to finish signing in in the browser


async def follow_in_process(url: str) -> None:
    """Be the browser for an auto-approving authorization server (the demo sandbox)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as browser:
        response = await browser.get(url)
        callback = response.headers.get("Location", "")
        if response.status_code not in (302, 303, 307) or not callback:
            raise AuthError(
                f"the demo sign-in page answered HTTP {response.status_code} instead of a redirect"
            )
        await browser.get(callback)


def is_demo(connection: Connection) -> bool:
    """The embedded demo sandbox's connection (on loopback: never a real EHR)."""
    on_loopback = connection.base_url.startswith(LOOPBACK_PREFIXES)
    named = connection.name == DEMO_CONNECTION or connection.vendor in SANDBOX_VENDORS
    return named and on_loopback


def opener_for(connection: Connection) -> UrlOpener:
    return follow_in_process if is_demo(connection) else open_system_browser


def _window_on_screen() -> bool:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    return isinstance(app, QApplication) and any(w.isVisible() for w in app.topLevelWidgets())


def _active_window() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.activeWindow()


async def sign_in(
    live: FhirConnection,
    stored: Connection,
    *,
    opener: UrlOpener | None = None,
    time_limit: float = LOGIN_TIME_LIMIT,
) -> TokenSet:
    """Sign in by the connection's method (browser or backend services)."""
    if live.config.auth_method.is_interactive:
        if opener is None and not is_demo(stored) and _window_on_screen():
            # Imported here: sign_in_dialog calls back into this function with its opener.
            from healthprep_desktop.ui.sign_in_dialog import sign_in_with_dialog

            return await sign_in_with_dialog(live, stored, _active_window(), time_limit=time_limit)
        return await live.login_interactive(
            open_url=opener or opener_for(stored), time_limit=time_limit
        )
    if live.config.auth_method.value == "smart_backend_services":
        return await live.login_backend_services()
    raise AuthError("this connection signs in without a browser; nothing to do")
