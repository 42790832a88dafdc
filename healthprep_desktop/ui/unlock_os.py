"""Unlocking the idle lock with the operating system account's credential, where the platform
offers a way to check it: the signed-in user's own password, as the OS login checks it.

- Linux (verified here) and macOS (unverified): PAM through python-pam, service ``login``
  (an administrator can add ``/etc/pam.d/healthprep`` to use a stricter stack; it is preferred
  when present). A wrong password costs PAM's own delay (pam_faildelay, ~2 s on Debian), and
  the lock screen's ``UnlockThrottle`` adds its growing wait after repeated failures.
- Windows (typed, not verified here): ``LogonUserW`` with a network logon for the current
  user and domain, the handle closed at once.

Opt-in per store (``set_os_unlock``): a keyring store without a PIN otherwise unlocks with one
click, and a workstation's OS account may be shared or have no password at all, so the clinic
chooses. Only the signed-in user's own credential is checked; the password never leaves this
process and is never logged or audited (the audit says "workstation unlock (os account)").

Qt-free: the lock screen (idle_lock.py) calls ``check_os_credential`` in a thread.
"""

from __future__ import annotations

import ctypes
import getpass
import logging
import sys
from pathlib import Path
from typing import Protocol

from healthprep_desktop.store import AuditAction, AuditEvent, Store

log = logging.getLogger(__name__)

OS_UNLOCK_SETTING = "_unlock_os_account"  # "_" names are reserved in app_settings
PAM_SERVICES = ("healthprep", "login")  # the first with a file in /etc/pam.d is used


class OsAuthenticator(Protocol):
    """Checks the signed-in OS user's credential."""

    @property
    def label(self) -> str:
        """What the user types, in their words (the lock screen's hint and placeholder)."""
        ...

    def verify(self, user: str, secret: str) -> bool:
        """Whether ``secret`` is ``user``'s OS credential. Blocking; never raises for a
        wrong credential (False)."""
        ...


class PamAuthenticator:
    """Linux and macOS: PAM's authentication stack (python-pam)."""

    label = "your computer account password"

    def __init__(self, service: str | None = None) -> None:
        self.service = service or pam_service()

    def verify(self, user: str, secret: str) -> bool:
        import pam

        checker = pam.pam()
        ok = bool(checker.authenticate(user, secret, service=self.service))
        if not ok:
            log.info("OS account check refused (PAM code %s)", checker.code)
        return ok


class WindowsLogonAuthenticator:
    """Windows: LogonUserW for the current user (unverified here: no Windows machine)."""

    label = "your Windows password"
    LOGON32_LOGON_NETWORK = 3
    LOGON32_PROVIDER_DEFAULT = 0

    def verify(self, user: str, secret: str) -> bool:
        if sys.platform == "win32":
            return _logon_user(user, secret, self.LOGON32_LOGON_NETWORK)
        return False


if sys.platform == "win32":

    def _logon_user(user: str, secret: str, logon_type: int) -> bool:
        import os

        handle = ctypes.c_void_p()
        domain = os.environ.get("USERDOMAIN") or "."
        ok = bool(
            ctypes.windll.advapi32.LogonUserW(
                ctypes.c_wchar_p(user),
                ctypes.c_wchar_p(domain),
                ctypes.c_wchar_p(secret),
                ctypes.c_uint32(logon_type),
                ctypes.c_uint32(WindowsLogonAuthenticator.LOGON32_PROVIDER_DEFAULT),
                ctypes.byref(handle),
            )
        )
        if ok:
            ctypes.windll.kernel32.CloseHandle(handle)
        return ok


def pam_service(root: Path = Path("/etc/pam.d")) -> str:
    for name in PAM_SERVICES:
        if (root / name).exists():
            return name
    return PAM_SERVICES[-1]


def platform_authenticator() -> OsAuthenticator | None:
    """This platform's way to check the OS credential, or None where there is none."""
    if sys.platform == "win32":
        return WindowsLogonAuthenticator()
    try:
        import pam  # noqa: F401  # python-pam: is PAM reachable from Python here?
    except ImportError:
        return None
    return PamAuthenticator()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def os_unlock_enabled(store: Store) -> bool:
    return store.app_settings.get_raw(OS_UNLOCK_SETTING) is True


def set_os_unlock(store: Store, on: bool) -> None:
    """Choose whether the idle lock asks for the OS account's password (audited)."""
    with store.transaction():
        store.app_settings.set_raw(OS_UNLOCK_SETTING, bool(on))
        detail = "unlock with the OS account " + ("on" if on else "off")
        store.audit.append(AuditEvent(AuditAction.KEY_CHANGE, detail=detail))


def check_os_credential(authenticator: OsAuthenticator, secret: str, user: str = "") -> bool:
    """The signed-in user's (or ``user``'s) credential checked by the OS; False on any
    failure of the check itself (a broken PAM stack must not unlock)."""
    user = user or os_user()
    if not user or not secret:
        return False
    try:
        return authenticator.verify(user, secret)
    except Exception as exc:  # the check failing is a refusal, never an unlock
        log.warning("OS account check failed: %s", type(exc).__name__)
        return False


__all__ = [
    "OS_UNLOCK_SETTING",
    "OsAuthenticator",
    "PamAuthenticator",
    "WindowsLogonAuthenticator",
    "check_os_credential",
    "os_unlock_enabled",
    "platform_authenticator",
    "set_os_unlock",
]
