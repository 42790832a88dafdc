"""Issue 15 "fit": every dialog and window this part owns fits a 1366x768 screen and 1920x1080
at 2x scaling (960x540 logical): sized to the screen it opens on, and its smallest usable size
(frame included) within each small screen. Real widgets, offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from healthprep_desktop.fhir.config import ConnectionConfig
from healthprep_desktop.fhir.credentials import MemorySecrets
from healthprep_desktop.fhir.directory import DirectoryEntry
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.ui.about import AboutDialog, collect
from healthprep_desktop.ui.audit_viewer import AuditViewer
from healthprep_desktop.ui.connections_dialog import ConnectionsDialog, DirectoryPicker
from healthprep_desktop.ui.connections_support import UnsavedChoice
from healthprep_desktop.ui.correction_dialogs import DismissDialog, DocumentDialog, EntryDialog
from healthprep_desktop.ui.corrections import StoredDocument
from healthprep_desktop.ui.first_run import FirstRunDialog
from healthprep_desktop.ui.library_dialog import LibraryDialog
from healthprep_desktop.ui.pin_dialog import PinDialog
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.sign_in_dialog import SignInDialog
from healthprep_desktop.ui.sign_in_panel import BrowserOpener
from healthprep_desktop.ui.unlock import NO_KEYRING, PassphraseDialog, PassphraseRequest
from healthprep_desktop.ui.window_fit import SMALL_SCREENS, fitting_size, overflow
from tests.ui.conftest import run

DOCUMENT = StoredDocument("DocumentReference/d1", "Colonoscopy report", "2021-03-04", "text " * 900)


def _connections(session: AppSession) -> QWidget:
    dialog = ConnectionsDialog(session)
    dialog.ask_unsaved = lambda _name: UnsavedChoice.DISCARD
    return dialog


_LIVE: list[FhirConnection] = []


def _sign_in_dialog() -> QWidget:
    live = FhirConnection(
        ConnectionConfig(name="Valley EHR", base_url="https://ehr.example.org/fhir"),
        tenant="t",
        tokens=MemoryTokenStore(),
        secrets=MemorySecrets(),
    )
    _LIVE.append(live)
    dialog = SignInDialog(live, "Valley EHR")
    dialog.panel.watch(BrowserOpener(lambda _u: False, dialog))
    return dialog


FACTORIES: dict[str, Callable[[AppSession], QWidget]] = {
    "connections": _connections,
    "audit": lambda s: AuditViewer(s),
    "library": lambda s: LibraryDialog(s),
    "first run": lambda s: FirstRunDialog(s),
    "passphrase": lambda _s: PassphraseDialog(
        PassphraseRequest(create=True, explanation=NO_KEYRING)
    ),
    "pin": lambda s: PinDialog(s.store),
    "about": lambda _s: AboutDialog(facts=collect()),
    "dismiss": lambda _s: DismissDialog(
        "Colorectal", "Colonoscopy report", "Colonoscopy", DOCUMENT
    ),
    "document": lambda _s: DocumentDialog(DOCUMENT, "text"),
    "entry": lambda _s: EntryDialog("Colorectal cancer screening"),
    "sign-in": lambda _s: _sign_in_dialog(),
    "directory": lambda _s: DirectoryPicker(
        [DirectoryEntry("Valley Health", "https://fhir.valley.example/R4")] * 50
    ),
}


@pytest.fixture
def shown(qtbot: QtBot, session: AppSession) -> Iterator[Callable[[str], QWidget]]:
    def make(name: str) -> QWidget:
        widget = FACTORIES[name](session)
        qtbot.addWidget(widget)
        widget.show()
        return widget

    yield make
    run(qtbot, session.aclose())
    while _LIVE:
        run(qtbot, _LIVE.pop().aclose())


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_fits_small_screens(shown: Callable[[str], QWidget], name: str) -> None:
    widget = shown(name)
    assert overflow(widget) == [], name
    for area in SMALL_SCREENS:
        assert overflow(widget, area) == [], (name, area)
        size = fitting_size(widget, 1100, 800, area)
        assert size.width() <= area.width() and size.height() <= area.height()


def mnemonics(widget: QWidget) -> list[str]:
    """The Alt+letter of every visible button, tab and label buddy in the window."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar

    texts: list[str] = []
    for button in widget.findChildren(QAbstractButton):
        if button.isVisibleTo(widget):
            texts.append(button.text())
    for bar in widget.findChildren(QTabBar):
        texts.extend(bar.tabText(i) for i in range(bar.count()))
    for label in widget.findChildren(QLabel):
        if label.buddy() is not None and label.isVisibleTo(widget):
            texts.append(label.text())
    keys: list[str] = []
    for text in texts:
        at = text.replace("&&", "").find("&")
        if 0 <= at < len(text) - 1:
            keys.append(text.replace("&&", "")[at + 1].lower())
    return keys


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_no_mnemonic_is_used_twice(shown: Callable[[str], QWidget], name: str) -> None:
    keys = mnemonics(shown(name))
    assert len(keys) == len(set(keys)), (name, sorted(keys))


def test_no_mnemonic_twice_in_a_signed_in_connection(
    qtbot: QtBot, shown: Callable[[str], QWidget]
) -> None:
    dialog = shown("connections")
    assert isinstance(dialog, ConnectionsDialog)
    dialog.connect_button.setText("R&e-authenticate")  # what a connected one shows
    dialog.disconnect_button.show()
    dialog.sign_in_panel.show()
    keys = mnemonics(dialog)
    assert len(keys) == len(set(keys)), sorted(keys)
