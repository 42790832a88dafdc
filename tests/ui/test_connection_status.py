"""The status-bar indicator and the expiry / dropped-connection banner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.ui.connection_status import banner_message, indicator_text
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import DAY, run

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_indicator_texts() -> None:
    assert "No EHR connection" in indicator_text(None)
    until = NOW + timedelta(minutes=32)
    text = indicator_text(ConnectionStatus(True, token_expiry=until), name="Epic", now=NOW)
    assert text == f"Epic: Connected until {until.astimezone():%H:%M}"
    dropped = ConnectionStatus(False, last_error="HTTP 401 from the token endpoint")
    assert indicator_text(dropped, now=NOW) == (
        "Not connected: action required (HTTP 401 from the token endpoint)"
    )


def test_banner_warns_before_an_unrenewable_token_lapses() -> None:
    soon = ConnectionStatus(True, token_expiry=NOW + timedelta(minutes=3))
    assert banner_message(soon, can_refresh=True, now=NOW) is None  # it renews itself
    kind, text = banner_message(soon, can_refresh=False, now=NOW) or ("", "")
    assert kind == "warning" and "expires at" in text
    later = ConnectionStatus(True, token_expiry=NOW + timedelta(hours=1))
    assert banner_message(later, can_refresh=False, now=NOW) is None
    expired = ConnectionStatus(True, token_expiry=NOW - timedelta(minutes=1))
    assert banner_message(expired, can_refresh=False, now=NOW)[0] == "error"  # type: ignore[index]
    dropped = ConnectionStatus(False, last_error="refresh token revoked")
    kind, text = banner_message(dropped, can_refresh=True, now=NOW) or ("", "")
    assert kind == "error" and "refresh token revoked" in text
    assert banner_message(ConnectionStatus(False), can_refresh=True, now=NOW) is None


@pytest.fixture
def window(qtbot: QtBot, session: AppSession, window_settings: QSettings) -> Iterator[MainWindow]:
    config = ConnectionConfig("Clinic EHR", "https://ehr.example.org/fhir", client_id="app")
    session.scope.connections.add(
        config.name, "generic", config.base_url, config=config_for_store(config)
    )
    w = MainWindow(session, today=DAY - timedelta(days=3), settings=window_settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    run(qtbot, w.shutdown())


def test_window_follows_the_connection_status(
    qtbot: QtBot, window: MainWindow, session: AppSession
) -> None:
    qtbot.waitUntil(lambda: "Not signed in" in window.connection_label.text())
    # Never signed in: the banner offers the sign-in (Prepare would sign in first too).
    assert window.banner.isVisible() and "Sign" in window.reconnect_button().text()
    stored = session.default_connection()
    assert stored is not None
    live = session.live_connection(stored.id)
    assert live is not None
    live.status_tracker.update(last_error="the EHR revoked the sign-in")
    assert window.banner.isVisible() and "revoked" in window.banner.label.text()
    assert "Not signed in" in window.connection_label.text()
    assert window.reconnect_button().isVisible()
    live.status_tracker.update(
        is_connected=True, last_error=None, token_expiry=datetime.now(UTC) + timedelta(minutes=2)
    )
    assert "Connected until" in window.connection_label.text()
    assert window.banner.isVisible() and "expires at" in window.banner.label.text()
