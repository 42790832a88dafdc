"""The connection form's CA file and proxy fields: checked, saved in the store, shown again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.store_adapters import config_from_store
from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import run


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    d.show()
    yield d
    d.reject()
    run(qtbot, session.aclose())


def test_ca_file_and_proxy_are_checked_saved_and_shown_again(
    dialog: ConnectionsDialog, session: AppSession, tmp_path: Path
) -> None:
    form = dialog.form
    assert not form.ca_file.isHidden() and not form.proxy.isHidden()
    form.name.setText("Clinic EHR")
    form.base_url.setText("https://ehr.clinic.local/fhir")
    form.client_id.setText(DEMO_PUBLIC_CLIENT)
    form.ca_file.setText(str(tmp_path / "missing.pem"))
    form.proxy.setText("http://user:secret@proxy:3128")
    assert dialog.save() is None
    assert "cannot be found" in dialog.errors.text()
    assert "user name or password" in dialog.errors.text()
    assert session.scope.connections.all() == []

    ca_file = tmp_path / "clinic-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    form.ca_file.setText(str(ca_file))
    form.proxy.setText("http://proxy.clinic.local:3128")
    connection_id = dialog.save()
    assert connection_id is not None
    row = session.scope.connections.get(connection_id)
    assert row is not None
    config = config_from_store(row)
    assert (config.ca_file, config.proxy) == (str(ca_file), "http://proxy.clinic.local:3128")

    form.clear()
    assert form.ca_file.text() == "" and form.proxy.text() == ""
    form.load(config, secret_stored=False, priority=100)
    assert form.ca_file.text() == str(ca_file)
    assert form.proxy.text() == "http://proxy.clinic.local:3128"
