"""Opening the store (keyring or passphrase), the first-run dialog and the About facts."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop import paths
from healthprep_desktop.store import Store
from healthprep_desktop.ui.about import AboutDialog, collect
from healthprep_desktop.ui.first_run import FirstRunDialog, NextStep
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.unlock import (
    PassphraseDialog,
    PassphraseRequest,
    StoreOpenError,
    open_store,
    validate_new_passphrase,
    verify_unlock,
)

GOOD = "correct horse battery"


@pytest.fixture
def no_keyring() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())


def test_store_opens_from_the_keyring_without_asking() -> None:
    asked: list[PassphraseRequest] = []
    store = open_store(lambda r: asked.append(r) or None)
    assert store is not None and not store.uses_passphrase
    store.close()
    again = open_store(lambda r: asked.append(r) or None)
    assert again is not None
    again.close()
    assert asked == []


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_a_new_store_asks_for_a_passphrase_and_explains_why() -> None:
    asked: list[PassphraseRequest] = []

    def ask(request: PassphraseRequest) -> str | None:
        asked.append(request)
        return GOOD

    store = open_store(ask)
    assert store is not None and store.uses_passphrase
    store.close()
    assert asked[0].create and "keyring" in asked[0].explanation.lower()


@pytest.mark.usefixtures("no_keyring")
def test_a_wrong_passphrase_is_explained_and_asked_again() -> None:
    Store.open(passphrase=GOOD).close()
    answers = iter(["not the passphrase", GOOD])
    asked: list[PassphraseRequest] = []

    def ask(request: PassphraseRequest) -> str | None:
        asked.append(request)
        return next(answers)

    store = open_store(ask)
    assert store is not None
    assert len(asked) == 2
    assert not asked[0].create and asked[0].error == ""
    assert "does not open" in asked[1].error
    assert verify_unlock(store, GOOD) and not verify_unlock(store, "wrong passphrase!")
    store.close()


@pytest.mark.usefixtures("no_keyring")
def test_cancelling_the_passphrase_prompt_opens_nothing() -> None:
    assert open_store(lambda _r: None) is None
    assert not paths.database_path().exists() or paths.database_path().stat().st_size == 0


def test_a_keyring_key_that_does_not_open_the_store_is_fatal(memory_keyring: object) -> None:
    Store.open().close()
    entries = memory_keyring.entries  # type: ignore[attr-defined]
    for key in list(entries):
        entries[key] = "0" * 64
    with pytest.raises(StoreOpenError, match="keyring"):
        open_store(lambda _r: GOOD)


def test_new_passphrase_rules() -> None:
    assert validate_new_passphrase("short", "short") is not None
    assert "differ" in (validate_new_passphrase(GOOD, GOOD + "x") or "")
    assert validate_new_passphrase(GOOD, GOOD) is None


def test_passphrase_dialog_refuses_a_mismatch(qtbot: QtBot) -> None:
    dialog = PassphraseDialog(PassphraseRequest(create=True, explanation="No keyring."))
    qtbot.addWidget(dialog)
    dialog.first.setText(GOOD)
    dialog.second.setText(GOOD + "!")
    dialog.accept()
    assert dialog.result() == 0 and "differ" in dialog.error.text()
    dialog.second.setText(GOOD)
    dialog.accept()
    assert dialog.result() == PassphraseDialog.DialogCode.Accepted
    assert dialog.passphrase() == GOOD


def test_first_run_creates_the_clinic(qtbot: QtBot, store: Store) -> None:
    session = AppSession(store)
    dialog = FirstRunDialog(session)
    qtbot.addWidget(dialog)
    dialog.pin.setText("482915")  # a keyring store: first run sets the unlock PIN
    dialog.pin_confirm.setText("482915")
    dialog.choose(NextStep.CONNECT)
    assert not dialog.error.isHidden() and not store.tenants()  # a name is needed
    dialog.name.setText("Main Street Clinic")
    dialog.choose(NextStep.CONNECT)
    assert dialog.choice is NextStep.CONNECT
    assert [t.name for t in store.tenants()] == ["Main Street Clinic"]
    assert session.tenant_id == store.tenants()[0].id
    second = FirstRunDialog(session)
    qtbot.addWidget(second)
    second.name.setText("main street clinic")
    second.choose(NextStep.LATER)
    assert "already exists" in second.error.text()


def test_demo_choice_names_the_clinic_when_left_empty(qtbot: QtBot, store: Store) -> None:
    dialog = FirstRunDialog(AppSession(store))
    qtbot.addWidget(dialog)
    dialog.pin.setText("482915")
    dialog.pin_confirm.setText("482915")
    dialog.choose(NextStep.DEMO)
    assert dialog.choice is NextStep.DEMO and store.tenants()[0].name == "Demo clinic"


def test_about_lists_the_versions(qtbot: QtBot) -> None:
    facts = collect()
    assert facts.sqlcipher.startswith("4.")
    assert facts.qt.startswith("6.") and facts.pyside.startswith("6.")
    assert "available" in facts.tesseract or "not installed" in facts.tesseract
    dialog = AboutDialog(facts=facts)
    qtbot.addWidget(dialog)
    labels = [row[0] for row in facts.rows()]
    assert {"Python", "Qt", "PySide6", "SQLCipher", "OCR (tesseract)"} <= set(labels)
