"""Running the sandbox: uvicorn on a loopback socket in a background thread.

The socket is bound before the thread starts, so the port (ephemeral by default) is known at
once, and ``start()`` returns only when uvicorn accepts connections. The server has its own
event loop in its own thread, so sync tests and asyncio code (the app's own loop) can both talk
to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from healthprep_desktop.sandbox.app import SandboxApp
from healthprep_desktop.sandbox.config import (
    FaultConfig,
    OrgConfig,
    SandboxClock,
    SandboxConfig,
    demo_clients,
)
from healthprep_desktop.sandbox.org import Organization

_START_TIMEOUT = 15.0


class BackgroundServer:
    """Any ASGI app on 127.0.0.1 in a daemon thread (the sandbox, or a test's JWKS host)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY only on sockets that do, and without
        # it every response waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            backlog=2048,  # a small backlog stalls 50 parallel connects for a second
            limit_concurrency=None,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the sandbox server thread exited during start-up")
            if time.monotonic() > deadline:
                server.should_exit = True
                raise TimeoutError("the sandbox server did not start in time")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():  # e.g. a slow-body response still in flight
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxServer:
    """The SMART-on-FHIR sandbox: ``with SandboxServer(config) as sandbox: sandbox.base_url()``.

    Data is loaded when the object is built, so a test can inspect ``org(...).store`` before
    starting. ``faults`` and ``config.tokens`` may be changed while it runs.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig(orgs=[OrgConfig("demo", clients=demo_clients())])
        self.app = SandboxApp(self.config)
        self._server = BackgroundServer(self.app.asgi, self.config.host, self.config.port)

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # --- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return self._server.url

    def _org_id(self, org_id: str | None) -> str:
        return org_id if org_id is not None else self.config.orgs[0].org_id

    def base_url(self, org_id: str | None = None) -> str:
        """The FHIR base URL of an organization (the first one by default)."""
        return f"{self.url}/org/{self._org_id(org_id)}/fhir"

    def authorize_url(self, org_id: str | None = None) -> str:
        return f"{self.url}/org/{self._org_id(org_id)}/auth/authorize"

    def token_url(self, org_id: str | None = None) -> str:
        return f"{self.url}/org/{self._org_id(org_id)}/auth/token"

    # --- run-time controls -----------------------------------------------------------------

    def org(self, org_id: str | None = None) -> Organization:
        return self.app.orgs[self._org_id(org_id)]

    @property
    def faults(self) -> FaultConfig:
        """The live fault settings; assign attributes to change them mid-run."""
        return self.config.faults

    def set_faults(self, **changes: Any) -> None:
        """Change several fault settings at once and restart the random streams."""
        for name, value in changes.items():
            if not hasattr(self.config.faults, name):
                raise AttributeError(f"FaultConfig has no setting {name!r}")
            setattr(self.config.faults, name, value)
        self.app.injector.reset()

    @property
    def import_problems(self) -> list[str]:
        """One sentence per import file (or part of one) left out, across organizations."""
        found: list[str] = []
        for org in self.app.orgs.values():
            found += getattr(org.source, "problems", None) or []
        return found

    @property
    def clock(self) -> SandboxClock:
        return self.app.clock

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the request counters (the same as GET /_sandbox/stats)."""
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def revoke_refresh_tokens(self, client_id: str | None = None, org_id: str | None = None) -> int:
        """Revoke refresh tokens (all, or one client's) in one organization or in all."""
        orgs = [self.org(org_id)] if org_id is not None else list(self.app.orgs.values())
        return sum(o.auth.revoke_refresh_tokens(client_id) for o in orgs)

    def revoke_access_tokens(self, client_id: str | None = None, org_id: str | None = None) -> int:
        orgs = [self.org(org_id)] if org_id is not None else list(self.app.orgs.values())
        return sum(o.auth.revoke_access_tokens(client_id) for o in orgs)


def synthea_config(bundles: Path, **overrides: Any) -> SandboxConfig:
    """One organization holding imported bundles (handy for tests and the CLI)."""
    org = OrgConfig(
        "synthea", name="Synthea import", clients=demo_clients(), import_paths=[bundles]
    )
    return SandboxConfig(orgs=[org], **overrides)
