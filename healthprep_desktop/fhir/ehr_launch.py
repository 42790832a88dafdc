"""SMART EHR launch: the EHR opens ``healthprep://launch?iss=...&launch=...`` and we sign in
for the patient on the EHR's screen.

The flow (SMART App Launch 2.x, "EHR launch"):

1. ``parse_launch_url`` reads ``iss`` (the FHIR base) and ``launch`` (an opaque handle);
2. ``find_launch_connection`` accepts the launch only when ``iss`` is the FHIR base of a
   connection an administrator configured (same normalised scheme, host, port and path). An
   unknown ``iss`` is refused before anything is sent to it: otherwise any web page could make
   the app sign in to (and send a clinician to) a server of the page's choosing;
3. ``complete_ehr_launch`` runs discovery, the authorize request with ``launch`` and the
   ``launch`` scope, the loopback redirect with PKCE, and the code exchange; the tokens are bound
   to that connection and the token response's ``patient`` (and ``encounter``) is the context.

The launch handle and the tokens are never logged. The browser is not given the authorize URL
on its command line (``webbrowser`` and ``xdg-open`` put their URL in a child's argv): it gets a
one-time loopback address that answers with a redirect to the authorize URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.errors import (
    AuthError,
    plain_text,
)
from healthprep_desktop.fhir.loopback import LoopbackListener, UrlOpener, open_system_browser
from healthprep_desktop.fhir.oauth import ClientAuth, authorize_url, pkce_for, token_response
from healthprep_desktop.fhir.pkce import Pkce, make_state
from healthprep_desktop.fhir.presets import user_read_scopes
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status import AuditEvent, AuditSink, no_audit
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.fhir.urls import fhir_url_problem

log = logging.getLogger(__name__)

LAUNCH_SCHEME = "healthprep"
# Standalone-launch context scopes; an EHR launch gets its context from the `launch` handle.
_STANDALONE_ONLY = frozenset({"launch/patient", "launch/encounter"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


class LaunchError(AuthError):
    """An EHR launch that cannot go ahead; the message is one sentence for the user."""


class UnknownIssuer(LaunchError):
    """The launch names a FHIR server no configured connection points at."""


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """What the EHR passed in the launch URL."""

    iss: str
    launch: str = field(repr=False)  # opaque, single-use: never logged or shown


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """The outcome of a completed EHR launch."""

    patient: str
    encounter: str | None
    tokens: TokenSet = field(repr=False)


def parse_launch_url(url: str) -> LaunchRequest:
    """``healthprep://launch?iss=...&launch=...`` read strictly (one value per parameter)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = urlsplit("")
    target = (parts.netloc or parts.path.strip("/")).lower()
    if parts.scheme.lower() != LAUNCH_SCHEME or target != "launch":
        raise LaunchError(
            "This is not an EHR launch address: it must look like "
            "healthprep://launch?iss=<FHIR base>&launch=<launch id>."
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    iss, launch = query.get("iss", []), query.get("launch", [])
    if len(iss) != 1 or len(launch) != 1 or not iss[0].strip() or not launch[0].strip():
        raise LaunchError(
            "The EHR launch address must carry exactly one iss and one launch parameter; "
            "start the app again from the EHR."
        )
    if problem := fhir_url_problem(iss[0]):
        raise LaunchError(f"The EHR launch names an unusable server: {problem}")
    return LaunchRequest(iss=iss[0].strip(), launch=launch[0].strip())


def normalised_base(url: str) -> str:
    """scheme://host[:port]/path with the case, default port and trailing slashes made even."""
    parsed = httpx.URL(url.strip())
    port = parsed.port if parsed.port not in (None, _DEFAULT_PORTS.get(parsed.scheme)) else None
    host = parsed.host.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    path = "/".join(segment for segment in parsed.path.split("/") if segment)
    return f"{parsed.scheme.lower()}://{netloc}/{path}".rstrip("/")


def same_fhir_base(iss: str, base_url: str) -> bool:
    """True when both name the same FHIR base. Whole path segments are compared, never string
    prefixes: ``/fhir`` does not match ``/fhir-other`` or ``/fhir/../admin``."""
    try:
        return normalised_base(iss) == normalised_base(base_url)
    except (httpx.InvalidURL, ValueError):
        return False


Key = TypeVar("Key")


@dataclass(frozen=True, slots=True)
class LaunchTarget(Generic[Key]):
    key: Key  # e.g. (tenant id, connection id)
    config: ConnectionConfig


def find_launch_connection(
    iss: str, candidates: Iterable[tuple[Key, ConnectionConfig]]
) -> LaunchTarget[Key]:
    """The enabled connection whose FHIR base is ``iss``; UnknownIssuer (sent nowhere) else."""
    matches = [
        LaunchTarget(key, config)
        for key, config in candidates
        if config.enabled and same_fhir_base(iss, config.base_url)
    ]
    if not matches:
        shown = plain_text(iss, 120)
        raise UnknownIssuer(
            f"This EHR launch comes from {shown}, which is not the FHIR address of any "
            "connection set up here, so nothing was sent to it: an administrator must add a "
            "connection with exactly that FHIR base URL, or the EHR's launch settings are wrong."
        )
    interactive = [m for m in matches if m.config.auth_method.is_interactive]
    if not interactive:
        raise LaunchError(
            f"The connection {matches[0].config.name!r} does not sign in through the browser "
            "(it uses backend services or a fixed key), so it cannot take an EHR launch; add a "
            "SMART user sign-in connection for this EHR."
        )
    return min(interactive, key=lambda m: m.config.priority)


def launch_scopes(configured: Iterable[str]) -> tuple[str, ...]:
    """The connection's scopes for an EHR launch: ``launch`` first, standalone ones dropped."""
    scopes = [s for s in configured if s not in _STANDALONE_ONLY and s != "launch"]
    if not any("/" in s for s in scopes):
        scopes += ["openid", "fhirUser", *user_read_scopes()]
    return ("launch", *dict.fromkeys(scopes))


async def complete_ehr_launch(
    connection: FhirConnection,
    request: LaunchRequest,
    *,
    open_url: UrlOpener = open_system_browser,
    time_limit: float = 300.0,
    audit: AuditSink = no_audit,
) -> LaunchContext:
    """Sign in for the launch's patient; the tokens become the connection's sign-in."""
    config = connection.config
    if not same_fhir_base(request.iss, config.base_url):
        # find_launch_connection chose this connection; a mismatch here is a caller's bug,
        # and the tokens must never go to another server.
        raise UnknownIssuer("This EHR launch does not belong to this connection.")
    if not config.auth_method.is_interactive:
        raise LaunchError(f"The connection {config.name!r} cannot take an EHR launch.")
    smart = await connection.smart_configuration()
    if not smart.authorization_endpoint:
        raise LaunchError(
            "The EHR's SMART configuration has no authorization endpoint, so it cannot launch "
            "apps; ask its administrator to enable SMART App Launch."
        )
    pkce = pkce_for(smart.code_challenge_methods, config.auth_method)
    state = make_state()
    listener = LoopbackListener(config.redirect)
    start = _StartPage()
    try:
        redirect_uri = await listener.start(state)
        url = authorize_url(
            smart.authorization_endpoint,
            client_id=config.client_id,
            redirect_uri=redirect_uri,
            scopes=launch_scopes(config.scopes),
            state=state,
            aud=config.audience or config.base_url,
            pkce=pkce,
            launch=request.launch,
        )
        opened = open_url(await start.serve(url))
        if inspect.isawaitable(opened):
            await opened
        code = await listener.wait(time_limit)
    finally:
        await start.close()
        await listener.close()
    client = connection._client_auth()  # secrets of this connection only
    tokens, encounter = await _exchange(
        connection.client.http, smart.token_endpoint, code, redirect_uri, client, pkce
    )
    tokens = tokens.bound(issuer=smart.token_endpoint, fhir_base=config.base_url)
    if not tokens.patient:
        audit(
            AuditEvent(
                "ehr_launch",
                connection.tenant,
                config.name,
                outcome="failure",
                detail={"via": "ehr_launch", "reason": "no patient in the launch context"},
            )
        )
        raise LaunchError(
            "The EHR signed you in but did not say which patient it launched for; start the "
            "app again from the patient's chart."
        )
    connection.tokens.accept_login(tokens)
    audit(
        AuditEvent(
            "ehr_launch",
            connection.tenant,
            config.name,
            user=tokens.fhir_user,
            patient_id=tokens.patient,
            # By reference: ids only; the store's trail keeps no action named ehr_launch.
            detail={"via": "ehr_launch", **({"encounter": encounter} if encounter else {})},
        )
    )
    log.info("EHR launch completed on connection %s", config.name)
    return LaunchContext(patient=tokens.patient, encounter=encounter, tokens=tokens)


async def _exchange(
    http: httpx.AsyncClient,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    client: ClientAuth,
    pkce: Pkce | None,
) -> tuple[TokenSet, str | None]:
    """The code exchange, keeping the launch context (TokenSet has no encounter field)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        data["code_verifier"] = pkce.verifier
    body = await token_response(http, token_endpoint, data, client)
    encounter = body.get("encounter")
    return TokenSet.from_response(body), encounter if isinstance(encounter, str) else None


class _StartPage:
    """A loopback address that redirects the browser to the authorize URL, so the launch
    handle never sits in a child process's argv (only this random address does)."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._target = ""
        self._path = "/launch/" + secrets.token_urlsafe(16)

    async def serve(self, target: str) -> str:
        self._target = target
        self._server = await asyncio.start_server(self._handle, host="127.0.0.1", port=0)
        port = int(self._server.sockets[0].getsockname()[1])
        return f"http://127.0.0.1:{port}{self._path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing in them matters for a redirect
            parts = line.decode("latin-1").split(" ")
            if len(parts) >= 2 and parts[0] == "GET" and parts[1] == self._path:
                head = f"HTTP/1.1 302 Found\r\nLocation: {self._target}\r\n"
            else:
                head = "HTTP/1.1 404 Not Found\r\n"
            writer.write(
                (head + "Cache-Control: no-store\r\nContent-Length: 0\r\n").encode(
                    "latin-1", "replace"
                )
                + b"Connection: close\r\n\r\n"
            )
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


__all__ = [
    "LaunchContext",
    "LaunchError",
    "LaunchRequest",
    "LaunchTarget",
    "UnknownIssuer",
    "complete_ehr_launch",
    "find_launch_connection",
    "launch_scopes",
    "normalised_base",
    "parse_launch_url",
    "same_fhir_base",
]
