"""Issue 15 "fit", found by bench/ui.py: after a connection test the Status box carries several
lines (status, then the test's findings); the dialog must still fit 1920x1080 at 2x scaling
(960x540 logical), so the status scrolls instead of raising the dialog's minimum height."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from healthprep_desktop.ui.connections_dialog import ConnectionsDialog
from healthprep_desktop.ui.connections_support import UnsavedChoice
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.window_fit import SMALL_SCREENS, overflow
from tests.ui.conftest import run

# What a tested, signed-in connection shows (status_lines, then the checks' findings).
STATUS = (
    "Connected\nSign-in valid until 2026-12-03 14:35\nLast sync: 2026-12-03 13:35\n"
    "Signed in as Dr. Aisha Nelson, MD"
)
CHECKS = (
    "✔ FHIR 4.0.1.\n✔ SMART endpoints found.\n✔ The server offers the authorization_code grant "
    "browser sign-in (public app with PKCE) needs.\n✔ Patient data can be read.\n✔ Read access "
    "is granted to all 22 types needed.\n✔ A sample search of each of the 20 types works."
)


def test_a_long_status_still_fits_small_screens(qtbot: QtBot, session: AppSession) -> None:
    dialog = ConnectionsDialog(session)
    dialog.ask_unsaved = lambda _name: UnsavedChoice.DISCARD
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.status_label.setText(STATUS)
    dialog.checks_label.setText(CHECKS)
    dialog.progress_label.setText("The connection works.")
    dialog.progress_label.show()
    dialog.connect_button.setText("R&e-authenticate")  # what a connected one shows
    dialog.disconnect_button.show()
    qtbot.wait(10)  # the layout settles
    for area in SMALL_SCREENS:
        assert overflow(dialog, area) == [], area
    dialog.reject()
    run(qtbot, session.aclose())
