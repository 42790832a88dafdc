"""Write-back needs permission to file documents; this compares it with what the sign-in got.

Before a run that writes back, the scope write-back needs (DocumentReference create) is
compared with the scope the sign-in was granted. When it is missing:

* on a terminal the batch asks "Sign in again to allow posting? [y/N]" and, on yes, signs in
  again asking for the missing permission (added to the connection's requested scopes first:
  a sign-in only grants what it asks for);
* without a terminal it says, in one sentence, the exact command that fixes it;
* the window calls ``write_scope_gap`` and ``allow_write_back`` and then its own sign-in (the
  one-click re-consent).

Adding a scope to the requested list does not clear the stored sign-in (only the server
binding does, store/repos/connections.py), so answering no changes nothing that matters.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.workers.connections import connection_config, open_connection
from healthprep_desktop.workers.writeback_step import WRITE_RESOURCE, scope_allows_write

PROMPT = "Sign in again to allow posting? [y/N] "
CLI = "healthprep-desktop"
_V2_PERMISSION = re.compile(r"^[a-z]+/[A-Za-z*]+\.[cruds]+(\?.*)?$")

Ask = Callable[[str], str]  # shows the prompt, returns the answer (input() on a terminal)
UrlOpener = Callable[[str], object | Awaitable[object]]


@dataclass(frozen=True)
class WriteScopeGap:
    """The sign-in cannot file documents: what it was granted and what it must ask for."""

    connection: str  # the connection's name
    granted: str  # the granted scope string, as the token endpoint sent it
    needed: str  # the scope to ask for, e.g. "user/DocumentReference.write"
    requested: bool  # the connection already asks for it (the user or the EHR declined it)

    def command(self, tenant: str) -> str:
        """The exact command that signs in again (``connection sign-in``), shell-quoted."""
        return (
            f"{CLI} connection sign-in --tenant {shlex.quote(tenant)} "
            f"--connection {shlex.quote(self.connection)}"
        )

    def sentence(self, tenant: str) -> str:
        """One sentence for a run without a terminal."""
        # The command last, whole, so that it can be copied as it is.
        return (
            f"Write-back needs a new sign-in: the sign-in of {self.connection!r} may not file "
            f"documents ({self.needed}), so the sheets are stored and not posted; sign in again "
            f"with this command, then run the batch with --resume to post them: "
            f"{self.command(tenant)}"
        )


def write_scope_for(config: ConnectionConfig) -> str:
    """The scope that lets this connection create DocumentReferences, in the style (SMART v1
    ``.write`` or v2 ``.c``) and context (``user``/``system``) its other scopes use."""
    context = "system" if config.auth_method is AuthMethod.SMART_BACKEND_SERVICES else "user"
    v2 = any(_V2_PERMISSION.match(s) for s in config.scopes)
    return f"{context}/{WRITE_RESOURCE}.{'cu' if v2 else 'write'}"


def write_scope_gap(connection: FhirConnection) -> WriteScopeGap | None:
    """None when the sign-in may file documents, or when the server did not say what it
    granted (posting is then tried); else what is missing. Not a SMART connection: None."""
    config = connection.config
    if not config.auth_method.is_smart:
        return None
    tokens = connection.tokens.tokens
    if tokens is None or not tokens.scope.strip() or scope_allows_write(tokens.scope):
        return None
    requested = scope_allows_write(" ".join(config.scopes))
    return WriteScopeGap(
        connection=config.name,
        granted=tokens.scope,
        needed=write_scope_for(config),
        requested=requested,
    )


def allow_write_back(store: Store, tenant_id: str, connection_id: int) -> bool:
    """Make the connection ask for permission to file documents at its next sign-in (audited);
    False when it already asks. The stored sign-in is kept."""
    config = connection_config(store, tenant_id, connection_id)
    if scope_allows_write(" ".join(config.scopes)):
        return False
    needed = write_scope_for(config)
    widened = dataclasses.replace(config, scopes=(*config.scopes, needed))
    scope = store.tenant(tenant_id)
    scope.connections.update(connection_id, config=config_for_store(widened))
    scope.audit(
        AuditAction.CONNECTION_CHANGE,
        detail=f"{config.name}: asks for {needed} at sign-in (write-back)",
    )
    return True


async def sign_in_for_write_back(
    store: Store,
    tenant_id: str,
    connection_id: int,
    *,
    open_url: UrlOpener,
    time_limit: float = 300.0,
) -> FhirConnection:
    """Sign in again asking for the write permission; returns the new, signed-in connection
    (the caller closes the old one). Raises the sign-in's own error when it fails."""
    allow_write_back(store, tenant_id, connection_id)
    conn = open_connection(store, tenant_id, connection_id)
    try:
        if conn.config.auth_method is AuthMethod.SMART_BACKEND_SERVICES:
            await conn.login_backend_services()
        else:
            await conn.login_interactive(open_url=open_url, time_limit=time_limit)
    except BaseException:
        await conn.aclose()
        raise
    return conn


async def offer_write_sign_in(
    store: Store,
    tenant_id: str,
    tenant_name: str,
    connection_id: int,
    connection: FhirConnection,
    *,
    interactive: bool,
    ask: Ask,
    say: Callable[[str], None],
    open_url: UrlOpener,
) -> FhirConnection:
    """Before a write-back run: when the sign-in may not file documents, offer the fix (a
    terminal: ask, then sign in again; none: the command to run). Returns the connection to
    use: the same one, or the new sign-in's (the old one is then closed)."""
    gap = write_scope_gap(connection)
    if gap is None:
        return connection
    if not interactive:
        say(gap.sentence(tenant_name))
        return connection
    say(
        f"The sign-in of {gap.connection!r} may not file documents in the EHR ({gap.needed}): "
        "without it the sheets are stored and not posted."
    )
    try:
        answer = ask(PROMPT)
    except EOFError:  # the terminal closed its input: no
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        say(f"Not signing in again; to post the sheets later: {gap.command(tenant_name)}")
        return connection
    fresh = await sign_in_for_write_back(store, tenant_id, connection_id, open_url=open_url)
    await connection.aclose()
    still = write_scope_gap(fresh)
    if still is not None:
        say(
            "The new sign-in still may not file documents (the EHR or the user declined "
            f"{still.needed}): the sheets are stored and not posted."
        )
    else:
        say("Signed in again with permission to file documents.")
    return fresh


def _print_and_open(url: str) -> None:
    from healthprep_desktop.fhir.loopback import open_system_browser

    print("Open this link in a browser on this computer to sign in:", flush=True)
    print(f"  {url}", flush=True)
    # A console browser must not take over the terminal: only where a window can show up.
    if sys.platform in ("win32", "darwin") or any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    ):
        open_system_browser(url)


async def offer_in_terminal(
    store: Store, tenant_id: str, connection_id: int, connection: FhirConnection
) -> FhirConnection:
    """The command line's ``batch --write-back``: ``offer_write_sign_in`` on this terminal (a
    question when stdin and stdout are a terminal, else the command to run, on stderr)."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def say(text: str) -> None:
        print(text, file=sys.stdout if interactive else sys.stderr, flush=True)

    return await offer_write_sign_in(
        store,
        tenant_id,
        store.tenant(tenant_id).tenant.name,
        connection_id,
        connection,
        interactive=interactive,
        ask=input,
        say=say,
        open_url=_print_and_open,
    )
