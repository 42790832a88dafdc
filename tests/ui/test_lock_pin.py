"""Issue 15 item 8 and first run: the lock needs a credential (the app PIN on a keyring store),
waits after failures, audits; first run sets the PIN; the passphrase dialog speaks plainly.

Real SQLCipher store (the in-memory keyring backend from tests/conftest.py), real Qt offscreen.
"""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.ui.first_run import FirstRunDialog, NextStep
from healthprep_desktop.ui.idle_lock import LockScreen
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.unlock import PassphraseRequest, open_store
from healthprep_desktop.ui.unlock_pin import (
    PIN_SETTING,
    UnlockThrottle,
    check_pin,
    has_pin,
    pin_problem,
    set_pin,
)
from healthprep_desktop.ui.window_fit import SMALL_SCREENS, overflow

PIN = "482915"


def _logins(store: Store) -> list[tuple[str, str]]:
    return [(e.outcome, e.detail) for e in store.audit.entries() if e.action == AuditAction.LOGIN]


def test_the_pin_is_kept_as_a_salted_hash(store: Store) -> None:
    assert not has_pin(store) and not check_pin(store, PIN)
    set_pin(store, PIN)
    record = store.app_settings.get_raw(PIN_SETTING)
    assert has_pin(store) and PIN not in json.dumps(record)
    assert record["scheme"] == "scrypt" and len(bytes.fromhex(record["salt"])) == 16
    assert check_pin(store, PIN) and not check_pin(store, "482916") and not check_pin(store, "")
    assert any(e.detail == "unlock PIN set" for e in store.audit.entries())
    assert pin_problem("12345", "12345") and pin_problem("111111", "111111")
    assert pin_problem(PIN, PIN + "0") and pin_problem(PIN, PIN) is None


def test_a_lock_refuses_a_wrong_pin_waits_and_audits(
    qtbot: QtBot, session: AppSession, qloop: object
) -> None:
    store = session.store
    set_pin(store, PIN)
    throttle = UnlockThrottle(free_attempts=2, first_delay=0.4)
    lock = LockScreen(store, throttle=throttle)
    qtbot.addWidget(lock)
    lock.show()
    lock.reset()
    assert lock.method == "pin" and lock.passphrase.isVisible()
    unlocked: list[bool] = []
    lock.unlocked.connect(lambda: unlocked.append(True))

    lock.button.click()  # one click with nothing typed: no way in
    assert "Enter the PIN" in lock.error.text() and not unlocked

    for attempt in ("000000", "999999"):
        lock.passphrase.setText(attempt)
        lock.button.click()
        qtbot.waitUntil(lambda: "not right" in lock.error.text() or "Too many" in lock.error.text())
    assert not unlocked
    # The second failure starts the wait: the field and button are off, a right PIN waits too.
    assert "Too many" in lock.error.text() and not lock.button.isEnabled()
    lock.passphrase.setText(PIN)
    lock.try_unlock()
    assert not unlocked
    qtbot.waitUntil(lock.button.isEnabled, timeout=3000)
    lock.passphrase.setText(PIN)
    lock.button.click()
    qtbot.waitUntil(lambda: bool(unlocked), timeout=5000)
    assert lock.passphrase.text() == "" and throttle.failures == 0
    assert _logins(store) == [
        ("success", "workstation locked"),
        ("failure", "workstation unlock (pin)"),
        ("failure", "workstation unlock (pin)"),
        ("success", "workstation unlock (pin)"),
    ]
    for entry in store.audit.entries():
        assert PIN not in entry.detail and "000000" not in entry.detail


def test_throttle_grows_and_caps() -> None:
    now = [100.0]
    throttle = UnlockThrottle(clock=lambda: now[0])
    assert [throttle.failed() for _ in range(3)] == [0.0, 0.0, 5.0]
    assert throttle.wait_left() == 5.0
    assert throttle.failed() == 10.0 and throttle.delay_after(20) == 300.0
    now[0] += 10.0
    assert throttle.wait_left() == 0.0


def test_first_run_sets_the_pin_on_a_keyring_store(qtbot: QtBot, store: Store) -> None:
    dialog = FirstRunDialog(AppSession(store))
    qtbot.addWidget(dialog)
    assert dialog.needs_pin and not dialog.pin.isHidden()
    dialog.name.setText("Main Street Clinic")
    dialog.choose(NextStep.LATER)
    assert "at least" in dialog.error.text() and not store.tenants()
    dialog.pin.setText(PIN)
    dialog.pin_confirm.setText(PIN + "1")
    dialog.choose(NextStep.LATER)
    assert "differ" in dialog.error.text() and not store.tenants()
    dialog.pin_confirm.setText(PIN)
    dialog.choose(NextStep.LATER)
    assert dialog.choice is NextStep.LATER and check_pin(store, PIN)
    assert FirstRunDialog(AppSession(store)).needs_pin is False  # set once


def test_a_passphrase_store_needs_no_pin(qtbot: QtBot, tmp_path: Path) -> None:
    with Store.open(tmp_path / "pp.db", passphrase="correct horse battery") as store:
        dialog = FirstRunDialog(AppSession(store))
        qtbot.addWidget(dialog)
        assert not dialog.needs_pin


def test_the_passphrase_prompt_names_no_backend_and_fits(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    asked: list[PassphraseRequest] = []

    def ask(request: PassphraseRequest) -> str | None:
        asked.append(request)
        return None

    assert open_store(ask, path=tmp_path / "new.db") is None
    text = asked[0].explanation
    assert "Keyring" not in text and "fail." not in text and "backend" not in text
    assert "passphrase" in text and asked[0].create

    from healthprep_desktop.ui.unlock import PassphraseDialog

    dialog = PassphraseDialog(asked[0])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.width() >= 480
    for area in SMALL_SCREENS:
        assert overflow(dialog, area) == []


def test_the_window_stays_locked_without_the_pin(
    qtbot: QtBot, session: AppSession, window_settings: object
) -> None:
    from healthprep_desktop.ui.main_window import MainWindow
    from tests.ui.conftest import run

    set_pin(session.store, PIN)
    window = MainWindow(session, settings=window_settings)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    window.lock()
    assert window.locked and window.lock_screen.method == "pin"
    window.lock_screen.button.click()  # the one click that used to unlock a keyring store
    window.lock_screen.passphrase.setText("123457")
    window.lock_screen.button.click()
    qtbot.waitUntil(lambda: "not right" in window.lock_screen.error.text(), timeout=5000)
    assert window.locked
    window.lock_screen.passphrase.setText(PIN)
    window.lock_screen.button.click()
    qtbot.waitUntil(lambda: not window.locked, timeout=5000)
    window.close()
    run(qtbot, window.shutdown())


def test_a_store_from_before_pins_is_asked_for_one(qtbot: QtBot, store: Store) -> None:
    from healthprep_desktop.ui.pin_dialog import PinDialog, needs_pin

    assert needs_pin(store)
    dialog = PinDialog(store)
    qtbot.addWidget(dialog)
    dialog.pin.setText("12")
    dialog.confirm.setText("12")
    dialog.accept()
    assert "at least" in dialog.error.text() and not has_pin(store)
    dialog.pin.setText(PIN)
    dialog.confirm.setText(PIN)
    dialog.accept()
    assert dialog.result() == PinDialog.DialogCode.Accepted and check_pin(store, PIN)
    assert not needs_pin(store)
