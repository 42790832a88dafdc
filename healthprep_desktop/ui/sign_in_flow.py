"""The sign-in flow itself, with no window of its own: which connections are the demo, how a link
opens, and the call into the FHIR layer.

Split from login.py so the sign-in dialog and panel can use it while login.py decides whether to
show that dialog: before, login.py and sign_in_dialog.py imported each other.

Real EHRs sign in through the system browser (RFC 8252 loopback redirect). The embedded demo
sandbox approves every sign-in at once, so for it the app plays the browser itself: it follows
the authorize redirect to its own loopback listener. Everything else about the flow (discovery,
PKCE, state, code exchange, token storage) is the real one.
"""

from __future__ import annotations

from collections.abc import Callable

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


async def sign_in_directly(
    live: FhirConnection,
    stored: Connection,
    *,
    opener: UrlOpener | None = None,
    time_limit: float = LOGIN_TIME_LIMIT,
) -> TokenSet:
    """Sign in by the connection's method, opening links with ``opener`` (default: the system
    browser, or the in-process one for the demo) and showing nothing."""
    if live.config.auth_method.is_interactive:
        return await live.login_interactive(
            open_url=opener or opener_for(stored), time_limit=time_limit
        )
    if live.config.auth_method.value == "smart_backend_services":
        return await live.login_backend_services()
    raise AuthError("this connection signs in without a browser; nothing to do")
