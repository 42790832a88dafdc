"""Editing a connection in the dialog keeps what the form does not show (time-outs, retries, an
athenahealth practice, the panel Group, the redirect path) and saves each connection's own pace.
Real Qt offscreen, real encrypted store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RedirectConfig,
    TimeoutConfig,
    Vendor,
)
from healthprep_desktop.fhir.store_adapters import config_for_store, config_from_store
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog, UnsavedChoice
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import run

STORED = ConnectionConfig(
    name="Athena",
    base_url="https://api.athena.example/fhir/r4",
    vendor=Vendor.ATHENAHEALTH,
    auth_method=AuthMethod.SMART_BACKEND_SERVICES,
    client_id="hp-backend",
    scopes=("system/Patient.rs",),
    redirect=RedirectConfig(port=8765, path="/hp/callback"),
    rate_limit=RateLimitConfig(requests_per_second=7.5, burst=3, max_concurrency=4),
    timeout=replace(TimeoutConfig(), read=55.0),
    practice_id="195900",
    panel_group_id="panel-7",
    audience="https://api.athena.example/fhir/r4",
    max_pages=300,
)


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    session.scope.connections.add(
        STORED.name,
        STORED.vendor.value,
        STORED.base_url,
        config=config_for_store(STORED),
        priority=5,
    )
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    d.ask_unsaved = lambda _name: UnsavedChoice.DISCARD
    d.show()
    yield d
    d.reject()
    run(qtbot, session.aclose())


def _stored(session: AppSession) -> ConnectionConfig:
    found = session.scope.connections.by_name("Athena Practice")
    assert found is not None
    return config_from_store(found)


def test_renaming_keeps_every_setting_the_form_does_not_show(
    dialog: ConnectionsDialog, session: AppSession
) -> None:
    assert dialog.form.name.text() == "Athena"
    assert dialog.form.rate.value() == 7.5 and dialog.form.concurrency.value() == 4
    dialog.form.name.setText("Athena Practice")
    assert dialog.save() is not None
    saved = _stored(session)
    assert saved.practice_id == "195900" and saved.panel_group_id == "panel-7"
    assert saved.timeout.read == 55.0 and saved.max_pages == 300
    assert saved.audience == STORED.audience
    assert saved.redirect == RedirectConfig(port=8765, path="/hp/callback")
    assert saved.rate_limit == STORED.rate_limit


def test_each_connection_saves_its_own_pace(dialog: ConnectionsDialog, session: AppSession) -> None:
    dialog.form.name.setText("Athena Practice")
    dialog.form.rate.setValue(2.0)
    dialog.form.concurrency.setValue(2)
    assert dialog.form.is_modified()
    assert dialog.save() is not None
    pace = _stored(session).rate_limit
    assert (pace.requests_per_second, pace.max_concurrency, pace.burst) == (2.0, 2, 3)
    assert dialog.form.rate.specialValueText() == "no limit"  # 0 reads as "no limit"
