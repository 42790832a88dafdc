"""EHR launches issued by the sandbox (SMART App Launch, "EHR launch").

An EHR starts an app for the patient on screen by opening the app's launch URL with two
parameters: ``iss`` (the FHIR base URL) and ``launch`` (an opaque, short-lived handle to the
context). The app then sends ``launch`` back in its authorize request with the ``launch`` scope,
and the token response names the patient (and encounter) of that context.

Here:

- ``LaunchRegistry`` issues and resolves launch handles (one per organization's auth server);
- ``LaunchHttp.issue`` is ``POST /org/{org}/launch`` (form or query: ``patient``, optional
  ``encounter``), which answers ``{"launch", "iss", "url"}`` with the app's
  ``healthprep://launch?iss=...&launch=...`` address;
- ``register`` adds ``healthprep-desktop sandbox launch --patient ID`` which asks a running
  sandbox for a launch and prints (or opens) that address, as an EHR's button would.

A launch handle is a random 32-byte token; it names no patient, expires after ten minutes and
works for one authorization only, like the handles real EHRs send.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode

from healthprep_desktop.sandbox.config import SandboxClock

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

LAUNCH_SCHEME = "healthprep"
LAUNCH_LIFETIME = 600.0


def app_launch_url(iss: str, launch: str) -> str:
    """The address an EHR opens to start HealthPrep Desktop on a patient."""
    return f"{LAUNCH_SCHEME}://launch?" + urlencode({"iss": iss, "launch": launch})


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """What the EHR had on screen when the user pressed the app's button."""

    patient: str
    encounter: str | None = None


class LaunchRegistry:
    """Launch handles of one organization: issued by the EHR side, redeemed at /authorize."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self._clock = clock or SandboxClock()
        self._issued: dict[str, tuple[LaunchContext, float]] = {}
        self._lock = threading.Lock()
        self.redeemed = 0

    def issue(self, context: LaunchContext) -> str:
        handle = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._lock:
            for old in [k for k, (_, exp) in self._issued.items() if exp <= now]:
                del self._issued[old]
            self._issued[handle] = (context, now + LAUNCH_LIFETIME)
        return handle

    def redeem(self, handle: str) -> LaunchContext | None:
        """The context of a live handle, once; None for an unknown, used or expired one."""
        with self._lock:
            found = self._issued.pop(handle, None)
        if found is None or found[1] <= self._clock.now():
            return None
        self.redeemed += 1
        return found[0]


class _Records(Protocol):
    def get(self, resource_type: str, resource_id: str, /) -> object | None: ...


class _Issuer(Protocol):
    @property
    def launches(self) -> LaunchRegistry: ...


class LaunchOrg(Protocol):
    """What a launch needs of an organization (``sandbox.org.Organization`` has it). A
    Protocol, not the class: org.py imports auth.py, which imports this module."""

    @property
    def org_id(self) -> str: ...
    @property
    def store(self) -> _Records: ...
    @property
    def auth(self) -> _Issuer: ...


class LaunchHttp:
    """``POST /org/{org_id}/launch``: the EHR side of an EHR launch."""

    def __init__(self, orgs: Mapping[str, LaunchOrg]) -> None:
        self.orgs = orgs

    async def issue(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        org = self.orgs.get(request.path_params["org_id"])
        if org is None:
            return JSONResponse({"error": "unknown organization"}, 404)
        params = dict(request.query_params)
        if request.method == "POST":
            body = (await request.body()).decode("utf-8", "replace")
            params.update(parse_qsl(body))
        patient = params.get("patient", "")
        if not patient or org.store.get("Patient", patient) is None:
            return JSONResponse({"error": "patient is missing or unknown"}, 400)
        encounter = params.get("encounter") or None
        if encounter is not None and org.store.get("Encounter", encounter) is None:
            return JSONResponse({"error": "encounter is unknown"}, 400)
        handle = org.auth.launches.issue(LaunchContext(patient, encounter))
        iss = f"{str(request.base_url).rstrip('/')}/org/{org.org_id}/fhir"
        body_out = {"launch": handle, "iss": iss, "url": app_launch_url(iss, handle)}
        return JSONResponse(body_out, headers={"Cache-Control": "no-store"})


# --- healthprep-desktop sandbox launch ---------------------------------------------------------


def register(sandbox_parser: argparse.ArgumentParser) -> None:
    """Adds ``sandbox launch`` beside the ``sandbox`` command's own options."""
    actions = sandbox_parser.add_subparsers(dest="sandbox_command", metavar="ACTION")
    launch = actions.add_parser(
        "launch",
        help="ask a running sandbox for an EHR launch of a patient and print (or open) it",
        description="Acts as the EHR's 'open HealthPrep' button: the running sandbox issues a "
        "launch for the patient and this prints healthprep://launch?iss=...&launch=...",
    )
    launch.add_argument(
        "--sandbox-url",
        required=True,
        help="the running sandbox's address, e.g. http://127.0.0.1:8080 (its banner shows it)",
    )
    launch.add_argument("--org", default="demo", help="organization id (default: demo)")
    launch.add_argument("--patient", required=True, help="the patient's id in the sandbox")
    launch.add_argument("--encounter", help="an encounter id for the launch context")
    launch.add_argument(
        "--open", action="store_true", help="open the address (the installed app handles it)"
    )
    launch.set_defaults(func=run_launch)


def run_launch(args: argparse.Namespace) -> int:
    import httpx

    from healthprep_desktop.fhir.urls import is_loopback_host

    root = str(args.sandbox_url).rstrip("/")
    try:
        host = httpx.URL(root).host
    except httpx.InvalidURL:
        host = ""
    if not is_loopback_host(host):
        print("The sandbox runs on this machine: give its http://127.0.0.1:PORT address.")
        return 2
    form: dict[str, Any] = {"patient": args.patient}
    if args.encounter:
        form["encounter"] = args.encounter
    try:
        response = httpx.post(f"{root}/org/{args.org}/launch", data=form, timeout=10)
    except httpx.HTTPError as exc:
        print(f"Cannot reach the sandbox at {root} ({type(exc).__name__}); is it running?")
        return 2
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body.get("url"), str):
        reason = body.get("error") if isinstance(body, dict) else None
        print(f"The sandbox refused the launch: {reason or f'HTTP {response.status_code}'}.")
        return 2
    url: str = body["url"]
    print(url, flush=True)
    if args.open:
        import webbrowser

        if not webbrowser.open(url):
            print(
                "No handler opened the address; is HealthPrep Desktop installed?", file=sys.stderr
            )
            return 2
    return 0
