"""Text an EHR supplies (error_description, OperationOutcome text) reaches labels that show it as
plain text: Qt's auto-detected rich text would render `<a href>`, `<img>` or styled markup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from healthprep_desktop.ui.connection_status import ConnectionBanner
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
from healthprep_desktop.ui.main_window import MainWindow
from healthprep_desktop.ui.session import AppSession
from tests.ui.conftest import DAY, run

SERVER_TEXT = 'Sign-in failed: <a href="https://evil.example">click here</a><img src="x">'


def test_banner_shows_server_text_as_plain_text(qtbot: QtBot) -> None:
    banner = ConnectionBanner()
    qtbot.addWidget(banner)
    banner.show_message("error", SERVER_TEXT)
    assert banner.label.textFormat() == Qt.TextFormat.PlainText
    assert banner.label.text() == SERVER_TEXT


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[ConnectionsDialog]:
    d = ConnectionsDialog(session)
    qtbot.addWidget(d)
    yield d
    d.reject()
    run(qtbot, session.aclose())


def test_connections_dialog_status_labels_are_plain_text(dialog: ConnectionsDialog) -> None:
    for label in (dialog.progress_label, dialog.status_label, dialog.checks_label, dialog.errors):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def test_main_window_connection_label_is_plain_text(
    qtbot: QtBot, session: AppSession, window_settings: QSettings
) -> None:
    w = MainWindow(session, today=DAY - timedelta(days=3), settings=window_settings)
    qtbot.addWidget(w)
    try:
        assert w.connection_label.textFormat() == Qt.TextFormat.PlainText
        assert w.banner.label.textFormat() == Qt.TextFormat.PlainText
    finally:
        w.close()
        run(qtbot, session.aclose())
