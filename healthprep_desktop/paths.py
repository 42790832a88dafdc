"""Where the app keeps its files.

Everything the user owns lives in platformdirs' per-user directories, never in the install
folder, so an upgrade in place keeps it. ``HEALTHPREP_HOME`` relocates all of it at once (tests,
portable installs, a second clinic profile on one workstation).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

from healthprep_desktop import APP_AUTHOR, APP_NAME

HOME_ENV = "HEALTHPREP_HOME"


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    # The directory holds the encrypted store and logs; keep other local users out of it.
    with contextlib.suppress(OSError):  # e.g. a network share that refuses chmod
        path.chmod(0o700)
    return path


def data_dir() -> Path:
    home = _home_override()
    if home is not None:
        return _ensure(home / "data")
    return _ensure(Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)))


def log_dir() -> Path:
    home = _home_override()
    if home is not None:
        return _ensure(home / "logs")
    return _ensure(Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)))


def cache_dir() -> Path:
    """Non-sensitive caches only (e.g. a downloaded endpoint directory). PHI goes in the store."""
    home = _home_override()
    if home is not None:
        return _ensure(home / "cache")
    return _ensure(Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)))


def database_path() -> Path:
    return data_dir() / "healthprep.db"


def resources_dir() -> Path:
    """The bundled resources/ folder (screening library, icons, styles)."""
    packaged = Path(__file__).resolve().parent / "resources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "resources"
