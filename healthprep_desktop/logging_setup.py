"""The log file and the redaction filter that keeps secrets and patient names out of it.

``configure_logging()`` adds a rotating file under ``paths.log_dir()``; every handler it adds
carries ``RedactionFilter``, which rewrites each record (message, arguments, exception and stack
text) before any formatter sees it. Patterns catch what has a shape (bearer tokens, JWTs,
``access_token=...``, Authorization headers, PEM private keys); patient names have no shape, so
code that loads a chart registers them with ``REDACTOR.add_sensitive(name)``.

Redaction is the last line of defence: code should still never log secrets or PHI on purpose.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from healthprep_desktop import paths

LOG_FILE_NAME = "healthprep.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 5
MASK = "[REDACTED]"
NAME_MASK = "[NAME]"
_MIN_NAME_PART = 3  # shorter name parts ("Al", "Li") would blank out ordinary words

_SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "code_verifier",
    "code",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, whole block.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        MASK,
    ),
    # Authorization headers in any rendering: "Authorization: Bearer x", "'authorization': 'x'".
    (
        re.compile(
            r"""(?i)(["']?(?:proxy-)?authorization["']?\s*[:=]\s*["']?)"""
            r"""(?:(?:bearer|basic|digest)\s+)?[^\s"',}\]]+"""
        ),
        r"\1" + MASK,
    ),
    # A bearer token anywhere else.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1" + MASK),
    # JWTs (id tokens, client assertions, many access tokens): header.payload.signature.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # key=value, key: value, "key": "value" for secret-bearing keys (query strings, forms, JSON,
    # reprs). The key must stand alone, so "zipcode=" or "status_code=" stay.
    (
        re.compile(
            r"""(?i)(?<![A-Za-z0-9_-])(["']?(?:"""
            + "|".join(_SECRET_KEYS)
            + r""")["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s&,;)}\]"']+)"""
        ),
        r"\1" + MASK,
    ),
)


class Redactor:
    """Shape patterns plus names registered at run time. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: set[str] = set()
        self._name_pattern: re.Pattern[str] | None = None

    def add_sensitive(self, text: str) -> None:
        """Register a string to blank out, e.g. a patient's name; its words are registered too
        (so "Doe, Jane" is caught after ``add_sensitive("Jane Doe")``)."""
        self.add_many([text])

    def add_many(self, texts: Iterable[str]) -> None:
        new: set[str] = set()
        for text in texts:
            cleaned = " ".join(text.split())
            if len(cleaned) >= _MIN_NAME_PART:
                new.add(cleaned.casefold())
            new.update(
                part.casefold()
                for part in re.split(r"[\s,]+", cleaned)
                if len(part) >= _MIN_NAME_PART
            )
        with self._lock:
            if new <= self._names:
                return
            self._names |= new
            # Longest first, so "Jane Doe" is masked whole before "Jane" alone.
            ordered = sorted(self._names, key=len, reverse=True)
            self._name_pattern = re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(n) for n in ordered) + r")(?!\w)",
                re.IGNORECASE,
            )

    def clear_sensitive(self) -> None:
        with self._lock:
            self._names.clear()
            self._name_pattern = None

    def redact(self, text: str) -> str:
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        name_pattern = self._name_pattern  # one read: a concurrent add swaps it atomically
        if name_pattern is not None:
            text = name_pattern.sub(NAME_MASK, text)
        return text


REDACTOR = Redactor()


class RedactionFilter(logging.Filter):
    """Rewrites a record in place so every handler and formatter sees only redacted text."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record (or leak its args)
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        # Formatter.format() re-renders exc_info only when exc_text is empty; clearing exc_info
        # guarantees the unredacted traceback is never rendered by a later handler.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_OWNED_ATTR = "_healthprep_handler"


CHATTY_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "uvicorn.error", "hpack")


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log file is created 0600 (not chmod-ed after the fact), and a full disk or another
    OS error while writing loses the record quietly instead of printing a traceback."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return io.TextIOWrapper(
            io.FileIO(fd, "a"), encoding=self.encoding, errors=self.errors, write_through=False
        )

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handleError(record)


def configure_logging(
    level: int | str = logging.INFO,
    *,
    log_file: Path | None = None,
    console: bool = False,
) -> Path:
    """Send the root logger to the rotating log file (and stderr if ``console``); return the
    file's path. Calling it again replaces the handlers it added before."""
    path = log_file if log_file is not None else paths.log_dir() / LOG_FILE_NAME
    root = logging.getLogger()
    shutdown_logging()
    handlers: list[logging.Handler] = [
        PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    ]
    with contextlib.suppress(OSError):  # keep other local users out of the log
        path.chmod(0o600)
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(RedactionFilter())
        setattr(handler, _OWNED_ATTR, True)
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line at INFO: the URLs carry patient ids and, during sign-in,
    # the authorization code. Only their warnings and errors reach our log.
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, int(numeric)))
    logging.captureWarnings(True)
    return path


def shutdown_logging() -> None:
    """Remove and close the handlers ``configure_logging`` added."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED_ATTR, False):
            root.removeHandler(handler)
            handler.close()
    logging.captureWarnings(False)
