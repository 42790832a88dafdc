"""The app PIN that unlocks the idle lock of a keyring store, and the delay after failures.

A keyring store opens from the OS session's keyring, so on a shared, logged-in clinic
workstation "Unlock" alone protects nothing. The PIN is chosen at first run and kept in the
encrypted store as a salted scrypt hash (never the PIN itself); checking it costs ~50 ms, and
``UnlockThrottle`` adds a growing wait after repeated failures so guessing a PIN takes days.

Qt-free: the lock screen (idle_lock.py) and the first-run dialog use it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.store import AuditAction, AuditEvent, Outcome, Store

PIN_SETTING = "_unlock_pin"  # "_" names are reserved in app_settings (not user settings)
MIN_PIN = 6
# scrypt cost: 2**14 x 8 takes ~50 ms and 16 MB here; stored with the hash so it can grow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FREE_ATTEMPTS = 3  # typos are free; then 5 s, 10 s, 20 s ... up to MAX_DELAY
FIRST_DELAY = 5.0
MAX_DELAY = 300.0


def pin_problem(pin: str, confirm: str) -> str | None:
    """The problem with a new PIN, or None when it is acceptable."""
    if len(pin) < MIN_PIN:
        return f"Use at least {MIN_PIN} characters for the PIN."
    if len(set(pin)) == 1 or pin in "0123456789012345" or pin in "9876543210987654":
        return "Choose a PIN that is not a repeated or running sequence."
    if pin != confirm:
        return "The two PINs differ. Type the same PIN twice."
    return None


def _hash(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * r * n * p + 1024 * 1024
    )


def set_pin(store: Store, pin: str) -> None:
    """Keep a salted hash of ``pin``; the change is audited (never the PIN)."""
    salt = os.urandom(16)
    record = {
        "scheme": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": salt.hex(),
        "hash": _hash(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).hex(),
    }
    with store.transaction():
        store.app_settings.set_raw(PIN_SETTING, record)
        store.audit.append(AuditEvent(AuditAction.KEY_CHANGE, detail="unlock PIN set"))


def has_pin(store: Store) -> bool:
    record = store.app_settings.get_raw(PIN_SETTING)
    return isinstance(record, dict) and record.get("scheme") == "scrypt"


def check_pin(store: Store, pin: str) -> bool:
    """Whether ``pin`` matches the stored hash (constant-time compare). Blocking (~50 ms)."""
    record: Any = store.app_settings.get_raw(PIN_SETTING)
    if not isinstance(record, dict) or record.get("scheme") != "scrypt" or not pin:
        return False
    try:
        salt = bytes.fromhex(str(record["salt"]))
        expected = bytes.fromhex(str(record["hash"]))
        actual = _hash(pin, salt, int(record["n"]), int(record["r"]), int(record["p"]))
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def audit_unlock(store: Store, ok: bool, how: str) -> None:
    store.audit.append(
        AuditEvent(
            AuditAction.LOGIN,
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            detail=f"workstation unlock ({how})",
        )
    )


def audit_lock(store: Store) -> None:
    store.audit.append(AuditEvent(AuditAction.LOGIN, detail="workstation locked"))


@dataclass
class UnlockThrottle:
    """Failed attempts and the wait before the next one is allowed."""

    free_attempts: int = FREE_ATTEMPTS
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    _not_before: float = field(default=0.0, repr=False)

    def delay_after(self, failures: int) -> float:
        if failures < self.free_attempts:
            return 0.0
        doublings = failures - self.free_attempts
        return float(min(self.max_delay, self.first_delay * (1 << min(doublings, 30))))

    def failed(self) -> float:
        """Record a failure; returns the seconds to wait before the next attempt."""
        self.failures += 1
        delay = self.delay_after(self.failures)
        self._not_before = self.clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self._not_before = 0.0

    def wait_left(self) -> float:
        return max(0.0, self._not_before - self.clock())
