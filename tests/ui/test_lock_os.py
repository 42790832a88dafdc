"""Issue 15 item 8: unlocking with the OS account's credential where the platform offers it.

The lock logic runs against a checker with a known account (this container's accounts have no
usable password, so a right OS password cannot be typed here); the real PAM stack is called
for the refusal of a wrong password. Real SQLCipher store, real Qt offscreen.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.ui.idle_lock import LockScreen
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.unlock_os import (
    PamAuthenticator,
    check_os_credential,
    os_unlock_enabled,
    os_user,
    pam_service,
    platform_authenticator,
    set_os_unlock,
)
from healthprep_desktop.ui.unlock_pin import UnlockThrottle, set_pin

PASSWORD = "correct horse battery staple"


@dataclass
class KnownAccount:
    """An OS checker with one account: the signed-in user and PASSWORD."""

    label: str = "your computer account password"
    asked: list[str] = field(default_factory=list)

    def verify(self, user: str, secret: str) -> bool:
        self.asked.append(user)
        return user == os_user() and secret == PASSWORD


class Broken:
    label = "your computer account password"

    def verify(self, user: str, secret: str) -> bool:
        raise OSError("the PAM stack is broken")


def _logins(store: Store) -> list[tuple[str, str]]:
    return [(e.outcome, e.detail) for e in store.audit.entries() if e.action == AuditAction.LOGIN]


def test_the_os_password_unlocks_a_wrong_one_waits_and_all_is_audited(
    qtbot: QtBot, session: AppSession
) -> None:
    store = session.store
    set_pin(store, "482915")  # opting in to the OS account takes over from the PIN
    set_os_unlock(store, True)
    account = KnownAccount()
    throttle = UnlockThrottle(free_attempts=1, first_delay=0.4)
    lock = LockScreen(store, throttle=throttle, os_auth=account)
    qtbot.addWidget(lock)
    lock.show()
    lock.reset()
    assert lock.method == "os" and lock.passphrase.isVisible()
    assert "computer account password" in lock.hint.text()
    unlocked: list[bool] = []
    lock.unlocked.connect(lambda: unlocked.append(True))

    lock.button.click()
    assert lock.error.text() == "Enter the password." and not unlocked
    lock.passphrase.setText("482915")  # the PIN is not the OS password
    lock.button.click()
    qtbot.waitUntil(lambda: "Too many" in lock.error.text(), timeout=5000)
    assert not unlocked and not lock.button.isEnabled()
    qtbot.waitUntil(lock.button.isEnabled, timeout=3000)
    lock.passphrase.setText(PASSWORD)
    lock.button.click()
    qtbot.waitUntil(lambda: bool(unlocked), timeout=5000)
    assert account.asked == [os_user(), os_user()]  # only the signed-in user is checked
    assert _logins(store) == [
        ("success", "workstation locked"),
        ("failure", "workstation unlock (os account)"),
        ("success", "workstation unlock (os account)"),
    ]
    for entry in store.audit.entries():
        assert PASSWORD not in entry.detail
    assert any("unlock with the OS account on" in e.detail for e in store.audit.entries())


def test_without_opting_in_the_os_account_is_never_asked(qtbot: QtBot, store: Store) -> None:
    account = KnownAccount()
    lock = LockScreen(store, os_auth=account)
    qtbot.addWidget(lock)
    lock.reset(audit=False)
    assert not os_unlock_enabled(store) and lock.method == "keyring" and account.asked == []
    set_os_unlock(store, True)
    lock.reset(audit=False)
    assert lock.method == "os"
    set_os_unlock(store, False)
    lock.reset(audit=False)
    assert lock.method == "keyring"


def test_a_broken_check_refuses() -> None:
    assert not check_os_credential(Broken(), PASSWORD)
    assert not check_os_credential(KnownAccount(), "")


@pytest.mark.skipif(sys.platform == "win32", reason="PAM is the Linux and macOS path")
def test_real_pam_refuses_a_wrong_password() -> None:
    pytest.importorskip("pam")
    found = platform_authenticator()
    assert isinstance(found, PamAuthenticator)
    assert found.service == pam_service()
    assert not check_os_credential(found, "not the password of this account 7Qx!")


def test_a_one_click_lock_offers_to_require_the_os_password(qtbot: QtBot, store: Store) -> None:
    account = KnownAccount()
    lock = LockScreen(store, os_auth=account)
    qtbot.addWidget(lock)
    lock.show()
    lock.reset(audit=False)
    assert lock.method == "keyring" and lock.require_os.isVisible()
    lock.require_os.click()
    assert os_unlock_enabled(store) and lock.method == "os"
    assert not lock.require_os.isVisible() and lock.passphrase.isVisible()
