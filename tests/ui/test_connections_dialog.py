"""Admin connection settings against the embedded sandbox: add, validate, test, connect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.diagnose import OK, SKIPPED, Diagnosis
from healthprep_desktop.fhir.errors import LoginCancelled
from healthprep_desktop.sandbox.config import DEMO_BASIC_CLIENT, DEMO_PUBLIC_CLIENT
from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog, UnsavedChoice
from healthprep_desktop.ui.login import follow_in_process
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.demo import DemoClinic
from tests.ui.conftest import DAY, run


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DemoClinic]:
    with DemoClinic(patients=20, clinic_day=DAY) as clinic:
        yield clinic


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    d.opener = follow_in_process
    d.ask_unsaved = lambda _name: UnsavedChoice.DISCARD  # no modal box in tests
    d.show()
    yield d
    d.reject()
    run(qtbot, session.aclose())


def _fill(d: ConnectionsDialog, name: str, url: str, client: str = DEMO_PUBLIC_CLIENT) -> None:
    d.form.name.setText(name)
    d.form.base_url.setText(url)
    d.form.client_id.setText(client)


def test_validation_messages_are_clear(dialog: ConnectionsDialog, session: AppSession) -> None:
    assert dialog.save() is None
    assert "name" in dialog.errors.text() and "FHIR base URL" in dialog.errors.text()
    _fill(dialog, "EHR", "http://ehr.example.org/fhir")
    assert dialog.save() is None and "https://" in dialog.errors.text()
    dialog.form.base_url.setText("https://ehr.example.org/fhir")
    dialog.form.client_id.clear()
    assert dialog.save() is None and "client ID" in dialog.errors.text()
    assert session.scope.connections.all() == []


def test_vendor_presets_fill_the_method_and_scopes(dialog: ConnectionsDialog) -> None:
    form = dialog.form
    form.vendor.setCurrentIndex(form.vendor.findData("athenahealth"))
    assert form.method is AuthMethod.SMART_CONFIDENTIAL_BASIC
    assert not form.secret.isHidden() and form.secret_label.text() == "Client secret:"
    assert "user/Patient.read" in form.scopes.toPlainText()
    form.auth.setCurrentIndex(form.auth.findData(AuthMethod.BASIC.value))
    assert not form.username.isHidden() and form.client_id.isHidden()
    assert form.secret_label.text() == "Password:"
    form.auth.setCurrentIndex(form.auth.findData(AuthMethod.NONE.value))
    assert form.secret.isHidden() and form.scopes.isHidden()


def test_add_test_and_connect(
    qtbot: QtBot, dialog: ConnectionsDialog, session: AppSession, sandbox: DemoClinic
) -> None:
    _fill(dialog, "Sandbox EHR", sandbox.base_url)
    connection_id = dialog.save()
    assert connection_id is not None
    stored = session.scope.connections.get(connection_id)
    assert stored is not None and stored.base_url == sandbox.base_url
    assert stored.config["client_id"] == DEMO_PUBLIC_CLIENT
    changes = [
        e for e in session.scope.audit_entries() if e.action == AuditAction.CONNECTION_CHANGE
    ]
    assert changes and changes[-1].detail == "added: Sandbox EHR"

    with qtbot.waitSignal(dialog.tested, timeout=20_000) as tested:
        dialog.test_button.click()
    diagnosis = tested.args[0]
    assert isinstance(diagnosis, Diagnosis), diagnosis
    results = [c.result for c in diagnosis.checks]
    assert results[0] == OK and results[-1] == SKIPPED and "failed" not in results  # no sign-in
    assert "✔" in dialog.checks_label.text()

    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as signed:
        dialog.connect_button.click()
    assert not isinstance(signed.args[0], BaseException), signed.args[0]
    assert dialog.status_label.text().startswith("Connected")
    assert "valid until" in dialog.status_label.text()
    assert dialog.connect_button.text() == "R&e-authenticate"
    with qtbot.waitSignal(dialog.tested, timeout=20_000) as tested:
        dialog.test_button.click()
    assert [c.result for c in tested.args[0].checks][-1] == OK  # patient data readable

    dialog.sign_out()
    assert dialog.status_label.text().startswith("Not connected")


def test_a_confidential_secret_is_stored_but_never_shown(
    qtbot: QtBot, dialog: ConnectionsDialog, session: AppSession, sandbox: DemoClinic
) -> None:
    _fill(dialog, "Confidential", sandbox.base_url, DEMO_BASIC_CLIENT)
    form = dialog.form
    form.auth.setCurrentIndex(form.auth.findData(AuthMethod.SMART_CONFIDENTIAL_BASIC.value))
    assert dialog.save() is None and "client secret" in dialog.errors.text()
    form.secret.setText("sandbox-secret-basic")
    connection_id = dialog.save()
    assert connection_id is not None
    assert form.secret.text() == "" and "stored" in form.secret.placeholderText()
    assert session.scope.secrets.get(connection_id, "client_secret") == "sandbox-secret-basic"
    assert "sandbox-secret-basic" not in json.dumps(
        session.scope.connections.get(connection_id).config  # type: ignore[union-attr]
    )
    assert dialog.save() == connection_id  # an empty field keeps the stored secret
    assert session.scope.secrets.get(connection_id, "client_secret") == "sandbox-secret-basic"
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as signed:
        dialog.connect_now()
    assert not isinstance(signed.args[0], BaseException), signed.args[0]


def test_sign_in_can_be_cancelled(
    qtbot: QtBot, dialog: ConnectionsDialog, sandbox: DemoClinic
) -> None:
    opened: list[str] = []
    dialog.opener = opened.append  # a browser the user never finishes signing in with
    _fill(dialog, "Sandbox EHR", sandbox.base_url)
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as signed:
        dialog.connect_now()
        qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
        assert not dialog.cancel_button.isHidden()
        dialog.cancel_button.click()
    assert isinstance(signed.args[0], LoginCancelled)
    assert "cancelled" in dialog.progress_label.text()
    assert opened[0].startswith(sandbox.base_url.rsplit("/fhir", 1)[0])


def test_remove_a_connection(dialog: ConnectionsDialog, session: AppSession) -> None:
    _fill(dialog, "Old EHR", "https://old.example.org/fhir")
    assert dialog.save() is not None
    assert dialog.remove_selected(confirm=False)
    assert session.scope.connections.all() == []
    assert session.scope.audit_entries()[-1].detail == "removed: Old EHR"


def test_import_an_endpoint_directory(
    qtbot: QtBot, dialog: ConnectionsDialog, tmp_path: Path
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Endpoint",
                    "id": "e1",
                    "status": "active",
                    "address": "https://fhir.valley.example/api/FHIR/R4/",
                    "managingOrganization": {"reference": "Organization/o1"},
                }
            },
            {"resource": {"resourceType": "Organization", "id": "o1", "name": "Valley Health"}},
        ],
    }
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    entries = run(qtbot, dialog.import_directory(path))
    assert [(e.organization, e.base_url) for e in entries] == [
        ("Valley Health", "https://fhir.valley.example/api/FHIR/R4")
    ]
    dialog.form.vendor.setCurrentIndex(dialog.form.vendor.findData("epic"))
    dialog.apply_directory_entry(entries[0])
    assert dialog.form.name.text() == "Valley Health"
    assert dialog.form.base_url.text() == "https://fhir.valley.example/api/FHIR/R4"
    assert dialog.form.vendor.currentData() == "epic" and dialog.current_id is None
