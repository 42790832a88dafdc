"""``connection sign-in`` headless through the real entry point, the real encrypted store and
the sandbox over loopback: the link is printed, the "browser" ($BROWSER, a small script that
follows the link like a user approving the sign-in) opens it, the countdown runs, and
``--lasting`` registers a workstation key so later commands need no browser."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import (
    DEMO_PUBLIC_CLIENT,
    OrgConfig,
    SandboxConfig,
    demo_clients,
)
from healthprep_desktop.sandbox.registration import registry_for
from healthprep_desktop.store import Store

T = ["--tenant", "Clinic"]
C = ["--connection", "Epic"]
FOLLOW = """
import sys, httpx
answer = httpx.get(sys.argv[1], follow_redirects=False, timeout=10)
page = httpx.get(answer.headers["Location"], timeout=10)
sys.exit(0 if page.status_code == 200 else 1)
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    org = OrgConfig("clinic", clients=demo_clients(), source=SyntheticClinic(seed=4, patients=2))
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW)
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    # webbrowser reads $BROWSER once per process: make it read it again.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})


def _add(url: str) -> int:
    return main(
        ["connection", "add", *T, "--name", "Epic", "--base-url", url, "--vendor", "epic",
         "--auth", "smart", "--client-id", DEMO_PUBLIC_CLIENT,
         "--scopes", "openid fhirUser offline_access user/*.read"]
    )  # fmt: skip


def _clear_tokens() -> None:
    from healthprep_desktop.fhir.store_adapters import StoreTokenStore

    with Store.open() as store:
        (tenant,) = store.tenants()
        StoreTokenStore(store).clear(tenant.id, "Epic")


def test_sign_in_with_lasting_access_then_no_browser_then_sign_out(
    sandbox: SandboxServer,
    browser: None,
    healthprep_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _add(sandbox.base_url()) == 0
    capsys.readouterr()
    assert main(["connection", "sign-in", *T, *C, "--lasting", "--time-limit", "30"]) == 0
    captured = capsys.readouterr()
    assert "Open this link in a browser on this computer to sign in:" in captured.out
    assert f"{sandbox.token_url().rsplit('/', 1)[0]}/authorize?" in captured.out
    assert "A browser window was opened." in captured.out
    assert "Signed in to 'Epic' as Practitioner/" in captured.out
    assert "Lasting access: this workstation's key is registered" in captured.out
    assert "PRIVATE" not in captured.out + captured.err
    (registered,) = registry_for(sandbox.org().auth).clients.values()
    assert registered.software_id == DEMO_PUBLIC_CLIENT
    assert main(["connection", "show", *T, *C]) == 0
    assert "Lasting access: workstation key" in capsys.readouterr().out

    # The sign-in's tokens are gone; the test still reads every type, with no browser.
    _clear_tokens()
    assert main(["connection", "test", *T, *C]) == 0
    out = capsys.readouterr().out
    assert "The connection works." in out, out

    assert main(["connection", "sign-out", *T, *C]) == 0
    assert "this workstation's registered key is forgotten" in capsys.readouterr().out
    assert main(["connection", "test", *T, *C]) == 0
    assert "sign in to test access to data" in capsys.readouterr().out


def test_sign_in_waits_with_a_countdown_and_gives_up_in_one_sentence(
    sandbox: SandboxServer, healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add(sandbox.base_url()) == 0
    capsys.readouterr()
    code = main(["connection", "sign-in", *T, *C, "--no-browser", "--time-limit", "5"])
    captured = capsys.readouterr()
    assert code == 2
    assert "A browser window was opened." not in captured.out
    assert "waiting for the sign-in in the browser (5 s left)" in captured.err
    assert "The sign-in to 'Epic' did not complete: no answer from the browser within 5 s" in (
        captured.err
    )
    assert "Traceback" not in captured.out + captured.err


def test_backend_connections_have_no_browser_sign_in(
    sandbox: SandboxServer, healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(
        ["connection", "add", *T, "--name", "Epic", "--base-url", sandbox.base_url(),
         "--auth", "smart-backend", "--client-id", "backend"]
    ) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["connection", "sign-in", *T, *C]) == 2
    assert capsys.readouterr().err.strip() == (
        "'Epic' signs in with smart_backend_services, not through a browser: 'connection test' "
        "checks it."
    )
