"""Secrets given through the environment (``HEALTHPREP_PASSWORD``, ``HEALTHPREP_BEARER_TOKEN``,
a passphrase...) are taken out of ``os.environ`` as soon as the process starts, and kept in this
module only: every child process (pool workers, the resource tracker, tesseract) is started with
a copy of ``os.environ``, and a secret there would outlive its use in each of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import MutableMapping

PREFIX = "HEALTHPREP_"
_SECRET_WORDS = ("PASSWORD", "PASSPHRASE", "TOKEN", "SECRET", "API_KEY", "PRIVATE_KEY")

_lock = threading.Lock()
_taken: dict[str, str] = {}


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(PREFIX) and any(word in upper for word in _SECRET_WORDS)


def capture_secrets(environ: MutableMapping[str, str] | None = None) -> None:
    """Move every ``HEALTHPREP_*`` secret from the environment into this process's memory."""
    env = os.environ if environ is None else environ
    with _lock:
        for name in [n for n in env if is_secret_name(n)]:
            value = env.pop(name, None)
            if value is not None:
                _taken[name] = value


def env_secret(name: str) -> str | None:
    """The secret the environment gave as ``name`` (read once; it is no longer in os.environ)."""
    capture_secrets()
    with _lock:
        return _taken.get(name)


__all__ = ["capture_secrets", "env_secret", "is_secret_name"]
