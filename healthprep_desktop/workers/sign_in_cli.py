"""``connection sign-in``: the browser sign-in of a saved connection, from a terminal.

It prints the link to open (a terminal may be on another machine than the browser: the link
works on this computer only, where the loopback redirect listens), opens the system browser
when there is one, and counts down while it waits. ``--lasting`` then registers a key of this
workstation with the EHR (fhir/registration.py) so that later runs get tokens without a
browser; a revoked key is registered anew at the next sign-in.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from typing import Any, TextIO

from healthprep_desktop.workers.connection_keys import Refusal

COUNTDOWN_EVERY = 10.0  # seconds between countdown lines when the output is not a terminal


class Countdown:
    """'waiting for the sign-in in the browser (N s left)' on stderr: redrawn each second on
    a terminal, one line every ten seconds in a log."""

    def __init__(self, limit: float, stream: TextIO | None = None) -> None:
        self.limit = limit
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._task: asyncio.Task[None] | None = None
        self._drawn = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        started = time.monotonic()
        said_at = -COUNTDOWN_EVERY
        while True:
            waited = time.monotonic() - started
            left = max(0, round(self.limit - waited))
            line = f"waiting for the sign-in in the browser ({left} s left)"
            if self.interactive:
                self.stream.write("\r" + line.ljust(self._drawn))
                self._drawn = len(line)
                self.stream.flush()
            elif waited - said_at >= COUNTDOWN_EVERY:
                said_at = waited
                self.stream.write(line + "\n")
                self.stream.flush()
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.interactive and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lasting",
        action="store_true",
        help="register this workstation's key with the EHR for lasting access (Epic: dynamic "
        "client registration), so later runs need no browser",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="only print the link; do not open a browser"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="seconds to wait for the sign-in in the browser (default 300)",
    )


def _can_open_browser() -> bool:
    """A browser can show up: Windows and macOS always; elsewhere a display or $BROWSER (a
    console browser must not take over the terminal we count down in)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))


def sign_in(opened: Any, args: argparse.Namespace) -> int:
    return asyncio.run(_sign_in(opened, args))


async def _sign_in(opened: Any, args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.config import AuthMethod
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.fhir.loopback import open_system_browser
    from healthprep_desktop.fhir.registration import LastingAccess
    from healthprep_desktop.fhir.store_adapters import StoreSecrets
    from healthprep_desktop.store import AuditAction
    from healthprep_desktop.workers.connections import open_connection

    if not 5 <= args.time_limit <= 3600:
        raise Refusal("--time-limit takes 5 to 3600 seconds.")
    live = open_connection(opened.store, opened.scope.id, opened.connection.id)
    name = opened.connection.name
    method = live.config.auth_method
    try:
        if not method.is_interactive:
            raise Refusal(
                f"{name!r} signs in with {method.value}, not through a browser: "
                "'connection test' checks it."
            )
        if args.lasting and method is not AuthMethod.SMART_PUBLIC_PKCE:
            raise Refusal(
                "--lasting is for public browser sign-ins (--auth smart); this connection "
                f"uses {method.value}."
            )
        countdown = Countdown(args.time_limit)

        async def open_link(url: str) -> None:
            print("Open this link in a browser on this computer to sign in:", flush=True)
            print(f"  {url}", flush=True)
            if not args.no_browser and _can_open_browser():
                # In a thread: some browsers' launchers wait for the browser to exit, and the
                # redirect listener runs on this event loop.
                opened_browser = await asyncio.to_thread(open_system_browser, url)
                if opened_browser:
                    print("A browser window was opened.", flush=True)
            countdown.start()

        try:
            tokens = await live.login_interactive(open_url=open_link, time_limit=args.time_limit)
        except (FhirError, OSError) as exc:
            raise Refusal(f"The sign-in to {name!r} did not complete: {exc}") from None
        finally:
            await countdown.stop()
        who = f" as {tokens.user_reference}" if tokens.user_reference else ""
        print(f"Signed in to {name!r}{who}.")
        lasting = LastingAccess(live, StoreSecrets(opened.store))
        try:
            previous = lasting.load()
            registration = await lasting.after_sign_in()
            if args.lasting and registration is None:
                registration = await lasting.register()
        except FhirError as exc:
            raise Refusal(f"Signed in, but lasting access could not be set up: {exc}") from None
        if registration is not None and registration != previous:
            opened.scope.audit(
                AuditAction.CONNECTION_CHANGE,
                detail=f"{name}: workstation key registered for lasting access",
            )
            print(
                "Lasting access: this workstation's key is registered with the EHR; new access "
                "tokens come without a browser until the EHR revokes the key."
            )
        return 0
    finally:
        await live.aclose()
