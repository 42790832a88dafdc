"""Issue 15 (admin dialog and sign-in): Test never saves, unsaved edits ask, errors name the
real cause, the signed-in user's name, sign-in with no working browser, the redirect URI.

Real sandbox over loopback, real stub servers, real Qt offscreen.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.diagnose import FAILED, OK, SKIPPED
from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog, UnsavedChoice
from healthprep_desktop.ui.login import follow_in_process
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sign_in_panel import HINT_NOT_OPENED, redirect_uri_to_register
from healthprep_desktop.ui.signed_in_user import human_name, name_from_claims, reference_of
from healthprep_desktop.workers.demo import DemoClinic
from tests.ui.conftest import DAY, run


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DemoClinic]:
    with DemoClinic(patients=5, clinic_day=DAY) as clinic:
        yield clinic


class Answers:
    def __init__(self, *choices: UnsavedChoice) -> None:
        self.choices = list(choices)
        self.asked: list[str] = []

    def __call__(self, name: str) -> UnsavedChoice:
        self.asked.append(name)
        return self.choices.pop(0) if self.choices else UnsavedChoice.DISCARD


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    d.ask_unsaved = Answers()
    d.show()
    yield d
    d.ask_unsaved = Answers()
    d.reject()
    run(qtbot, session.aclose())


def _fill(d: ConnectionsDialog, name: str, url: str) -> None:
    d.form.name.setText(name)
    d.form.name.textEdited.emit(name)
    d.form.base_url.setText(url)
    d.form.base_url.textEdited.emit(url)
    d.form.client_id.setText(DEMO_PUBLIC_CLIENT)
    d.form.client_id.textEdited.emit(DEMO_PUBLIC_CLIENT)


def _test(qtbot: QtBot, d: ConnectionsDialog) -> object:
    with qtbot.waitSignal(d.tested, timeout=20_000) as tested:
        d.test_button.click()
    return tested.args[0]


def test_test_connection_never_saves(
    qtbot: QtBot, dialog: ConnectionsDialog, session: AppSession, sandbox: DemoClinic
) -> None:
    _fill(dialog, "Untested EHR", sandbox.base_url)
    diagnosis = _test(qtbot, dialog)
    results = [c.result for c in diagnosis.checks]  # type: ignore[attr-defined]
    assert results[0] == OK and results[-1] == SKIPPED and FAILED not in results
    assert session.scope.connections.all() == []  # nothing stored, nothing enabled
    assert dialog.current_id is None and dialog.has_unsaved_edits
    assert "not saved" in dialog.progress_label.text()

    # A stored connection edited in the form: the test runs on the edits, the store keeps
    # the old settings.
    connection_id = dialog.save()
    assert connection_id is not None
    dialog.form.base_url.setText("http://127.0.0.1:9/fhir")
    dialog.form.base_url.textEdited.emit("http://127.0.0.1:9/fhir")
    diagnosis = _test(qtbot, dialog)
    assert diagnosis.checks[0].result == FAILED  # type: ignore[attr-defined]
    stored = session.scope.connections.get(connection_id)
    assert stored is not None and stored.base_url == sandbox.base_url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _HtmlPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Welcome to the clinic portal</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


def test_errors_name_the_real_cause(
    qtbot: QtBot, dialog: ConnectionsDialog, html_server: str
) -> None:
    _fill(dialog, "Refused", f"http://127.0.0.1:{_closed_port()}/fhir")
    _test(qtbot, dialog)
    assert "refused the connection" in dialog.progress_label.text()
    assert "scheme" not in dialog.progress_label.text()

    dialog.form.base_url.setText(html_server)
    dialog.form.base_url.textEdited.emit(html_server)
    _test(qtbot, dialog)
    text = dialog.progress_label.text().lower()
    assert "html" in text or "not a fhir" in text, text

    tls = html_server.replace("http://", "https://")  # a plain-HTTP server spoken to in TLS
    dialog.form.base_url.setText(tls)
    dialog.form.base_url.textEdited.emit(tls)
    _test(qtbot, dialog)
    assert "TLS" in dialog.progress_label.text(), dialog.progress_label.text()


def test_unsaved_edits_ask_before_closing(
    qtbot: QtBot, dialog: ConnectionsDialog, session: AppSession
) -> None:
    _fill(dialog, "Half done", "https://ehr.example.org/fhir")
    answers = Answers(UnsavedChoice.CANCEL)
    dialog.ask_unsaved = answers
    dialog.reject()
    assert answers.asked == ["Half done"] and dialog.isVisible()  # Cancel: still editing
    assert session.scope.connections.all() == []

    dialog.ask_unsaved = Answers(UnsavedChoice.SAVE)
    dialog.reject()
    assert not dialog.isVisible()
    assert [c.name for c in session.scope.connections.all()] == ["Half done"]


def test_switching_connections_with_unsaved_edits_asks(
    dialog: ConnectionsDialog, session: AppSession
) -> None:
    _fill(dialog, "First", "https://one.example.org/fhir")
    first = dialog.save()
    dialog.new_connection()
    _fill(dialog, "Second", "https://two.example.org/fhir")
    second = dialog.save()
    assert first is not None and second is not None
    dialog.form.name.setText("Second renamed")
    dialog.form.name.textEdited.emit("Second renamed")
    answers = Answers(UnsavedChoice.CANCEL)
    dialog.ask_unsaved = answers
    dialog.list.setCurrentRow(0)  # "First"
    assert answers.asked == ["Second renamed"]
    assert dialog.current_id == second and dialog.form.name.text() == "Second renamed"
    dialog.ask_unsaved = Answers(UnsavedChoice.DISCARD)
    dialog.list.setCurrentRow(0)
    assert dialog.current_id == first and not dialog.has_unsaved_edits
    stored = session.scope.connections.get(second)
    assert stored is not None and stored.name == "Second"


def test_sign_in_with_a_browser_that_fails_to_open(
    qtbot: QtBot, dialog: ConnectionsDialog, sandbox: DemoClinic
) -> None:
    tried: list[str] = []

    def no_browser(url: QUrl) -> bool:
        tried.append(url.toString())
        return False

    dialog.open_in_browser = no_browser
    _fill(dialog, "Sandbox EHR", sandbox.base_url)
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as signed:
        dialog.connect_now()
        panel = dialog.sign_in_panel
        qtbot.waitUntil(lambda: bool(panel.link.text()), timeout=10_000)
        assert panel.isVisible() and panel.hint.text() == HINT_NOT_OPENED
        assert "left" in panel.countdown.text() and 240 < panel.seconds_left() <= 300
        link = panel.link.text()
        assert "/authorize" in link and "code_challenge=" in link
        panel.copy_link()
        clipboard = QGuiApplication.clipboard()
        assert clipboard is not None and clipboard.text() == link
        panel.open_button.click()  # "Open again" asks the platform again
        assert len(tried) == 2
        # The user pastes the link into a browser they do have.
        run(qtbot, follow_in_process(link))
    assert not isinstance(signed.args[0], BaseException), signed.args[0]
    assert dialog.sign_in_panel.isHidden()
    status = dialog.status_label.text()
    assert "Signed in as " in status and "http" not in status.split("Signed in as ", 1)[1]


def test_redirect_uri_to_register_is_shown(dialog: ConnectionsDialog) -> None:
    form = dialog.form
    assert not form.redirect_uri.isHidden()
    assert "http://127.0.0.1/callback" in form.redirect_uri.text()
    form.redirect_port.setValue(8765)
    assert "http://127.0.0.1:8765/callback" in form.redirect_uri.text()
    form.vendor.setCurrentIndex(form.vendor.findData("epic"))  # the preset's port
    assert form.redirect_uri.text().startswith("Register this redirect URI")
    assert dialog.has_unsaved_edits


def test_names_for_signed_in_as() -> None:
    import jwt

    token = jwt.encode({"name": "Dr. Ana Ruiz", "fhirUser": "x"}, "k" * 32, algorithm="HS256")
    assert name_from_claims(token) == "Dr. Ana Ruiz"
    assert name_from_claims("not a jwt") is None
    assert reference_of("https://ehr.example.org/fhir/Practitioner/123") == (
        "Practitioner",
        "123",
    )
    assert human_name({"name": [{"given": ["Ana"], "family": "Ruiz", "prefix": ["Dr."]}]}) == (
        "Dr. Ana Ruiz"
    )
    assert redirect_uri_to_register.__doc__


def test_sign_in_dialog_for_the_main_window(
    qtbot: QtBot, session: AppSession, sandbox: DemoClinic
) -> None:
    """The window's Prepare/Reconnect path: the same link, copy and countdown; Cancel ends it."""
    import asyncio

    from PySide6.QtWidgets import QApplication

    from healthprep_desktop.fhir.errors import LoginCancelled
    from healthprep_desktop.ui.sign_in_dialog import SignInDialog, sign_in_with_dialog

    connection_id = sandbox.ensure_connection(session.store, session.scope.id)
    stored = session.scope.connections.get(connection_id)
    assert stored is not None
    stored = session.scope.connections.update(connection_id, name="Valley EHR", vendor="generic")
    live = run(qtbot, session.open(connection_id))

    def dialogs() -> list[SignInDialog]:
        return [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, SignInDialog) and w.isVisible()
        ]

    def attempt() -> asyncio.Task[object]:
        return asyncio.get_event_loop().create_task(
            sign_in_with_dialog(live, stored, open_in_browser=lambda _u: False)
        )

    task = attempt()
    qtbot.waitUntil(lambda: bool(dialogs()) and bool(dialogs()[0].panel.link.text()))
    dialogs()[0].reject()
    qtbot.waitUntil(task.done, timeout=10_000)
    assert isinstance(task.exception(), LoginCancelled)

    task = attempt()
    qtbot.waitUntil(lambda: bool(dialogs()) and bool(dialogs()[0].panel.link.text()))
    run(qtbot, follow_in_process(dialogs()[0].panel.link.text()))
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.exception() is None and live.status.is_connected
    qtbot.waitUntil(lambda: not dialogs())
    run(qtbot, session.aclose())


