"""The window and an EHR launch (ui/ehr_launch.py), with real Qt offscreen, the real store and
the embedded sandbox over loopback HTTP: the sandbox issues the launch, the window signs in (this
test is the browser), shows the launched patient, and prepares the sheet when asked. A second
start hands its launch address to the running copy over a real local socket."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import httpx
import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
from healthprep_desktop.ui.ehr_launch import EhrLaunchController, LaunchListener, forward_launch
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import run


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    org = OrgConfig("clinic", clients=demo_clients(), source=SyntheticClinic(seed=8, patients=3))
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server


def _add_connection(session: AppSession, base_url: str) -> int:
    config = ConnectionConfig(
        name="Sandbox EHR",
        base_url=base_url,
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        client_id=DEMO_PUBLIC_CLIENT,
        scopes=("openid", "fhirUser", "user/*.read"),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=4),
        retry=RetryConfig(max_attempts=2, base_delay=0.02, max_delay=0.1),
    )
    row = session.scope.connections.add(
        config.name, "generic", config.base_url, config=config_for_store(config)
    )
    return row.id


def _issue_launch(sandbox: SandboxServer, patient: str) -> str:
    root = sandbox.base_url().rsplit("/org/", 1)[0]
    response = httpx.post(f"{root}/org/clinic/launch", data={"patient": patient}, timeout=10)
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


async def _browser(url: str) -> None:
    def follow() -> None:
        try:
            with urllib.request.urlopen(url, timeout=10):
                pass
        except urllib.error.HTTPError as refused:
            refused.close()

    assert url.startswith("http://127.0.0.1:")
    await asyncio.to_thread(follow)


def test_the_window_opens_on_the_launched_patient_and_prepares_on_demand(
    qtbot: QtBot,
    qloop: object,
    session: AppSession,
    window_settings: QSettings,
    sandbox: SandboxServer,
) -> None:
    _add_connection(session, sandbox.base_url())
    org = sandbox.org()
    patient_id = org.store.patient_ids()[1]
    patient = org.store.get("Patient", patient_id)
    assert patient is not None
    family = patient.json()["name"][0]["family"]
    window = MainWindow(session, settings=window_settings)
    qtbot.addWidget(window)
    window.show()
    controller = EhrLaunchController(session, window, open_url=_browser)
    try:
        with qtbot.waitSignal(controller.launched, timeout=20_000) as launched:
            controller.handle(_issue_launch(sandbox, patient_id))
        assert launched.args is not None and launched.args[0].patient == patient_id
        panel = controller.panel
        assert panel.isVisible()
        assert family in panel.patient_label.text()
        assert panel.prepare_button.isEnabled() and not panel.open_button.isEnabled()
        # Nothing is prepared until the user asks.
        assert session.scope.sheets.all(patient_id=patient_id) == []
        with qtbot.waitSignal(controller.sheet_ready, timeout=60_000) as ready:
            panel.prepare_button.click()
        assert ready.args is not None
        stored = session.scope.sheets.get(ready.args[0])
        assert stored is not None and stored.info.patient_id == patient_id
        assert stored.pdf.startswith(b"%PDF")
        assert panel.open_button.isEnabled()
    finally:
        panel.close()
        window.close()
        run(qtbot, session.aclose(), timeout=30_000)
        run(qtbot, window.shutdown(), timeout=30_000)


def test_an_unknown_server_is_refused_in_the_panel(
    qtbot: QtBot, qloop: object, session: AppSession, sandbox: SandboxServer
) -> None:
    _add_connection(session, sandbox.base_url())
    opened: list[str] = []
    controller = EhrLaunchController(session, None, open_url=opened.append)
    with qtbot.waitSignal(controller.failed, timeout=5_000) as failed:
        controller.handle("healthprep://launch?iss=https%3A%2F%2Fevil.example%2Ffhir&launch=zz")
    assert failed.args is not None
    assert "not the FHIR address of any connection" in failed.args[0]
    assert "zz" not in controller.panel.status_label.text()
    assert opened == []  # no browser, nothing sent
    refused = [e for e in session.store.audit.entries() if "EHR launch refused" in e.detail]
    assert len(refused) == 1 and "evil.example" in refused[0].detail
    assert not controller.panel.prepare_button.isEnabled()
    controller.panel.close()


def test_a_second_start_forwards_its_launch_to_the_running_copy(
    qtbot: QtBot, qloop: object
) -> None:
    name = f"healthprep-test-{uuid.uuid4().hex[:12]}"
    assert not forward_launch("healthprep://launch?iss=x&launch=y", name)  # nobody running
    listener = LaunchListener(name)
    assert listener.listen()
    try:
        url = "healthprep://launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir&launch=abc"
        with qtbot.waitSignal(listener.launch_requested, timeout=5_000) as got:
            sent: list[bool] = []
            # The second copy runs in its own process in real life; a thread stands in here so
            # its blocking socket calls do not stall this event loop.
            run(qtbot, asyncio.to_thread(lambda: sent.append(forward_launch(url, name))))
        assert sent == [True]
        assert got.args == [url]
    finally:
        listener.close()


def test_the_app_hook_takes_launches_from_argv_and_from_macos_open_url_events(
    qtbot: QtBot, qloop: object, session: AppSession, window_settings: QSettings
) -> None:
    from PySide6.QtCore import QCoreApplication, QUrl
    from PySide6.QtGui import QFileOpenEvent

    from healthprep_desktop.ui.ehr_launch import install

    window = MainWindow(session, settings=window_settings)
    qtbot.addWidget(window)
    window.show()
    unknown = "healthprep://launch?iss=https%3A%2F%2Funknown.example%2Ffhir&launch=h1"
    controller, listener, url_events = install(session, window, unknown)
    try:
        # From argv: refused at once (no connection has that FHIR base).
        assert "not the FHIR address" in controller.panel.status_label.text()
        refusals: list[str] = []
        controller.failed.connect(refusals.append)
        # macOS: the clicked address arrives as a FileOpen event on the application.
        QCoreApplication.sendEvent(
            QCoreApplication.instance(),
            QFileOpenEvent(
                QUrl("healthprep://launch?iss=https%3A%2F%2Fother.example%2Ffhir&launch=h2")
            ),
        )
        assert len(refusals) == 1 and "other.example" in refusals[0]
        # A second start of the app reaches this one through the listener.
        with qtbot.waitSignal(listener.launch_requested, timeout=5_000):
            run(qtbot, asyncio.to_thread(forward_launch, unknown, listener.name))
        qtbot.waitUntil(lambda: len(refusals) == 2, timeout=5_000)
    finally:
        QCoreApplication.instance().removeEventFilter(url_events)  # type: ignore[union-attr]
        listener.close()
        controller.panel.close()
        window.close()
        run(qtbot, window.shutdown(), timeout=30_000)


def test_a_launch_waits_for_the_unlock_and_the_panel_follows_the_lock(
    qtbot: QtBot, qloop: object, session: AppSession, window_settings: QSettings
) -> None:
    window = MainWindow(session, settings=window_settings)
    qtbot.addWidget(window)
    window.show()
    controller = EhrLaunchController(session, window, open_url=lambda _url: None)
    refusals: list[str] = []
    controller.failed.connect(refusals.append)
    try:
        window.lock()
        controller.handle("healthprep://launch?iss=https%3A%2F%2Fx.example%2Ffhir&launch=h")
        assert not controller.panel.isVisible() and refusals == []  # nothing while locked
        window.unlock()
        qtbot.waitUntil(lambda: len(refusals) == 1, timeout=5_000)
        assert controller.panel.isVisible()
        window.lock()
        qtbot.waitUntil(lambda: not controller.panel.isVisible(), timeout=5_000)
        window.unlock()
        qtbot.waitUntil(controller.panel.isVisible, timeout=5_000)
    finally:
        controller.panel.close()
        window.close()
        run(qtbot, window.shutdown(), timeout=30_000)


def test_a_second_app_process_hands_its_launch_to_the_running_one(
    qtbot: QtBot, qloop: object, healthprep_home: object
) -> None:
    import os
    import subprocess
    import sys

    # The running copy's listener, under the name the second process derives from the same
    # HEALTHPREP_HOME; the second process is the real entry point, as the OS would start it.
    listener = LaunchListener()
    assert listener.listen()
    url = "healthprep://launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir&launch=from-os"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        with qtbot.waitSignal(listener.launch_requested, timeout=60_000) as got:
            result = run(
                qtbot,
                asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "healthprep_desktop", url],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                ),
                timeout=60_000,
            )
        assert result.returncode == 0, result.stderr
        assert got.args == [url]
        assert "from-os" not in result.stdout + result.stderr
    finally:
        listener.close()