def test_the_windows_sign_in_shows_the_link_by_itself(
    qtbot: QtBot, session: AppSession, sandbox: DemoClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """login.sign_in with a window on screen and no opener (Prepare, Reconnect): the dialog."""
    from PySide6.QtWidgets import QApplication, QWidget

    from healthprep_desktop.ui import sign_in_dialog
    from healthprep_desktop.ui.login import sign_in
    from healthprep_desktop.ui.sign_in_dialog import SignInDialog

    monkeypatch.setattr(sign_in_dialog, "default_open_in_browser", lambda _u: False)
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    connection_id = sandbox.ensure_connection(session.store, session.scope.id)
    stored = session.scope.connections.update(connection_id, name="Valley EHR", vendor="generic")
    assert stored is not None
    live = run(qtbot, session.open(connection_id))
    import asyncio

    task = asyncio.get_event_loop().create_task(sign_in(live, stored))

    def link() -> str:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, SignInDialog) and w.isVisible():
                return w.panel.link.text()
        return ""

    qtbot.waitUntil(lambda: bool(link()))
    run(qtbot, follow_in_process(link()))
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.exception() is None and live.status.is_connected
    run(qtbot, session.aclose())


def test_an_edit_undone_by_hand_is_no_edit(dialog: ConnectionsDialog) -> None:
    _fill(dialog, "Valley", "https://valley.example.org/fhir")
    assert dialog.has_unsaved_edits and dialog.save() is not None
    assert not dialog.has_unsaved_edits
    dialog.form.name.setText("Valley 2")
    assert dialog.has_unsaved_edits
    dialog.form.name.setText("Valley")
    assert not dialog.has_unsaved_edits
    dialog.form.enabled.setChecked(False)  # a checkbox counts too
    assert dialog.has_unsaved_edits
